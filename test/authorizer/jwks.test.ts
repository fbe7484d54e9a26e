/**
 * RemoteKeySet: the JWKS fetch on node:http(s) and jose's caching rules. The handler-level faults (down,
 * slow, HTML, redirect, 500, floods of unknown kids) are in jwks-faults.test.ts; this file covers
 * what only the key set sees: the body's size and time limits, the protocol, and the error it names.
 */
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errors } from 'jose';
import type { JWSHeaderParameters } from 'jose';
import { JwksUnavailableError } from '../../lambda/authorizer/errors';
import { MAX_JWKS_BYTES, RemoteKeySet } from '../../lambda/authorizer/jwks';
import { TestIssuer } from '../support/test-issuer';

const SETTINGS = { timeoutMs: 300, cooldownMs: 30_000, cacheMaxAgeMs: 600_000 };
let issuer: TestIssuer;
let server: Server;
let answer: (response: ServerResponse) => void;

beforeAll(async () => {
  issuer = await TestIssuer.start();
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

it('serves the keys it picked only from the key set they came from: a key replaced under the same kid is used once refetched', async () => {
  let now = 0;
  const keys = new RemoteKeySet(new URL(issuer.jwksUri), { ...SETTINGS, cacheMaxAgeMs: 1_000 }, () => now);
  const before = await keys.getKey(header(), { payload: '', signature: '' });
  const original = issuer.published;
  const replacement = { ...issuer.key('RS256'), publicJwk: { ...issuer.key('ES256').publicJwk, kid: issuer.key('RS256').kid, alg: 'ES256' } };
  issuer.published = [replacement];
  try {
    expect(await keys.getKey(header(), { payload: '', signature: '' })).toBe(before);

    now = 1_000;
    await expect(keys.getKey(header(), { payload: '', signature: '' })).rejects.toThrow(errors.JWKSNoMatchingKey);
    expect(await keys.getKey({ alg: 'ES256', kid: issuer.key('RS256').kid }, { payload: '', signature: '' })).toMatchObject({ algorithm: { name: 'ECDSA' } });
  } finally {
    issuer.published = original;
  }
});

it('keeps a token without kid apart from one whose kid is the text "undefined"', async () => {
  const keys = new RemoteKeySet(new URL(issuer.jwksUri), SETTINGS);

  // With one RS256 key published, jose picks it for a token that names no kid.
  await expect(keys.getKey({ alg: 'RS256' }, { payload: '', signature: '' })).resolves.toMatchObject({ type: 'public' });
  await expect(keys.getKey({ alg: 'RS256', kid: 'undefined' }, { payload: '', signature: '' })).rejects.toThrow(errors.JWKSNoMatchingKey);
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
