/**
 * `npm start` for real, as a child process on a free port with its own state folder, and the
 * end-to-end suite through its gateway, twice (a second run against the same system must pass as the
 * first did); the supervisor replacing a killed instance without a request reaching the dead one; then
 * Ctrl-C, and no process may be left behind.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { SCOPES, SERVICES } from '../../lib/routes/gatehouse-routes';
import { OUTPUTS_FILE } from '../../local/state';
import { alive, eventually, instanceOf, registered, restarted } from './local-runtime';
import { describeEndToEnd } from './suite';
import { loadTarget } from './target';
import type { Target } from './target';

const ROOT = path.join(__dirname, '..', '..');
let stateDir: string;
let system: ChildProcess | undefined;
let exited: Promise<number | null>;
let target: Target | undefined;
let stdout = '';

/** Every process `npm start` runs besides itself: the service instances and the parts, as the outputs name them now. */
function runtimePids(): number[] {
  if (!fs.existsSync(path.join(stateDir, OUTPUTS_FILE))) return [];
  const outputs = JSON.parse(fs.readFileSync(path.join(stateDir, OUTPUTS_FILE), 'utf8')) as {
    Gatehouse: { Local: { processes: { pid: number }[]; parts: { pid: number }[] } };
  };
  return [...outputs.Gatehouse.Local.processes, ...outputs.Gatehouse.Local.parts].map((entry) => entry.pid);
}

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-e2e-'));
  // One process, as `npm start` runs it: tsx registered in node itself, no wrapper process to orphan.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'local', 'start.ts'), '--port', '0', '--state-dir', stateDir], {
    cwd: ROOT,
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  system = child;
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  await eventually(
    'npm start to come up',
    () => {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}: ${stderr}`);
      return stdout.includes('Gatehouse is running');
    },
    { timeoutMs: 60_000 },
  );
  target = loadTarget(path.join(stateDir, OUTPUTS_FILE));
}, 90_000);

afterAll(async () => {
  if (system !== undefined && system.exitCode === null && system.signalCode === null) {
    // Only when a test failed before the Ctrl-C case: take the services down with it.
    for (const pid of runtimePids()) if (alive(pid)) process.kill(pid, 'SIGKILL');
    system.kill('SIGKILL');
    await exited;
  }
  if (stateDir !== undefined) fs.rmSync(stateDir, { recursive: true, force: true });
});

it('prints the URL, a key per tier and a curl, and writes them to the outputs file', () => {
  const outputs = JSON.parse(fs.readFileSync(path.join(stateDir, OUTPUTS_FILE), 'utf8')) as { Gatehouse: Record<string, unknown> };
  expect(stdout).toContain(`Gatehouse is running at ${String(outputs.Gatehouse.ApiUrl)}`);
  expect(stdout).toMatch(/API key \(basic: 10\/s, burst 20, 10000\/day\): dev-basic-/);
  expect(stdout).toMatch(/curl -H 'x-api-key: dev-basic-\w+' -H 'Authorization: Bearer [\w-]+\.[\w-]+\.[\w-]+' http:\/\/127\.0\.0\.1:\d+\/v1\/products/);
  expect(outputs.Gatehouse).toMatchObject({
    ApiUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/v1\/$/),
    ApiKeybasic: expect.any(String),
    ApiKeypro: expect.any(String),
    Tiers: { basic: { rateLimit: 10, burstLimit: 20 } },
  });
});

it('the printed curl works', async () => {
  const curl = /curl -H 'x-api-key: (\S+)' -H 'Authorization: (Bearer \S+)' (\S+)/.exec(stdout);
  expect(curl).not.toBeNull();
  const [, apiKey, authorization, url] = curl as RegExpExecArray;
  const response = await fetch(url, { headers: { 'x-api-key': apiKey, authorization } });
  expect(response.status).toBe(200);
  expect(await response.json()).toMatchObject({ items: expect.any(Array) });
});

const started = (): Target => {
  if (target === undefined) throw new Error('npm start did not come up');
  return target;
};
// Twice against the same system: the instance the first run kills is back for the second.
describe('first run', () => describeEndToEnd(started, { local: true }));
describe('second run', () => describeEndToEnd(started, { local: true }));

/** Binds `port` on loopback once it is free, and counts the connections that reach it. */
async function trap(port: number): Promise<{ connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await eventually(
    `port ${port} to be free`,
    () =>
      new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(port, '127.0.0.1', () => resolve(true));
      }),
  );
  return { connections: () => connections, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

it('restarts a SIGKILLed service, and routes nothing to the dead instance once it is deregistered', async () => {
  const local = started().local;
  if (local === undefined) throw new Error('the local outputs list no processes');
  const token = await started().token('e2e-supervision', [SCOPES.productsRead]);
  const get = async () => {
    const response = await fetch(`${started().apiUrl}products?limit=1`, { headers: { 'x-api-key': started().apiKey, authorization: `Bearer ${token}` } });
    const body = await response.text();
    // A refusal keeps the gateway's reason, so that a failure says which instance it could not reach and why.
    return { status: response.status, requestId: response.headers.get('x-request-id'), ...(response.status !== 200 && { body }) };
  };
  const victim = instanceOf(local, 'product-2');
  // The gateway caches what the registry said for a second: fill that cache with both instances now,
  // so that the requests below would find the dead one there were it not taken out of the targets.
  expect((await Promise.all([get(), get(), get(), get()])).map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
  process.kill(victim.pid, 'SIGKILL');
  // Whatever connects to the dead instance's address from now on is counted, not refused.
  const deadAddress = await trap(Number(new URL(victim.url).port));
  try {
    await eventually(
      'the dead instance to leave the registry',
      async () => (await registered(local.registryEndpoint, SERVICES.product, 'ALL')).get(victim.instance) !== victim.url,
    );
    // What is under test is the dead instance; the other one must be there to answer (it may itself be
    // back from the suite's kill of product-1, and on a loaded machine still passing its health checks).
    await eventually('another HEALTHY product instance', async () =>
      [...(await registered(local.registryEndpoint, SERVICES.product)).keys()].some((instance) => instance !== victim.instance),
    );
    const answers = [];
    for (let index = 0; index < 20; index += 1) {
      const { status, body } = await get();
      answers.push(status === 200 ? status : { status, body });
    }
    expect(answers).toEqual(Array(20).fill(200));
    expect(deadAddress.connections()).toBe(0);
  } finally {
    await deadAddress.close();
  }

  const back = await restarted(local, SERVICES.product, victim);
  // Rediscovered: the gateway sends requests to the new process, whose access log names them.
  const log = path.join(stateDir, 'logs', 'product-2.log');
  await eventually('a request served by the restarted product-2', async () => {
    const { status, requestId } = await get();
    expect(status).toBe(200);
    const served = fs
      .readFileSync(log, 'utf8')
      .split('\n')
      .some((line) => requestId !== null && line.includes(`"requestId":"${requestId}"`));
    return served;
  });
  expect(alive(back.pid)).toBe(true);
}, 120_000);

it('reports a hung instance UNHEALTHY from its failed health checks, and HEALTHY once it answers again', async () => {
  const local = started().local;
  if (local === undefined) throw new Error('the local outputs list no processes');
  // SIGSTOP: the process lives (the supervisor sees no death) but answers nothing, as a hung one would.
  const hung = instanceOf(local, 'product-1');
  process.kill(hung.pid, 'SIGSTOP');
  try {
    await eventually(
      'the hung instance to leave the HEALTHY answer',
      async () => !(await registered(local.registryEndpoint, SERVICES.product)).has(hung.instance),
    );
    expect((await registered(local.registryEndpoint, SERVICES.product, 'UNHEALTHY')).get(hung.instance)).toBe(hung.url);
  } finally {
    process.kill(hung.pid, 'SIGCONT');
  }
  await eventually(
    'the instance to be HEALTHY again',
    async () => (await registered(local.registryEndpoint, SERVICES.product)).get(hung.instance) === hung.url,
  );
  // Not replaced: it never died.
  expect(instanceOf(local, 'product-1').pid).toBe(hung.pid);
}, 60_000);

it('stops everything on Ctrl-C, leaving no process behind', async () => {
  const pids = runtimePids();
  expect(pids.length).toBe(6);
  system?.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(pids.filter(alive)).toEqual([]);
}, 60_000);
