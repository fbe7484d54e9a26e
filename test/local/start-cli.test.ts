/**
 * `npm start`'s command line: a bad flag or a busy port is a clear message and exit code 2, and a busy
 * port is found before anything is written; --verbose says where the start spent its time.
 */
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { loadOrCreateDevKey, mintDevToken } from '../../local/issuer/dev-issuer';
import { TestIssuer } from '../support/test-issuer';

const ROOT = path.join(__dirname, '..', '..');
let stateDir: string;
let squatter: Server;

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-cli-'));
  squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise((resolve) => squatter.close(resolve));
  fs.rmSync(stateDir, { recursive: true, force: true });
});

const startIn = (folder: string, ...args: string[]) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(ROOT, 'local', 'start.ts'), '--state-dir', folder, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH },
  });
const start = (...args: string[]) => startIn(stateDir, ...args);

it.each<[string, string[], RegExp]>([
  ['an unknown flag', ['--colour', 'red'], /Unknown option '--colour'/],
  ['a port out of range', ['--port', '70000'], /--port must be a port from 0 to 65535, got "70000"/],
  ['an issuer without an audience', ['--issuer', 'https://login.example.com'], /--issuer and --audience go together/],
])(
  'refuses %s',
  async (_name, args, message) => {
    await expect(start(...args)).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(message) });
  },
  30_000,
);

it("refuses a port in use before writing anything: a running system's state stays as it was", async () => {
  // GIVEN the state folder of a running system (its outputs and keys), and its port taken
  const { port } = squatter.address() as AddressInfo;
  const running = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-running-'));
  const sentinels = ['outputs.json', 'api-keys.json', 'dev-issuer-key.json'].map((name) => path.join(running, name));
  for (const file of sentinels) fs.writeFileSync(file, `{"sentinel":"${path.basename(file)}"}`);
  const before = sentinels.map((file) => [fs.readFileSync(file, 'utf8'), fs.statSync(file).mtimeMs]);
  const fresh = path.join(stateDir, 'never-made');
  try {
    // WHEN npm start is asked for that port, with that state folder or a new one
    for (const folder of [running, fresh]) {
      await expect(startIn(folder, '--port', String(port))).rejects.toMatchObject({
        code: 2,
        stderr: expect.stringMatching(new RegExp(`port ${port} is in use: stop what runs there, or pass --port`)),
      });
    }
    // THEN nothing was written: no file changed, no file or folder added
    expect(sentinels.map((file) => [fs.readFileSync(file, 'utf8'), fs.statSync(file).mtimeMs])).toEqual(before);
    expect(fs.readdirSync(running).sort()).toEqual(['api-keys.json', 'dev-issuer-key.json', 'outputs.json']);
    expect(fs.existsSync(fresh)).toBe(false);
  } finally {
    fs.rmSync(running, { recursive: true, force: true });
  }
}, 60_000);

it('trusts an external issuer given with --issuer, --audience and --jwks-uri', async () => {
  const idp = await TestIssuer.start();
  try {
    const system = await running(['--issuer', idp.issuer, '--audience', idp.audience, '--jwks-uri', idp.jwksUri]);
    try {
      expect(system.stdout()).toContain(`Trusting ${idp.issuer}`);
      const call = async (token: string) =>
        (
          await fetch(`${system.outputs.Gatehouse.ApiUrl}products`, {
            headers: { 'x-api-key': system.outputs.Gatehouse.ApiKeypro, authorization: `Bearer ${token}` },
          })
        ).status;
      expect(await call(await idp.sign({ scope: 'products:read' }))).toBe(200);
      expect(await call(await loadDevToken())).toBe(401);
    } finally {
      await system.stop();
    }
  } finally {
    await idp.close();
  }
}, 90_000);

/** Starts `npm start` with `args`, resolves once it is up with its outputs and a stop function. */
async function running(args: string[]): Promise<{
  outputs: { Gatehouse: { ApiUrl: string; ApiKeypro: string } };
  stdout: () => string;
  stderr: () => string;
  exited: Promise<unknown>;
  stop: () => Promise<unknown>;
}> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'local', 'start.ts'), '--state-dir', stateDir, '--port', '0', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  for (let waited = 0; !stdout.includes('Gatehouse is running') && child.exitCode === null && waited < 60_000; waited += 100)
    await new Promise((resolve) => setTimeout(resolve, 100));
  const stop = async () => {
    child.kill('SIGINT');
    return exited;
  };
  if (!stdout.includes('Gatehouse is running')) {
    await stop();
    throw new Error('npm start did not come up');
  }
  return {
    outputs: JSON.parse(fs.readFileSync(path.join(stateDir, 'outputs.json'), 'utf8')) as { Gatehouse: { ApiUrl: string; ApiKeypro: string } },
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    stop,
  };
}

it('keeps data across restarts with --data-dir', async () => {
  const dataDir = path.join(stateDir, 'data');
  const token = await mintDevToken(await loadOrCreateDevKey(stateDir), { sub: 'dev-user', scopes: ['products:read', 'products:write'], ttlSeconds: 120 });
  const headers = (apiKey: string) => ({ 'x-api-key': apiKey, authorization: `Bearer ${token}`, 'content-type': 'application/json' });

  const first = await running(['--data-dir', dataDir]);
  let id: string;
  try {
    const created = await fetch(`${first.outputs.Gatehouse.ApiUrl}products`, {
      method: 'POST',
      headers: headers(first.outputs.Gatehouse.ApiKeypro),
      body: JSON.stringify({ name: 'Kept', price: { amount: 100, currency: 'EUR' }, stock: 3 }),
    });
    expect(created.status).toBe(201);
    id = String(((await created.json()) as { id: string }).id);
  } finally {
    expect(await first.stop()).toBe(0);
  }

  const second = await running(['--data-dir', dataDir]);
  try {
    const kept = await fetch(`${second.outputs.Gatehouse.ApiUrl}products/${id}`, { headers: headers(second.outputs.Gatehouse.ApiKeypro) });
    expect(kept.status).toBe(200);
    expect(await kept.json()).toMatchObject({ id, name: 'Kept', stock: 3 });
  } finally {
    await second.stop();
  }
}, 120_000);

/** A token of the development issuer, which an external issuer's system must refuse. */
async function loadDevToken(): Promise<string> {
  return mintDevToken(await loadOrCreateDevKey(stateDir), { sub: 'dev-user', scopes: ['products:read'], ttlSeconds: 60 });
}

it('prints one line per phase of the start with --verbose, and each part answers once it is ready', async () => {
  const system = await running(['--verbose']);
  try {
    const lines = system.stdout().split('\n');
    const phase = (name: string) => lines.find((line) => new RegExp(`^  at +\\d+ ms  ${name} +\\d+ ms`).test(line));
    for (const name of [
      'ready',
      'check port',
      'bundle product',
      'bundle order',
      'bundle parts',
      'start dynamo',
      'start registry',
      'start issuer',
      'start services',
      'start gateway',
    ]) {
      expect(phase(name)).toBeDefined();
    }
    // This folder started a system before: the bundles are reused.
    expect(phase('bundle product')).toMatch(/\(reused\)$/);
    // Ready means answering: the registry lists every instance, the issuer serves its keys.
    const local = (system.outputs.Gatehouse as unknown as { Local: { processes: unknown[]; parts: { part: string; pid: number }[] } }).Local;
    expect(local.processes).toHaveLength(3);
    expect(local.parts.map((part) => part.part).sort()).toEqual(['dynamo', 'issuer', 'registry']);
    expect((await fetch(String((system.outputs.Gatehouse as unknown as { JwksUri: string }).JwksUri))).status).toBe(200);
  } finally {
    await system.stop();
  }
}, 120_000);

it('stops everything and exits 1 when a part dies, since what it held in memory is gone', async () => {
  const system = await running([]);
  const local = (system.outputs.Gatehouse as unknown as { Local: { processes: { pid: number }[]; parts: { part: string; pid: number }[] } }).Local;
  const registry = local.parts.find((part) => part.part === 'registry');
  expect(registry).toBeDefined();
  process.kill(registry!.pid, 'SIGKILL');
  // It stops by itself; a SIGINT from here would race it to the exit code (one comes only if it hangs).
  const hung = setTimeout(() => void system.stop(), 60_000);
  const code = await system.exited;
  clearTimeout(hung);
  expect(code).toBe(1);
  expect(system.stderr()).toMatch(/registry exited \(null\), and what it held is gone; stopping/);
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  expect([...local.processes, ...local.parts].map((entry) => entry.pid).filter(alive)).toEqual([]);
}, 120_000);

it('runs the gateway cdk.json configures: a changed tier, stage and namespace in a copy given with --config', async () => {
  // GIVEN a copy of the app's cdk.json with one slow tier (a token every 10 s, bursts of 2), another stage and namespace
  const cdkJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context: { gatehouse: Record<string, unknown> } };
  cdkJson.context.gatehouse = {
    ...cdkJson.context.gatehouse,
    stageName: 'v9-local',
    namespace: 'shop.internal',
    gateway: { tiers: [{ name: 'tiny', rateLimit: 0.1, burstLimit: 2, quota: { limit: 50, period: 'WEEK' } }] },
  };
  const config = path.join(stateDir, 'cdk-changed.json');
  fs.writeFileSync(config, JSON.stringify(cdkJson));
  // WHEN npm start runs with it
  const system = await running(['--config', config]);
  try {
    const outputs = system.outputs.Gatehouse as unknown as { ApiUrl: string; ApiKeytiny: string; Tiers: unknown; Namespace: string };
    expect(outputs.ApiUrl).toMatch(/\/v9-local\/$/);
    expect(outputs.Tiers).toEqual({ tiny: { rateLimit: 0.1, burstLimit: 2, quota: { limit: 50, period: 'WEEK' } } });
    expect(outputs.Namespace).toBe('shop.internal');
    expect(system.stdout()).toContain('API key (tiny: 0.1/s, burst 2, 50/week)');
    // THEN the tier's burst passes and the next request gets 429; the services answer through the new namespace
    const token = await loadDevToken();
    const statuses: number[] = [];
    for (let request = 0; request < 3; request += 1) {
      const response = await fetch(`${outputs.ApiUrl}products`, { headers: { 'x-api-key': outputs.ApiKeytiny, authorization: `Bearer ${token}` } });
      await response.arrayBuffer();
      statuses.push(response.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
  } finally {
    await system.stop();
  }
}, 120_000);

it('refuses a config the app would refuse, before starting anything', async () => {
  const config = path.join(stateDir, 'cdk-refused.json');
  fs.writeFileSync(config, JSON.stringify({ context: { gatehouse: { stageName: 'v1.0' } } }));
  await expect(start('--config', config)).rejects.toMatchObject({
    code: 2,
    stderr: expect.stringMatching(
      /--config .*cdk-refused.json: context "gatehouse": stageName must be 1 to 128 letters, digits, hyphens or underscores, got "v1.0"/,
    ),
  });
}, 30_000);

it("reads the API key from the token's claim when cdk.json says apiKeySource AUTHORIZER, and prints a token that carries it", async () => {
  const config = path.join(stateDir, 'cdk-authorizer-keys.json');
  fs.writeFileSync(
    config,
    JSON.stringify({ context: { gatehouse: { authorizer: { usageIdentifierClaim: 'gatehouse_key' }, gateway: { apiKeySource: 'AUTHORIZER' } } } }),
  );
  const system = await running(['--config', config]);
  try {
    const printed = /curl -H 'Authorization: Bearer ([^']+)' (\S+)/.exec(system.stdout());
    expect(printed).not.toBeNull();
    const [, token, url] = printed as RegExpExecArray;
    // No x-api-key: the key is the token's gatehouse_key claim, as the deployed authorizer returns it.
    expect((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    // A token without the claim has no key, whatever x-api-key says.
    const plain = await loadDevToken();
    const apiKey = (system.outputs.Gatehouse as unknown as { ApiKeybasic: string }).ApiKeybasic;
    expect((await fetch(url, { headers: { authorization: `Bearer ${plain}`, 'x-api-key': apiKey } })).status).toBe(403);
  } finally {
    await system.stop();
  }
}, 120_000);
