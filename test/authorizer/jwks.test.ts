/**
 * RemoteKeySet: the JWKS fetch on node:http(s) and jose's caching rules. The handler-level faults (down,
 * slow, HTML, redirect, 500, floods of unknown kids) are in jwks-faults.test.ts; this file covers
 * what only the key set sees: the body's size and time limits, the protocol, and the error it names.
 */
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWSHeaderParameters } from 'jose';
import { JwksUnavailableError } from '../../lambda/authorizer/errors';
import { MAX_JWKS_BYTES, MAX_PICKED_KEYS, RemoteKeySet } from '../../lambda/authorizer/jwks';
import { TestIssuer } from '../support/test-issuer';

const SETTINGS = { timeoutMs: 300, cooldownMs: 30_000, cacheMaxAgeMs: 600_000 };
let issuer: TestIssuer;
let server: Server;
let answer: (response: ServerResponse) => void;

beforeAll(async () => {
  issuer = await TestIssuer.start({ extraRsaKeys: 1 });
  server = createServer((_request, response) => answer(response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  server.closeAllConnections();
  await Promise.all([issuer.close(), new Promise((resolve) => server.close(resolve))]);
});

const serverUrl = (): URL => new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`);
const header = (): JWSHeaderParameters => ({ alg: 'RS256', kid: issuer.key('RS256').kid });

it('fetches the JWKS once and hands jose the key a token names', async () => {
  issuer.fetches = 0;
  const keys = new RemoteKeySet(new URL(issuer.jwksUri), SETTINGS);

  const [first, second] = await Promise.all([keys.getKey(header(), { payload: '', signature: '' }), keys.getKey(header(), { payload: '', signature: '' })]);

  expect(first).toMatchObject({ type: 'public', algorithm: { name: 'RSASSA-PKCS1-v1_5' } });
  expect(second).toBe(first);
  expect(issuer.fetches).toBe(1);
});

it('refetches keys older than the cache age; a failed refetch is thrown, and tried again by the next request', async () => {
  let now = 0;
  issuer.fetches = 0;
  const keys = new RemoteKeySet(new URL(issuer.jwksUri), { ...SETTINGS, cacheMaxAgeMs: 1_000 }, () => now);
  await keys.reload();

  now = 999;
  await keys.getKey(header(), { payload: '', signature: '' });
  expect(issuer.fetches).toBe(1);

  now = 1_000;
  issuer.mode = 'error-500';
  try {
    await expect(keys.getKey(header(), { payload: '', signature: '' })).rejects.toThrow(JwksUnavailableError);
    expect(issuer.fetches).toBe(2);
  } finally {
    issuer.mode = 'ok';
  }
  await keys.getKey(header(), { payload: '', signature: '' });
  expect(issuer.fetches).toBe(3);
});

it('remembers the key picked for a protected header while the keys are fresh, and picks afresh from a refetched set', async () => {
  let now = 0;
  const keys = new RemoteKeySet(new URL(issuer.jwksUri), { ...SETTINGS, cacheMaxAgeMs: 1_000 }, () => now);
  const input = { protected: 'header-1', payload: '', signature: '' };
  const before = await keys.getKey(header(), input);
  expect(keys.pickedFor('header-1')).toBe(before);

  // The issuer replaces the key under the same kid: the old one is served until the keys age out.
  const original = issuer.published;
  const [first, second] = issuer.keys.filter((key) => key.alg === 'RS256');
  issuer.published = [{ ...first, publicJwk: { ...second.publicJwk, kid: first.kid } }];
  try {
    now = 999;
    expect(keys.pickedFor('header-1')).toBe(before);

    now = 1_000;
    expect(keys.pickedFor('header-1')).toBeUndefined();
    const after = await keys.getKey(header(), input);
    expect(after).not.toBe(before);
    expect(keys.pickedFor('header-1')).toBe(after);
  } finally {
    issuer.published = original;
  }
});

it(`remembers at most ${MAX_PICKED_KEYS} headers, since anyone can make up headers that name a published kid`, async () => {
  const keys = new RemoteKeySet(new URL(issuer.jwksUri), SETTINGS);
  for (let index = 0; index <= MAX_PICKED_KEYS; index += 1) await keys.getKey(header(), { protected: `made-up-${index}`, payload: '', signature: '' });

  expect(keys.pickedFor('made-up-0')).toBeUndefined();
  expect(keys.pickedFor(`made-up-${MAX_PICKED_KEYS}`)).toBeDefined();
});

it(`refuses a body larger than ${MAX_JWKS_BYTES} bytes`, async () => {
  answer = (response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(`{"keys":[],"padding":"${'x'.repeat(MAX_JWKS_BYTES)}"}`);
  };
  const failure = new RemoteKeySet(serverUrl(), SETTINGS).reload();

  await expect(failure).rejects.toThrow(JwksUnavailableError);
  await expect(failure).rejects.toThrow(/exceeds 524288 bytes/);
});

it('times out a body that stops coming, not only headers that never come', async () => {
  answer = (response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.write('{"keys":[');
  };
  const started = Date.now();

  await expect(new RemoteKeySet(serverUrl(), SETTINGS).reload()).rejects.toThrow(JwksUnavailableError);
  expect(Date.now() - started).toBeLessThan(5_000);
});

it('names the address and the reason, and keeps the cause', async () => {
  answer = (response) => response.writeHead(503).end();

  const error = await new RemoteKeySet(serverUrl(), SETTINGS).reload().catch((caught: unknown) => caught);

  expect(error).toBeInstanceOf(JwksUnavailableError);
  expect((error as Error).message).toBe(`JWKS at ${serverUrl().href} could not be fetched or read: Error: expected 200 OK, got 503`);
  expect((error as Error).cause).toBeInstanceOf(Error);
});

it('refuses a JSON document that is not a key set', async () => {
  answer = (response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"issuer":"https://example.com"}');

  await expect(new RemoteKeySet(serverUrl(), SETTINGS).reload()).rejects.toThrow(/could not be fetched or read: JWKSInvalid/);
});

it('speaks TLS to an https address: a plain-HTTP server there is an error, not a key set', async () => {
  const plain = new URL(issuer.jwksUri);
  plain.protocol = 'https:';
  issuer.fetches = 0;

  const error = await new RemoteKeySet(plain, SETTINGS).reload().catch((caught: unknown) => caught);

  expect(error).toBeInstanceOf(JwksUnavailableError);
  expect((error as Error).message).toMatch(/EPROTO|SSL|TLS/);
  expect(issuer.fetches).toBe(0);
});
