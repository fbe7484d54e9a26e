/**
 * API Gateway's authorizer result cache: a result is kept per identity source value (here the
 * Authorization header) for the TTL and then applies to every route, which is why the authorizer's
 * policy lists every route the token may call. Only results are cached; an error never is.
 * Pure: the caller passes the time.
 */

import { validateAuthorizerCacheTtlSeconds } from '../../lib/routes/gateway-spec';

/** Entries kept at most; past it the oldest go first, so a flood of distinct tokens cannot grow memory. */
export const MAX_CACHED_RESULTS = 10_000;

// API Gateway's bound and rule, the gateway spec's (the CDK authorizer's too).
export { MAX_AUTHORIZER_CACHE_TTL_SECONDS } from '../../lib/routes/gateway-spec';

/** Authorizer results by identity, each until its TTL runs out. */
export class AuthorizerCache<T> {
  private readonly entries = new Map<string, { readonly value: T; readonly expiresAtMs: number }>();
  private readonly ttlMs: number;

  /**
   * @param ttlSeconds how long a result is kept; 0 turns the cache off.
   * @throws Error when the TTL is not whole seconds from 0 to 3600, as API Gateway requires.
   */
  constructor(
    ttlSeconds: number,
    private readonly maxEntries = MAX_CACHED_RESULTS,
  ) {
    validateAuthorizerCacheTtlSeconds(ttlSeconds);
    this.ttlMs = ttlSeconds * 1000;
  }

  /** The result cached for `identity`, if it has not expired at `nowMs`. */
  get(identity: string, nowMs: number): T | undefined {
    const entry = this.entries.get(identity);
    if (entry === undefined) return undefined;
    if (nowMs >= entry.expiresAtMs) {
      this.entries.delete(identity);
      return undefined;
    }
    return entry.value;
  }

  /** Keeps `value` for `identity` from `nowMs` for the TTL (nothing, with the cache off). */
  set(identity: string, value: T, nowMs: number): void {
    if (this.ttlMs === 0) return;
    this.entries.delete(identity);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(identity, { value, expiresAtMs: nowMs + this.ttlMs });
  }

  /** How many results are held (expired ones included until they are next looked up). */
  get size(): number {
    return this.entries.size;
  }
}
