/**
 * JWKS faults: an endpoint that is down, slow, or answers something that is not a JWKS must fail the
 * request closed with a 5xx (never an allow, never a 401 that API Gateway would cache), the authorizer
 * must recover when the endpoint does, and unknown kids must not turn it into a JWKS flood.
 */
import { createAuthorizerHandler, UNAUTHORIZED } from '../../lambda/authorizer/handler';
import type { AuthorizerHandler } from '../../lambda/authorizer/handler';
import type { AuthorizerConfig } from '../../lib/auth/authorizer-contract';
import { MemoryLogger, requestEvent, testConfig } from '../support/authorizer';
import { TestIssuer } from '../support/test-issuer';
import type { JwksMode } from '../support/test-issuer';

const JWKS_FAILURE = 'Authorizer failed: JWKS_UNAVAILABLE';
let issuer: TestIssuer;
let attacker: TestIssuer;

beforeAll(async () => {
  [issuer, attacker] = await Promise.all([TestIssuer.start({ slowMs: 1_000 }), TestIssuer.start()]);
});
afterAll(async () => {
  await Promise.all([issuer.close(), attacker.close()]);
});
beforeEach(() => {
  issuer.mode = 'ok';
  issuer.fetches = 0;
});

/** An authorizer on a clock the test moves (`advance`), so that cache ages and cooldowns pass without waiting. */
function freshAuthorizer(jwks: Partial<AuthorizerConfig['jwks']> = {}): { handler: AuthorizerHandler; logger: MemoryLogger; advance: (ms: number) => void } {
  const logger = new MemoryLogger();
  const config = testConfig([issuer]);
  let nowMs = Date.now();
  const handler = createAuthorizerHandler({ ...config, jwks: { ...config.jwks, timeoutMs: 300, ...jwks } }, { logger, clock: () => new Date(nowMs) });
  return { handler, logger, advance: (ms) => void (nowMs += ms) };
}

describe.each<JwksMode>(['down', 'slow', 'not-json', 'html', 'redirect', 'error-500'])('a JWKS endpoint that is %s', (mode) => {
  it('fails closed with a logged 5xx, then recovers once the endpoint is back', async () => {
    const { handler, logger } = freshAuthorizer();
    const token = await issuer.sign();
    issuer.mode = mode;

    await expect(handler(requestEvent(`Bearer ${token}`))).rejects.toThrow(JWKS_FAILURE);
    expect(logger.lines).toEqual([expect.objectContaining({ level: 'error', code: 'JWKS_UNAVAILABLE', requestId: 'req-0001' })]);

    issuer.mode = 'ok';
    await expect(handler(requestEvent(`Bearer ${token}`))).resolves.toMatchObject({ principalId: 'alice' });
  });
});

it('a redirect is never followed to the address it names', async () => {
  const { handler } = freshAuthorizer();
  issuer.mode = 'redirect';
  await expect(handler(requestEvent(`Bearer ${await issuer.sign()}`))).rejects.toThrow(JWKS_FAILURE);
  expect(issuer.fetches).toBe(1);
});

it('an endpoint that goes down after the keys are cached keeps serving the cached keys until they age out', async () => {
  const { handler, advance } = freshAuthorizer({ cacheMaxAgeMs: 1_000 });
  const token = await issuer.sign();
  await handler(requestEvent(`Bearer ${token}`));
  issuer.mode = 'error-500';

  advance(900);
  await expect(handler(requestEvent(`Bearer ${token}`))).resolves.toMatchObject({ principalId: 'alice' });

  advance(200);
  await expect(handler(requestEvent(`Bearer ${token}`))).rejects.toThrow(JWKS_FAILURE);
});

it('a flood of unknown kids fetches the JWKS at most once per cooldown', async () => {
  const { handler, logger } = freshAuthorizer({ cooldownMs: 60_000 });
  await handler(requestEvent(`Bearer ${await issuer.sign()}`));
  expect(issuer.fetches).toBe(1);

  // The first unknown kid after the initial fetch is within the cooldown too: no fetch at all.
  const flood = await Promise.all(Array.from({ length: 200 }, (_, index) => attacker.sign({ iss: issuer.issuer }, { header: { kid: `rogue-${index}` } })));
  const outcomes = await Promise.allSettled(flood.map((token) => handler(requestEvent(`Bearer ${token}`))));

  expect(outcomes.every((outcome) => outcome.status === 'rejected' && (outcome.reason as Error).message === UNAUTHORIZED)).toBe(true);
  expect(issuer.fetches).toBe(1);
  expect(new Set(logger.codes.slice(1))).toEqual(new Set(['TOKEN_KEY_UNKNOWN']));
});

it('after the cooldown, an unknown kid fetches once more (a key rotated in is picked up), concurrent ones share the fetch', async () => {
  const { handler, advance } = freshAuthorizer({ cooldownMs: 200 });
  await handler(requestEvent(`Bearer ${await issuer.sign()}`));
  advance(250);

  // The issuer rotates in a new key: tokens with its kid verify after one refetch.
  const rotated = { ...attacker.key(), kid: 'rotated-1', publicJwk: { ...attacker.key().publicJwk, kid: 'rotated-1' } };
  issuer.published = [...issuer.published, rotated];
  const tokens = await Promise.all(Array.from({ length: 50 }, () => issuer.sign({}, { key: rotated })));
  const results = await Promise.all(tokens.map((token) => handler(requestEvent(`Bearer ${token}`))));

  expect(results.every((result) => result.principalId === 'alice')).toBe(true);
  expect(issuer.fetches).toBe(2);
  issuer.published = issuer.published.filter((key) => key.kid !== 'rotated-1');
});
