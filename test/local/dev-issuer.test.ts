/** The development issuer and `npm run token`: tokens the authorizer accepts, a key kept across runs. */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { AuthorizerConfig } from '../../lib/auth/authorizer-contract';
import { AUTHORIZER_DEFAULTS, buildScopeTable } from '../../lib/auth/authorizer-contract';
import type { AuthorizerHandler } from '../../lambda/authorizer/handler';
import { createAuthorizerHandler } from '../../lambda/authorizer/handler';
import { GATEHOUSE_ROUTES } from '../../lib/routes/gatehouse-routes';
import {
  DEV_AUDIENCE,
  DEV_COGNITO_CLIENT_ID,
  DEV_COGNITO_ISSUER,
  DEV_ISSUER,
  devCognitoIssuer,
  DevIssuer,
  loadOrCreateDevKey,
} from '../../local/issuer/dev-issuer';
import { MemoryLogger, requestEvent } from '../support/authorizer';

const ROOT = path.join(__dirname, '..', '..');
let stateDir: string;
let issuer: DevIssuer;

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-issuer-'));
  issuer = await DevIssuer.start(stateDir);
});
afterAll(async () => {
  await issuer?.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

const token = (...args: string[]) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(ROOT, 'local', 'token.ts'), '--state-dir', stateDir, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH },
  });

it('keeps one private key, readable by its owner only', async () => {
  const again = await loadOrCreateDevKey(stateDir);
  expect(again.kid).toBe(issuer.key.kid);
  expect(fs.statSync(path.join(stateDir, 'dev-issuer-key.json')).mode & 0o777).toBe(0o600);
  expect(issuer.key.publicJwk).not.toHaveProperty('d');
});

it('npm run token prints only a token, which the authorizer accepts with its sub and scopes', async () => {
  const { stdout } = await token('--sub', 'bob', '--scope', 'orders:read orders:write', '--ttl', '120');
  expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  const handler = devAuthorizer([{ issuer: DEV_ISSUER, audience: [DEV_AUDIENCE], jwksUri: issuer.jwksUri }]);
  const result = await handler(requestEvent(`Bearer ${stdout.trim()}`));
  expect(result).toMatchObject({ principalId: 'bob', context: { scopes: 'orders:read orders:write' } });
  const payload = JSON.parse(Buffer.from(stdout.split('.')[1], 'base64url').toString()) as { exp: number; iat: number };
  expect(payload.exp - payload.iat).toBe(120);
}, 20_000);

it('npm run token -- --cognito prints a Cognito-shaped access token, which the authorizer accepts next to the other shape', async () => {
  const { stdout } = await token('--cognito', '--sub', 'machine-1', '--scope', 'orders:read');
  const payload = JSON.parse(Buffer.from(stdout.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
  expect(payload).toMatchObject({
    iss: DEV_COGNITO_ISSUER,
    sub: 'machine-1',
    client_id: DEV_COGNITO_CLIENT_ID,
    token_use: 'access',
    scope: 'gatehouse/orders:read',
  });
  expect(payload).not.toHaveProperty('aud');
  const handler = devAuthorizer([{ issuer: DEV_ISSUER, audience: [DEV_AUDIENCE], jwksUri: issuer.jwksUri }, devCognitoIssuer(issuer.jwksUri)]);
  const result = await handler(requestEvent(`Bearer ${stdout.trim()}`));
  expect(result).toMatchObject({ principalId: `${DEV_COGNITO_ISSUER}#machine-1`, context: { scopes: 'orders:read', clientId: DEV_COGNITO_CLIENT_ID } });
}, 20_000);

it('refuses a bad --ttl and an unknown flag with a message and exit code 2', async () => {
  await expect(token('--ttl', 'soon')).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/ttl must be whole seconds/) });
  await expect(token('--colour', 'red')).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/Unknown option '--colour'/) });
}, 20_000);

/** The authorizer as `npm start` runs it, trusting `issuers`, with no clock leeway. */
function devAuthorizer(issuers: AuthorizerConfig['issuers']): AuthorizerHandler {
  return createAuthorizerHandler(
    {
      issuers,
      algorithms: AUTHORIZER_DEFAULTS.algorithms,
      clockToleranceSeconds: 0,
      scopeTable: buildScopeTable(GATEHOUSE_ROUTES),
      jwks: AUTHORIZER_DEFAULTS.jwks,
    },
    { logger: new MemoryLogger() },
  );
}
