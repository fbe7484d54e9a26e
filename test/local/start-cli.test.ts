/** `npm start`'s command line: a bad flag or a busy port is a clear message and exit code 2. */
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

const start = (...args: string[]) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(ROOT, 'local', 'start.ts'), '--state-dir', stateDir, ...args], { cwd: ROOT, env: { PATH: process.env.PATH } });

it.each<[string, string[], RegExp]>([
  ['an unknown flag', ['--colour', 'red'], /Unknown option '--colour'/],
  ['a port out of range', ['--port', '70000'], /--port must be a port from 0 to 65535, got "70000"/],
  ['an issuer without an audience', ['--issuer', 'https://login.example.com'], /--issuer and --audience go together/],
])('refuses %s', async (_name, args, message) => {
  await expect(start(...args)).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(message) });
}, 30_000);

it('refuses a port in use, after stopping what it had started', async () => {
  const { port } = squatter.address() as AddressInfo;
  await expect(start('--port', String(port))).rejects.toMatchObject({
    code: 2,
    stderr: expect.stringMatching(new RegExp(`port ${port} is in use: stop what runs there, or pass --port`)),
  });
  expect(fs.existsSync(path.join(stateDir, 'outputs.json'))).toBe(false);
}, 60_000);

it('trusts an external issuer given with --issuer, --audience and --jwks-uri', async () => {
  const idp = await TestIssuer.start();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'local', 'start.ts'), '--state-dir', stateDir, '--port', '0', '--issuer', idp.issuer, '--audience', idp.audience, '--jwks-uri', idp.jwksUri], {
    cwd: ROOT,
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    for (let waited = 0; !stdout.includes('Gatehouse is running') && waited < 60_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stdout).toContain(`Trusting ${idp.issuer}`);
    const outputs = JSON.parse(fs.readFileSync(path.join(stateDir, 'outputs.json'), 'utf8')) as { Gatehouse: { ApiUrl: string; ApiKeypro: string } };
    const call = async (token: string) =>
      (await fetch(`${outputs.Gatehouse.ApiUrl}products`, { headers: { 'x-api-key': outputs.Gatehouse.ApiKeypro, authorization: `Bearer ${token}` } })).status;
    expect(await call(await idp.sign({ scope: 'products:read' }))).toBe(200);
    expect(await call(await loadDevToken())).toBe(401);
  } finally {
    child.kill('SIGINT');
    await exited;
    await idp.close();
  }
}, 90_000);

/** A token of the development issuer, which an external issuer's system must refuse. */
async function loadDevToken(): Promise<string> {
  return mintDevToken(await loadOrCreateDevKey(stateDir), { sub: 'dev-user', scopes: ['products:read'], ttlSeconds: 60 });
}
