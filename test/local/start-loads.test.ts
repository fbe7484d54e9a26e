/**
 * `npm start` loads no aws-cdk-lib: the local runtime reads the app's config and the gateway spec
 * through their pure modules (lib/config.ts, lib/routes/gateway-spec.ts), never through the constructs.
 * Checked on the real entry point, in a process of its own, from the modules Node has loaded once
 * start.ts and everything it imports are in (its --help exits right after).
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.join(__dirname, '..', '..');

/** The files Node loaded for `entry` (run with `args`), as the process saw them when it exited. */
async function loadedBy(entry: string, args: readonly string[] = []): Promise<string[]> {
  const report = `process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify(Object.keys(require.cache)) + '\\n'));`;
  const { stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '-e', `${report} require(${JSON.stringify(entry)});`, '_', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH },
  });
  const line = stderr.split('\n').find((entry) => entry.startsWith('LOADED '));
  if (line === undefined) throw new Error(`no module list in: ${stderr}`);
  return JSON.parse(line.slice('LOADED '.length)) as string[];
}

const fromCdk = (files: readonly string[]) => files.filter((file) => file.split(path.sep).includes('aws-cdk-lib'));

it('loads local/start.ts, the local system, the local gateway and the config reader, and no aws-cdk-lib', async () => {
  const files = await loadedBy('./local/start.ts', ['--help']);
  for (const module of ['local/system.ts', 'local/gateway/gateway.ts', 'lib/config.ts', 'lib/routes/gateway-spec.ts']) {
    expect(files).toContain(path.join(ROOT, module));
  }
  expect(fromCdk(files)).toEqual([]);
}, 60_000);

it('sees aws-cdk-lib where it is loaded: the CDK gateway (the check above can fail)', async () => {
  expect(fromCdk(await loadedBy('./lib/gateway/microservices-gateway.ts')).length).toBeGreaterThan(0);
}, 60_000);
