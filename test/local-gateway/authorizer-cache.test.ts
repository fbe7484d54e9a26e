/** The authorizer result cache: per identity, for the TTL, off at 0, bounded in size. */
import { AuthorizerCache } from '../../local/gateway/authorizer-cache';

const T0 = Date.UTC(2030, 0, 15, 12);

describe('AuthorizerCache', () => {
  it('keeps a result for the TTL, and not a millisecond longer', () => {
    const cache = new AuthorizerCache<string>(300);
    cache.set('Bearer a', 'alice', T0);
    expect(cache.get('Bearer a', T0 + 299_999)).toBe('alice');
    expect(cache.get('Bearer a', T0 + 300_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keys results by identity', () => {
    const cache = new AuthorizerCache<string>(300);
    cache.set('Bearer a', 'alice', T0);
    expect(cache.get('Bearer b', T0)).toBeUndefined();
  });

  it('keeps nothing with a TTL of 0', () => {
    const cache = new AuthorizerCache<string>(0);
    cache.set('Bearer a', 'alice', T0);
    expect(cache.get('Bearer a', T0)).toBeUndefined();
  });

  it('drops the oldest entry when full', () => {
    const cache = new AuthorizerCache<number>(300, 2);
    cache.set('a', 1, T0);
    cache.set('b', 2, T0);
    cache.set('c', 3, T0);
    expect([cache.get('a', T0), cache.get('b', T0), cache.get('c', T0)]).toEqual([undefined, 2, 3]);
  });

  it.each([-1, 1.5, 3601])('refuses a TTL of %s seconds, as API Gateway does', (ttl) => {
    expect(() => new AuthorizerCache(ttl)).toThrow(/authorizerCacheTtlSeconds must be whole seconds from 0 to 3600/);
  });
});
