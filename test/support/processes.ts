/** Service processes started from the esbuild bundles, as the containers and `npm start` run them. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SERVICE_ENTRIES } from '../../lib/gatehouse-services';
import { bundleService } from '../../lib/service/service-bundle';

/** Bundles a service into a fresh temporary folder; the caller removes it. */
export async function bundle(service: keyof typeof SERVICE_ENTRIES): Promise<string> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `gatehouse-${service}-`));
  return (await bundleService(SERVICE_ENTRIES[service], outdir)).file;
}

export { startServiceProcess as startProcess } from '../../local/processes';
export type { ServiceProcess } from '../../local/processes';
