/**
 * `npm run e2e -- --outputs <file>`: the end-to-end suite against the system the outputs file names:
 * `.gatehouse/outputs.json` of a running `npm start`, or `cdk deploy --outputs-file` of a stack (then
 * GATEHOUSE_E2E_API_KEY, GATEHOUSE_E2E_TOKEN and GATEHOUSE_E2E_TOKEN_PRODUCTS_READ must be set).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { outputs: { type: 'string' } }, strict: true });
if (values.outputs === undefined || !fs.existsSync(values.outputs)) {
  process.stderr.write(`npm run e2e -- --outputs <file>: ${values.outputs === undefined ? 'no --outputs given' : `${values.outputs} does not exist`}\n`);
  process.exit(2);
}
const root = path.join(__dirname, '..', '..');
const result = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), '-c', path.join(root, 'jest.e2e.config.js'), '--runInBand'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, GATEHOUSE_E2E_OUTPUTS: path.resolve(values.outputs) },
});
process.exit(result.status ?? 1);
