/**
 * `npm start` for real, as a child process on a free port with its own state folder, and the
 * end-to-end suite through its gateway; then Ctrl-C, and no process may be left behind.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OUTPUTS_FILE } from '../../local/state';
import { describeEndToEnd } from './suite';
import { loadTarget } from './target';
import type { Target } from './target';

const ROOT = path.join(__dirname, '..', '..');
let stateDir: string;
let system: ChildProcess;
let exited: Promise<number | null>;
let target: Target | undefined;
let stdout = '';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-e2e-'));
  // One process, as `npm start` runs it: tsx registered in node itself, no wrapper process to orphan.
  system = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'local', 'start.ts'), '--port', '0', '--state-dir', stateDir], {
    cwd: ROOT,
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  system.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  system.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  exited = new Promise((resolve) => system.once('exit', (code) => resolve(code)));
  const started = Date.now();
  while (!stdout.includes('Gatehouse is running')) {
    if (system.exitCode !== null) throw new Error(`npm start exited with ${system.exitCode}: ${stderr}`);
    if (Date.now() - started > 60_000) throw new Error(`npm start did not come up in 60 s: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  target = loadTarget(path.join(stateDir, OUTPUTS_FILE));
}, 90_000);

afterAll(async () => {
  if (system.exitCode === null) {
    // Only when a test failed before the Ctrl-C case: take the services down with it.
    for (const entry of target?.local?.processes ?? []) if (alive(entry.pid)) process.kill(entry.pid, 'SIGKILL');
    system.kill('SIGKILL');
    await exited;
  }
  fs.rmSync(stateDir, { recursive: true, force: true });
});

it('prints the URL, a key per tier and a curl, and writes them to the outputs file', () => {
  const outputs = JSON.parse(fs.readFileSync(path.join(stateDir, OUTPUTS_FILE), 'utf8')) as { Gatehouse: Record<string, unknown> };
  expect(stdout).toContain(`Gatehouse is running at ${String(outputs.Gatehouse.ApiUrl)}`);
  expect(stdout).toMatch(/API key \(basic: 10\/s, burst 20, 10000\/day\): dev-basic-/);
  expect(stdout).toMatch(/curl -H 'x-api-key: dev-basic-\w+' -H 'Authorization: Bearer [\w-]+\.[\w-]+\.[\w-]+' http:\/\/127\.0\.0\.1:\d+\/v1\/products/);
  expect(outputs.Gatehouse).toMatchObject({ ApiUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/v1\/$/), ApiKeybasic: expect.any(String), ApiKeypro: expect.any(String), Tiers: { basic: { rateLimit: 10, burstLimit: 20 } } });
});

it('the printed curl works', async () => {
  const curl = /curl -H 'x-api-key: (\S+)' -H 'Authorization: (Bearer \S+)' (\S+)/.exec(stdout);
  expect(curl).not.toBeNull();
  const [, apiKey, authorization, url] = curl as RegExpExecArray;
  const response = await fetch(url, { headers: { 'x-api-key': apiKey, authorization } });
  expect(response.status).toBe(200);
  expect(await response.json()).toMatchObject({ items: expect.any(Array) });
});

describeEndToEnd(() => {
  if (target === undefined) throw new Error('npm start did not come up');
  return target;
}, { local: true });

it('stops everything on Ctrl-C, leaving no process behind', async () => {
  const pids = (target?.local?.processes ?? []).map((entry) => entry.pid);
  expect(pids.length).toBe(3);
  system.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(pids.filter(alive)).toEqual([]);
}, 60_000);
