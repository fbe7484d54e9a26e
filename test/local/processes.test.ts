/**
 * Processes of the local runtime: readiness from the `listening` line (with what else it says), a
 * clear failure for a process that exits or never gets ready, and a stop that escalates to SIGKILL
 * for one that ignores SIGTERM. Each case runs a small script with plain node.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServiceProcess, stopProcess } from '../../local/processes';
import type { ServiceProcess } from '../../local/processes';

let dir: string;
const started: ServiceProcess[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-processes-'));
});
afterEach(async () => {
  for (const process of started.splice(0)) await stopProcess(process, 1_000);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function script(name: string, source: string): string {
  const file = path.join(dir, `${name}.js`);
  fs.writeFileSync(file, source);
  return file;
}

it('is ready at the listening line, and keeps what the line said', async () => {
  const file = script(
    'ready',
    "process.stdout.write('not json\\n' + JSON.stringify({ msg: 'listening', port: 4321, services: ['a'] }) + '\\n'); setInterval(() => undefined, 1000);",
  );
  const lines: string[] = [];
  const ready = await startServiceProcess(file, {}, { onLine: (line) => lines.push(line) });
  started.push(ready);
  expect(ready.url).toBe('http://127.0.0.1:4321');
  expect(ready.ready).toMatchObject({ services: ['a'] });
  expect(lines).toContain('not json');
});

it('fails with its stderr when it exits before listening', async () => {
  const file = script('crash', "process.stderr.write('no table\\n'); process.exit(3);");
  await expect(startServiceProcess(file, {})).rejects.toThrow(/crash\.js exited with 3 before listening: no table/);
});

it('kills a process that never gets ready, and says so', async () => {
  const pidFile = path.join(dir, 'silent.pid');
  const file = script('silent', `require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => undefined, 1000);`);
  await expect(startServiceProcess(file, {}, { readyTimeoutMs: 1_000 })).rejects.toThrow(/silent\.js did not signal readiness within 1000 ms/);
  // The child was SIGKILLed: once reaped, its pid is gone.
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  const gone = () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  };
  const deadline = Date.now() + 10_000;
  while (!gone() && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  expect(gone()).toBe(true);
});

it('passes node options and arguments, and a stdin pipe whose end the child sees', async () => {
  const preload = script('preload', "globalThis.preloaded = true; process.stdin.once('end', () => process.exit(7)); process.stdin.resume();");
  const file = script(
    'args',
    "process.stdout.write(JSON.stringify({ msg: 'listening', port: 1, preloaded: globalThis.preloaded === true, args: process.argv.slice(2) }) + '\\n');",
  );
  const child = await startServiceProcess(file, {}, { nodeOptions: ['--require', preload], args: ['registry', '{}'], stdinPipe: true });
  started.push(child);
  expect(child.ready).toMatchObject({ preloaded: true, args: ['registry', '{}'] });
  child.child.stdin?.end();
  expect(await child.exited).toBe(7);
});

it('stops with SIGTERM, and with SIGKILL when SIGTERM is ignored', async () => {
  const polite = await startServiceProcess(
    script('polite', "process.stdout.write(JSON.stringify({ msg: 'listening', port: 1 }) + '\\n'); setInterval(() => undefined, 1000);"),
    {},
  );
  const stubborn = await startServiceProcess(
    script(
      'stubborn',
      "process.on('SIGTERM', () => undefined); process.stdout.write(JSON.stringify({ msg: 'listening', port: 1 }) + '\\n'); setInterval(() => undefined, 1000);",
    ),
    {},
  );
  started.push(polite, stubborn);
  await Promise.all([stopProcess(polite, 10_000), stopProcess(stubborn, 200)]);
  expect(polite.child.signalCode).toBe('SIGTERM');
  expect(stubborn.child.signalCode).toBe('SIGKILL');
  // Stopping what has stopped is a no-op.
  await stopProcess(polite);
});
