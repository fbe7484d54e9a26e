/**
 * The cache of verified tokens: a repeated token skips the signature check but never the clock, and
 * the cache is bounded in entries and in age. Also the JWKS prefetch at init.
 */
import { createAuthorizerHandler } from '../../lambda/authorizer/handler';
import { JwtVerifier } from '../../lambda/authorizer/verify';
import { MemoryLogger, requestEvent, testConfig } from '../support/authorizer';
import { TestIssuer } from '../support/test-issuer';

const START = 1_900_000_000;
let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await TestIssuer.start();
});
afterAll(async () => {
  await issuer.close();
});

function verifier(clock: { now: number }, options: { size?: number; maxAgeMs?: number } = {}): JwtVerifier {
  const config = testConfig([issuer]);
  return new JwtVerifier(
    { ...config, jwks: { ...config.jwks, ...(options.maxAgeMs !== undefined && { cacheMaxAgeMs: options.maxAgeMs }) } },
    { clock: () => new Date(clock.now * 1000), ...(options.size !== undefined && { verifiedTokenCacheSize: options.size }) },
  );
}

it('answers a repeated token from the cache, with the same caller, and checks its signature once', async () => {
  const clock = { now: START };
  const tokens = verifier(clock);
  const token = await issuer.sign({}, { now: START, expiresIn: 300 });
  const first = await tokens.verify(token);
  expect(await tokens.verify(token)).toEqual(first);
  expect(tokens.signatureChecks).toBe(1);
});

it('re-checks exp on every hit: a cached token is refused once it expires', async () => {
  const clock = { now: START };
  const tokens = verifier(clock);
  const token = await issuer.sign({}, { now: START, expiresIn: 60 });
  await tokens.verify(token);
  clock.now = START + 60 + 29;
  await expect(tokens.verify(token)).resolves.toBeDefined();
  clock.now = START + 60 + 31;
  await expect(tokens.verify(token)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
  expect(tokens.signatureChecks).toBe(1);
});

it('re-checks nbf on every hit, should the clock step back', async () => {
  const clock = { now: START };
  const tokens = verifier(clock);
  const token = await issuer.sign({ nbf: START }, { now: START, expiresIn: 300 });
  await tokens.verify(token);
  clock.now = START - 31;
  await expect(tokens.verify(token)).rejects.toMatchObject({ code: 'TOKEN_CLAIM_INVALID' });
});

it('keeps at most the configured number of tokens, dropping the oldest', async () => {
  const clock = { now: START };
  const tokens = verifier(clock, { size: 1 });
  const [first, second] = [await issuer.sign({ sub: 'a' }, { now: START }), await issuer.sign({ sub: 'b' }, { now: START })];
  await tokens.verify(first);
  await tokens.verify(second);
  await tokens.verify(first);
  expect(tokens.signatureChecks).toBe(3);
});

it('forgets a token once the JWKS cache age has passed, so a key removed from the JWKS is not trusted longer', async () => {
  const clock = { now: START };
  const tokens = verifier(clock, { maxAgeMs: 2_000 });
  const token = await issuer.sign({}, { now: START, expiresIn: 300 });
  await tokens.verify(token);
  clock.now = START + 1;
  await tokens.verify(token);
  expect(tokens.signatureChecks).toBe(1);
  clock.now = START + 2;
  await tokens.verify(token);
  expect(tokens.signatureChecks).toBe(2);
});

it('never caches a rejection: a bad token is checked, and refused, every time', async () => {
  const clock = { now: START };
  const tokens = verifier(clock);
  const [header, payload] = (await issuer.sign({}, { now: START })).split('.');
  const forged = `${header}.${payload}.${'A'.repeat(342)}`;
  for (let attempt = 0; attempt < 2; attempt += 1) await expect(tokens.verify(forged)).rejects.toMatchObject({ code: 'TOKEN_SIGNATURE_INVALID' });
  expect(tokens.signatureChecks).toBe(2);
});

it('with prefetchKeys, fetches the JWKS at init, and the first request uses it', async () => {
  const local = await TestIssuer.start();
  try {
    const handler = createAuthorizerHandler(testConfig([local]), { logger: new MemoryLogger(), prefetchKeys: true });
    for (let waited = 0; local.fetches === 0 && waited < 2_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(local.fetches).toBe(1);
    await handler(requestEvent(`Bearer ${await local.sign()}`));
    expect(local.fetches).toBe(1);
  } finally {
    await local.close();
  }
});
