/** The end-to-end suite against the system of the outputs file in GATEHOUSE_E2E_OUTPUTS (see run.ts). */
import { describeEndToEnd } from './suite';
import { loadTarget } from './target';

const file = process.env.GATEHOUSE_E2E_OUTPUTS;
if (file === undefined) throw new Error('GATEHOUSE_E2E_OUTPUTS is not set: run npm run e2e -- --outputs <file>');
const target = loadTarget(file);

describeEndToEnd(() => target, { local: target.local !== undefined });
