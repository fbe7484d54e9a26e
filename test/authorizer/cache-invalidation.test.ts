/**
 * The authorizer's caches against a JWKS that changes: a refetch that drops a key forgets the tokens
 * verified with it and the keys picked from it at once, not when the cache age runs out; each cache
 * keeps its bound; the policy memo cannot give one token's scopes another token's document.
 */
import type { ScopeTable } from '../../lambda/authorizer/config';
import { RemoteKeySet } from '../../lambda/authorizer/jwks';
import { MAX_MEMOIZED_POLICIES, memoKey, PolicyBuilder } from '../../lambda/authorizer/policy';
import { JwtVerifier } from '../../lambda/authorizer/verify';
import { API_STAGE_ARN, testConfig } from '../support/authorizer';
import { TestIssuer } from '../support/test-issuer';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await TestIssuer.start({ extraRsaKeys: 1 });
}, 60_000);
afterAll(async () => {
  await issuer?.close();
});
afterEach(() => {
  issuer.published = [...issuer.keys];
});

const [RSA_1, EC_1, RSA_2] = ['rsa-1', 'ec-1', 'rsa-2'];
const keyNamed = (kid: string) => {
  const found = issuer.keys.find((key) => key.kid === kid);
  if (found === undefined) throw new Error(`no key ${kid}`);
  return found;
};
const publish = (...kids: string[]): void => {
  issuer.published = kids.map(keyNamed);
};

/** A verifier with no cooldown, so a token naming an unknown kid refetches the JWKS at once. */
function verifier(): JwtVerifier {
  const config = testConfig([issuer]);
  return new JwtVerifier({ ...config, jwks: { ...config.jwks, cooldownMs: 0 } });
}

describe('verified tokens', () => {
  it('are forgotten when a refetch drops their key: the token is refused at once, not after the cache age', async () => {
    publish(RSA_1, EC_1);
    const tokens = verifier();
    const old = await issuer.sign({}, { key: keyNamed(RSA_1) });
    const kept = await issuer.sign({}, { key: keyNamed(EC_1) });
    await tokens.verify(old);
    await tokens.verify(kept);
    expect(tokens.signatureChecks).toBe(2);

    // Rotation: rsa-2 replaces rsa-1, and the first token signed with it makes the verifier refetch.
    publish(RSA_2, EC_1);
    await tokens.verify(await issuer.sign({}, { key: keyNamed(RSA_2) }));
    expect(tokens.signatureChecks).toBe(3);

    await expect(tokens.verify(old)).rejects.toMatchObject({ code: 'TOKEN_KEY_UNKNOWN' });
    expect(tokens.signatureChecks).toBe(4);
    // A token whose key is still published stays cached.
    await tokens.verify(kept);
    expect(tokens.signatureChecks).toBe(4);
  });

  it('are forgotten when any refetch (the prefetch too) drops their key', async () => {
    publish(RSA_1, EC_1);
    const tokens = verifier();
    const old = await issuer.sign({}, { key: keyNamed(RSA_1) });
    await tokens.verify(old);
    publish(EC_1);
    await tokens.prefetchKeys();
    await expect(tokens.verify(old)).rejects.toMatchObject({ code: 'TOKEN_KEY_UNKNOWN' });
  });

  it('without a kid, are forgotten when any key of their issuer is dropped', async () => {
    publish(RSA_1, EC_1);
    const tokens = verifier();
    const kidless = await issuer.sign({}, { key: keyNamed(EC_1), header: { kid: undefined } });
    await tokens.verify(kidless);
    publish(EC_1);
    await tokens.prefetchKeys();
    await tokens.verify(kidless);
    expect(tokens.signatureChecks).toBe(2);
  });

  it('are kept by a refetch that drops nothing', async () => {
    publish(RSA_1, EC_1);
    const tokens = verifier();
    const token = await issuer.sign({}, { key: keyNamed(RSA_1) });
    await tokens.verify(token);
    publish(RSA_1, EC_1, RSA_2);
    await tokens.prefetchKeys();
    await tokens.verify(token);
    expect(tokens.signatureChecks).toBe(1);
  });

  it('stay within their bound however many distinct tokens come', async () => {
    const config = testConfig([issuer]);
    const tokens = new JwtVerifier(config, { verifiedTokenCacheSize: 5 });
    for (let index = 0; index < 12; index += 1) await tokens.verify(await issuer.sign({ jti: `t-${index}` }));
    expect(tokens.cachedTokens).toBe(5);
  });
});

describe('RemoteKeySet', () => {
  const settings = { timeoutMs: 2_000, cooldownMs: 0, cacheMaxAgeMs: 600_000 };

  it('names the kids a refetch dropped, a kid whose material changed among them, and nothing on the first fetch', async () => {
    const dropped: (string | undefined)[][] = [];
    const keys = new RemoteKeySet(new URL(issuer.jwksUri), settings, Date.now, (kids) => dropped.push([...kids]));
    publish(RSA_1, EC_1, RSA_2);
    await keys.reload();
    expect(dropped).toEqual([]);

    publish(RSA_2, EC_1);
    await keys.reload();
    expect(dropped).toEqual([[RSA_1]]);

    // The same kid with other key material: what was trusted under it must go too.
    issuer.published = [{ ...keyNamed(RSA_1), kid: RSA_2 }, keyNamed(EC_1)];
    await keys.reload();
    expect(dropped).toEqual([[RSA_1], [RSA_2]]);
  });

  it('forgets the keys it picked when a refetch drops their kid', async () => {
    publish(RSA_1, EC_1);
    const keys = new RemoteKeySet(new URL(issuer.jwksUri), settings);
    await keys.getKey({ alg: 'RS256', kid: RSA_1 }, { protected: 'header-rsa-1', payload: '', signature: '' });
    expect(keys.pickedFor('header-rsa-1')).toBeDefined();
    publish(EC_1);
    await keys.reload();
    expect(keys.pickedFor('header-rsa-1')).toBeUndefined();
    await expect(keys.getKey({ alg: 'RS256', kid: RSA_1 }, { protected: 'header-rsa-1', payload: '', signature: '' })).rejects.toMatchObject({
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });
  });
});

describe('policy memo', () => {
  const table: ScopeTable = { any: [], byScope: { a: ['GET/a'], b: ['GET/b'], 'a b': ['DELETE/everything'] } };

  it('keys a scope containing a space apart from the scopes it spells', () => {
    expect(memoKey(API_STAGE_ARN, ['a b'])).not.toBe(memoKey(API_STAGE_ARN, ['a', 'b']));
    expect(memoKey(API_STAGE_ARN, ['a', 'b c'])).not.toBe(memoKey(API_STAGE_ARN, ['a b', 'c']));
    expect(memoKey(`${API_STAGE_ARN} a`, ['b'])).not.toBe(memoKey(API_STAGE_ARN, ['a', 'b']));
  });

  it.each([
    ['the spaced scope first', [['a b'], ['a', 'b']]],
    ['the split scopes first', [['a', 'b'], ['a b']]],
  ])('gives each list its own document, %s', (_order, lists) => {
    const builder = new PolicyBuilder(table);
    const resources = (scopes: string[]) => builder.build(`${API_STAGE_ARN}/GET/a`, scopes).Statement[0];
    const documents = new Map(lists.map((scopes) => [scopes.join('|'), resources(scopes)]));
    expect(documents.get('a b')).toMatchObject({ Effect: 'Allow', Resource: [`${API_STAGE_ARN}/DELETE/everything`] });
    expect(documents.get('a|b')).toMatchObject({ Effect: 'Allow', Resource: [`${API_STAGE_ARN}/GET/a`, `${API_STAGE_ARN}/GET/b`] });
  });

  it(`keeps at most ${MAX_MEMOIZED_POLICIES} documents`, () => {
    const builder = new PolicyBuilder(table);
    for (let index = 0; index <= MAX_MEMOIZED_POLICIES * 2; index += 1) builder.build(`${API_STAGE_ARN}/GET/a`, [`scope-${index}`]);
    expect(builder.memoized).toBeLessThanOrEqual(MAX_MEMOIZED_POLICIES);
    expect(builder.memoized).toBeGreaterThan(0);
  });
});
