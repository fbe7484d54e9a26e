/**
 * The authorizer through its real interface: API Gateway REQUEST events in, policies or the exact
 * `Unauthorized` error out, against keys made here and a JWKS served on loopback.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { base64url, EncryptJWT, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { createAuthorizerHandler, UNAUTHORIZED } from '../../lambda/authorizer/handler';
import type { AuthorizerHandler } from '../../lambda/authorizer/handler';
import type { AuthorizerConfig } from '../../lib/auth/authorizer-contract';
import { AUTHORIZER_CONTEXT_KEYS, MAX_TOKEN_BYTES } from '../../lib/auth/authorizer-contract';
import { API_STAGE_ARN, MemoryLogger, requestEvent, testConfig } from '../support/authorizer';
import { TestIssuer } from '../support/test-issuer';

let issuer: TestIssuer;
let ambiguous: TestIssuer;
let attacker: TestIssuer;

beforeAll(async () => {
  [issuer, ambiguous, attacker] = await Promise.all([TestIssuer.start(), TestIssuer.start({ extraRsaKeys: 1 }), TestIssuer.start()]);
});
afterAll(async () => {
  await Promise.all([issuer.close(), ambiguous.close(), attacker.close()]);
});

function authorizer(overrides: Partial<AuthorizerConfig> = {}, clock?: () => Date): { handler: AuthorizerHandler; logger: MemoryLogger } {
  const logger = new MemoryLogger();
  return { handler: createAuthorizerHandler(testConfig([issuer, ambiguous], overrides), { logger, ...(clock && { clock }) }), logger };
}

/** Asserts the outcome API Gateway turns into a 401, the logged reason, and that the token was not logged. */
async function expectUnauthorized(authorization: string | undefined, code: string, overrides: Partial<AuthorizerConfig> = {}): Promise<void> {
  const { handler, logger } = authorizer(overrides);
  const outcome = handler(requestEvent(authorization));
  await expect(outcome).rejects.toThrow(new Error(UNAUTHORIZED));
  await outcome.catch((error: Error) => expect(error.message).toBe(UNAUTHORIZED));
  expect(logger.codes).toEqual([code]);
  expect(logger.lines[0]).toMatchObject({ requestId: 'req-0001' });
  if (authorization !== undefined && authorization.length > 20) expect(logger.text).not.toContain(authorization.slice(-20));
}

const encode = (value: unknown): string => base64url.encode(typeof value === 'string' ? value : JSON.stringify(value));

describe('a valid token', () => {
  it.each(['RS256', 'ES256'] as const)('signed with %s is allowed, with the caller in the context', async (alg) => {
    const { handler, logger } = authorizer();
    const token = await issuer.sign({ sub: 'alice', scope: 'orders:read orders:write' }, { key: issuer.key(alg) });

    const result = await handler(requestEvent(`Bearer ${token}`));

    expect(result.principalId).toBe(`${issuer.issuer}#alice`);
    expect(result.context).toEqual({
      [AUTHORIZER_CONTEXT_KEYS.scopes]: 'orders:read orders:write',
      [AUTHORIZER_CONTEXT_KEYS.clientId]: 'test-client',
      [AUTHORIZER_CONTEXT_KEYS.issuer]: issuer.issuer,
    });
    expect(result.policyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'execute-api:Invoke',
        Resource: [`${API_STAGE_ARN}/GET/orders`, `${API_STAGE_ARN}/GET/orders/*`, `${API_STAGE_ARN}/POST/orders`],
      },
    ]);
    expect(result).not.toHaveProperty('usageIdentifierKey');
    expect(logger.lines).toEqual([expect.objectContaining({ level: 'info', code: 'TOKEN_VALID', effect: 'Allow', requestId: 'req-0001' })]);
    expect(logger.text).not.toContain(token.split('.')[2]);
  });

  it.each(['bearer', 'BEARER', 'BeArEr'])('is found with the scheme spelled %s and a lower-case header name', async (scheme) => {
    const { handler } = authorizer();
    const token = await issuer.sign();
    const result = await handler(requestEvent(undefined, { headers: { authorization: `${scheme} ${token}` } }));
    expect(result.principalId).toBe(`${issuer.issuer}#alice`);
  });

  it('reads scopes from an scp list and the client from azp', async () => {
    const { handler } = authorizer();
    const token = await issuer.sign({ scope: undefined, scp: ['products:read'], client_id: undefined, azp: 'spa' });
    const result = await handler(requestEvent(`Bearer ${token}`));
    expect(result.context).toEqual({ scopes: 'products:read', clientId: 'spa', issuer: issuer.issuer });
  });

  it('passes the usage identifier claim on as usageIdentifierKey when configured', async () => {
    const { handler } = authorizer({ usageIdentifierClaim: 'custom:api_key' });
    const token = await issuer.sign({ 'custom:api_key': 'key-value-of-tier' });
    const result = await handler(requestEvent(`Bearer ${token}`));
    expect(result.usageIdentifierKey).toBe('key-value-of-tier');
  });

  it('with no scope any route accepts gets a Deny for the whole API (a 403 everywhere)', async () => {
    const { handler } = authorizer();
    const token = await issuer.sign({ scope: 'profile email' });
    const result = await handler(requestEvent(`Bearer ${token}`));
    expect(result.policyDocument.Statement).toEqual([{ Effect: 'Deny', Action: 'execute-api:Invoke', Resource: `${API_STAGE_ARN}/*` }]);
  });

  it('of the required token type is allowed, and one of another type is not', async () => {
    const { handler } = authorizer({ tokenType: 'at+jwt' });
    const accessToken = await issuer.sign({}, { header: { typ: 'at+jwt' } });
    await expect(handler(requestEvent(`Bearer ${accessToken}`))).resolves.toMatchObject({ principalId: `${issuer.issuer}#alice` });
    await expectUnauthorized(`Bearer ${await issuer.sign({}, { header: { typ: 'JWT' } })}`, 'TOKEN_TYPE_INVALID', { tokenType: 'at+jwt' });
  });
});

describe('the clock', () => {
  const tolerance = 30;
  const issuedAt = 1_900_000_000;
  const at = (seconds: number) => () => new Date(seconds * 1000);

  it('accepts a token 1 s before its exp leaves the tolerance and rejects it 1 s after', async () => {
    const token = await issuer.sign({}, { now: issuedAt, expiresIn: 60 });
    const exp = issuedAt + 60;
    await expect(authorizer({ clockToleranceSeconds: tolerance }, at(exp + tolerance - 1)).handler(requestEvent(`Bearer ${token}`))).resolves.toBeDefined();
    const late = authorizer({ clockToleranceSeconds: tolerance }, at(exp + tolerance + 1));
    await expect(late.handler(requestEvent(`Bearer ${token}`))).rejects.toThrow(UNAUTHORIZED);
    expect(late.logger.codes).toEqual(['TOKEN_EXPIRED']);
  });

  it('accepts a token 1 s inside its nbf tolerance and rejects it 1 s before', async () => {
    const nbf = issuedAt + 100;
    const token = await issuer.sign({ nbf }, { now: issuedAt, expiresIn: 600 });
    await expect(authorizer({ clockToleranceSeconds: tolerance }, at(nbf - tolerance + 1)).handler(requestEvent(`Bearer ${token}`))).resolves.toBeDefined();
    const early = authorizer({ clockToleranceSeconds: tolerance }, at(nbf - tolerance - 1));
    await expect(early.handler(requestEvent(`Bearer ${token}`))).rejects.toThrow(UNAUTHORIZED);
    expect(early.logger.codes).toEqual(['TOKEN_CLAIM_INVALID']);
  });

  it('rejects a token issued (iat) beyond the tolerance in the future', async () => {
    const token = await issuer.sign({ iat: issuedAt + tolerance + 5 }, { now: issuedAt, expiresIn: 600 });
    const { handler, logger } = authorizer({ clockToleranceSeconds: tolerance }, at(issuedAt));
    await expect(handler(requestEvent(`Bearer ${token}`))).rejects.toThrow(UNAUTHORIZED);
    expect(logger.codes).toEqual(['TOKEN_CLAIM_INVALID']);
  });
});

describe('named attacks: each is a 401, never an allow', () => {
  it('alg none with an empty signature', async () => {
    const token = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ iss: issuer.issuer, aud: issuer.audience, sub: 'mallory', exp: 4_000_000_000 })}.`;
    await expectUnauthorized(`Bearer ${token}`, 'TOKEN_MALFORMED');
  });

  it('alg none with a signature part', async () => {
    const token = `${encode({ alg: 'none' })}.${encode({ iss: issuer.issuer, aud: issuer.audience, sub: 'mallory', exp: 4_000_000_000 })}.${encode('x')}`;
    await expectUnauthorized(`Bearer ${token}`, 'TOKEN_ALG_NOT_ALLOWED');
  });

  it('HS256 signed with the issuer public key as the secret', async () => {
    const pem = await exportSPKI(issuer.key('RS256').publicKey);
    for (const secret of [new TextEncoder().encode(pem), new TextEncoder().encode(JSON.stringify(issuer.key('RS256').publicJwk))]) {
      const token = await new SignJWT({ sub: 'mallory', scope: 'orders:write' })
        .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
        .setIssuer(issuer.issuer)
        .setAudience(issuer.audience)
        .setExpirationTime('5m')
        .sign(secret);
      await expectUnauthorized(`Bearer ${token}`, 'TOKEN_ALG_NOT_ALLOWED');
    }
  });

  it('an algorithm that is asymmetric but not allow-listed', async () => {
    const { privateKey } = await generateKeyPair('PS256');
    const token = await new SignJWT({ sub: 'mallory' })
      .setProtectedHeader({ alg: 'PS256', kid: 'rsa-1' })
      .setIssuer(issuer.issuer)
      .setAudience(issuer.audience)
      .setExpirationTime('5m')
      .sign(privateKey);
    await expectUnauthorized(`Bearer ${token}`, 'TOKEN_ALG_NOT_ALLOWED');
  });

  it('an unknown kid', async () => {
    const rogue = await attacker.sign({ iss: issuer.issuer }, { header: { kid: 'rogue' } });
    await expectUnauthorized(`Bearer ${rogue}`, 'TOKEN_KEY_UNKNOWN');
  });

  it('a known kid with a signature by another key', async () => {
    const forged = await attacker.sign({ iss: issuer.issuer }, { header: { kid: 'rsa-1' } });
    await expectUnauthorized(`Bearer ${forged}`, 'TOKEN_SIGNATURE_INVALID');
  });

  it('no kid when the JWKS holds several keys for the algorithm', async () => {
    const token = await ambiguous.sign({}, { header: { kid: undefined } });
    await expectUnauthorized(`Bearer ${token}`, 'TOKEN_KEY_AMBIGUOUS');
  });

  it.each(['jwk', 'jku', 'x5u'])('an embedded %s header naming the attacker key is ignored and never fetched', async (header) => {
    const before = attacker.fetches;
    const value = header === 'jwk' ? attacker.key().publicJwk : attacker.jwksUri;
    const token = await attacker.sign({ iss: issuer.issuer }, { header: { kid: undefined, [header]: value } });
    await expectUnauthorized(`Bearer ${token}`, 'TOKEN_SIGNATURE_INVALID');
    expect(attacker.fetches).toBe(before);
  });

  it('an expired token', async () => {
    await expectUnauthorized(`Bearer ${await issuer.sign({}, { now: Math.floor(Date.now() / 1000) - 3600, expiresIn: 60 })}`, 'TOKEN_EXPIRED');
  });

  it('a token without exp', async () => {
    await expectUnauthorized(`Bearer ${await issuer.sign({}, { expiresIn: null })}`, 'TOKEN_CLAIM_INVALID');
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['not a string', 42],
  ])('a token whose sub is %s', async (_case, sub) => {
    await expectUnauthorized(`Bearer ${await issuer.sign({ sub })}`, 'TOKEN_CLAIM_INVALID');
  });

  it('a token from an untrusted issuer, whose JWKS is never fetched', async () => {
    const before = attacker.fetches;
    await expectUnauthorized(`Bearer ${await attacker.sign()}`, 'TOKEN_ISSUER_UNTRUSTED');
    expect(attacker.fetches).toBe(before);
  });

  it('a token without iss', async () => {
    await expectUnauthorized(`Bearer ${await issuer.sign({ iss: undefined })}`, 'TOKEN_ISSUER_UNTRUSTED');
  });

  it('a token for another audience', async () => {
    await expectUnauthorized(`Bearer ${await issuer.sign({ aud: 'another-api' })}`, 'TOKEN_CLAIM_INVALID');
  });

  it('a JWE (encrypted token) instead of a JWS', async () => {
    const { publicKey } = await generateKeyPair('RSA-OAEP-256');
    const jwe = await new EncryptJWT({ sub: 'mallory', iss: issuer.issuer, aud: issuer.audience })
      .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM' })
      .setExpirationTime('5m')
      .encrypt(publicKey);
    expect(jwe.split('.')).toHaveLength(5);
    await expectUnauthorized(`Bearer ${jwe}`, 'TOKEN_MALFORMED');
  });

  it.each([2, 4])('a token of %i segments', async (count) => {
    const parts = (await issuer.sign()).split('.');
    const token = count === 2 ? parts.slice(0, 2).join('.') : [...parts, parts[2]].join('.');
    await expectUnauthorized(`Bearer ${token}`, 'TOKEN_MALFORMED');
  });

  it.each(['+', '/', '='])('a token with %s, which base64url does not use', async (character) => {
    const [header, payload, signature] = (await issuer.sign()).split('.');
    await expectUnauthorized(`Bearer ${header}.${payload}${character}.${signature}`, 'TOKEN_MALFORMED');
  });

  it('a payload that is valid base64url of something that is not JSON', async () => {
    const [header, , signature] = (await issuer.sign()).split('.');
    await expectUnauthorized(`Bearer ${header}.${encode('{not json')}.${signature}`, 'TOKEN_MALFORMED');
  });

  it.each([
    ['a string', 'alice'],
    ['an array', [1, 2]],
    ['a number', 42],
    ['null', null],
  ])('a payload that is %s', async (_case, value) => {
    const [header, , signature] = (await issuer.sign()).split('.');
    await expectUnauthorized(`Bearer ${header}.${encode(JSON.stringify(value))}.${signature}`, 'TOKEN_MALFORMED');
  });

  it('a signed token with an unknown crit header', async () => {
    const claims = { iss: issuer.issuer, aud: issuer.audience, sub: 'mallory', exp: Math.floor(Date.now() / 1000) + 300 };
    const plain = issuer.signRaw({ alg: 'RS256', kid: 'rsa-1' }, JSON.stringify(claims));
    await expect(authorizer().handler(requestEvent(`Bearer ${plain}`))).resolves.toMatchObject({ principalId: `${issuer.issuer}#mallory` });
    const token = issuer.signRaw({ alg: 'RS256', kid: 'rsa-1', crit: ['x-gatehouse-unknown'], 'x-gatehouse-unknown': true }, JSON.stringify(claims));
    await expectUnauthorized(`Bearer ${token}`, 'TOKEN_UNSUPPORTED');
  });

  it(`a token over ${MAX_TOKEN_BYTES} bytes, rejected before parsing`, async () => {
    const token = await issuer.sign({ padding: 'x'.repeat(MAX_TOKEN_BYTES) });
    await expectUnauthorized(`Bearer ${token}`, 'TOKEN_TOO_LARGE');
  });

  it('two tokens in one header', async () => {
    const [first, second] = [await issuer.sign(), await issuer.sign({ sub: 'bob' })];
    await expectUnauthorized(`Bearer ${first} ${second}`, 'TOKEN_MALFORMED');
    await expectUnauthorized(`Bearer ${first}, Bearer ${second}`, 'TOKEN_MALFORMED');
  });

  it('two Authorization headers', async () => {
    const [first, second] = [await issuer.sign(), await issuer.sign({ sub: 'bob' })];
    const { handler, logger } = authorizer();
    const event = requestEvent(`Bearer ${first}`, { multiValueHeaders: { Authorization: [`Bearer ${first}`, `Bearer ${second}`] } });
    await expect(handler(event)).rejects.toThrow(UNAUTHORIZED);
    expect(logger.codes).toEqual(['TOKEN_MULTIPLE']);
  });

  it.each(['Basic', 'Token', 'JWT', 'Bearer:'])('the %s scheme', async (scheme) => {
    await expectUnauthorized(`${scheme} ${await issuer.sign()}`, 'TOKEN_SCHEME');
  });

  it('a bare token without a scheme', async () => {
    await expectUnauthorized(await issuer.sign(), 'TOKEN_SCHEME');
  });

  it('no Authorization header, and an empty Bearer', async () => {
    await expectUnauthorized(undefined, 'TOKEN_MISSING');
    await expectUnauthorized('Bearer ', 'TOKEN_MALFORMED');
  });
});

describe('with one trusted issuer, whose iss jose checks after the signature', () => {
  /** The outcome and logged reason from an authorizer that trusts `issuer` alone. */
  async function singleIssuerOutcome(token: string): Promise<{ outcome: unknown; codes: unknown[] }> {
    const logger = new MemoryLogger();
    const handler = createAuthorizerHandler(testConfig([issuer]), { logger });
    const outcome = await handler(requestEvent(`Bearer ${token}`)).catch((error: Error) => error.message);
    return { outcome, codes: logger.codes };
  }

  it.each<[string, () => Promise<string>, string]>([
    ['another issuer, signed with a key under a kid ours publishes too', () => attacker.sign(), 'TOKEN_ISSUER_UNTRUSTED'],
    ['another issuer, under a kid ours does not publish', () => attacker.sign({}, { header: { kid: 'attacker-only' } }), 'TOKEN_ISSUER_UNTRUSTED'],
    ['an issuer it does not name (no iss)', () => issuer.sign({ iss: undefined }), 'TOKEN_ISSUER_UNTRUSTED'],
    ["our iss, signed with another issuer's key", () => attacker.sign({ iss: issuer.issuer }), 'TOKEN_SIGNATURE_INVALID'],
  ])('a token from %s is a 401 named for what it is, and the other JWKS is never fetched', async (_case, token, code) => {
    const before = attacker.fetches;

    expect(await singleIssuerOutcome(await token())).toEqual({ outcome: UNAUTHORIZED, codes: [code] });
    expect(attacker.fetches).toBe(before);
  });

  it('a valid token of that issuer is allowed', async () => {
    expect(await singleIssuerOutcome(await issuer.sign())).toEqual({ outcome: expect.objectContaining({ principalId: 'alice' }), codes: ['TOKEN_VALID'] });
  });
});

describe('events that API Gateway would not send', () => {
  it('fail closed with a 5xx, not a 401 or an allow', async () => {
    const { handler, logger } = authorizer();
    const token = await issuer.sign();
    const wrongArn = requestEvent(`Bearer ${token}`, { methodArn: 'arn:aws:s3:::bucket/key' });
    await expect(handler(wrongArn)).rejects.toThrow('Authorizer failed: EVENT_INVALID');
    const tokenEvent = { type: 'TOKEN', authorizationToken: `Bearer ${token}`, methodArn: wrongArn.methodArn } as unknown as Parameters<AuthorizerHandler>[0];
    await expect(handler(tokenEvent)).rejects.toThrow('Authorizer failed: EVENT_INVALID');
    expect(logger.lines.map((line) => line.level)).toEqual(['error', 'error']);
  });
});

describe('the JWKS endpoint', () => {
  it('is fetched once and then served from the cache', async () => {
    const local = await TestIssuer.start();
    try {
      const logger = new MemoryLogger();
      const handler = createAuthorizerHandler(testConfig([local]), { logger });
      for (let index = 0; index < 5; index += 1) await handler(requestEvent(`Bearer ${await local.sign({ sub: `user-${index}` })}`));
      expect(local.fetches).toBe(1);
    } finally {
      await local.close();
    }
  });

  it('behind a port that nobody listens on fails closed with a logged 5xx', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const logger = new MemoryLogger();
    const config = testConfig([issuer]);
    const handler = createAuthorizerHandler({ ...config, issuers: [{ ...config.issuers[0], jwksUri: `http://127.0.0.1:${port}/jwks.json` }] }, { logger });
    await expect(handler(requestEvent(`Bearer ${await issuer.sign()}`))).rejects.toThrow('Authorizer failed: JWKS_UNAVAILABLE');
    expect(logger.codes).toEqual(['JWKS_UNAVAILABLE']);
  });
});
