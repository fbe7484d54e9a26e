/**
 * API keys, usage plan tiers and every throttle a request passes, with the numbers the CDK gateway
 * gives API Gateway: the stage throttle (all requests), a route's ceiling (all callers of that route,
 * the stage's method setting), the key's tier (per key), the route's throttle for that key (the usage
 * plan's per-method throttle, never above the tier) and the key's quota. Pure: the caller passes the time.
 */
import { perClientThrottle } from '../../lib/routes/route-spec';
import type { RouteThrottle } from '../../lib/routes/route-spec';
import type { UsagePlanTier } from '../../lib/routes/gateway-spec';
import { validateThrottle, validateTiers } from '../../lib/routes/gateway-spec';
import { currentQuota, hasQuota, useQuota } from './quota';
import type { QuotaState } from './quota';
import type { BucketState } from './token-bucket';
import { fullBucket, hasToken, refill, takeToken } from './token-bucket';

/** A usage plan tier of the gateway spec, and its API keys. */
export interface LocalTier extends UsagePlanTier {
  /** The API keys in this tier (sent as `x-api-key`, or returned by the authorizer as `usageIdentifierKey`). */
  readonly apiKeys: readonly string[];
}

/** Whether a request may pass, and if not, which limit stopped it. */
export type Admission = 'ADMITTED' | 'THROTTLED' | 'QUOTA_EXCEEDED';

/** One request, as the limits see it. */
export interface MeteredRequest {
  /** The route, as `routeKey` names it. */
  readonly routeKey: string;
  /** The route's per-client throttle, if it has one: metered per API key, capped at the key's tier. */
  readonly routeThrottle?: RouteThrottle;
  /** The route's ceiling for all clients together, if it has one. */
  readonly routeCeiling?: RouteThrottle;
  /** The request's API key; it must be one {@link UsagePlans.tierOf} knows. */
  readonly apiKey: string;
}

/** The tiers, their keys, and the state of every bucket and quota. */
export class UsagePlans {
  private readonly tiers = new Map<string, LocalTier>();
  private stageBucket: BucketState | undefined;
  private readonly routeBuckets = new Map<string, BucketState>();
  private readonly clientRouteBuckets = new Map<string, BucketState>();
  private readonly keyBuckets = new Map<string, BucketState>();
  private readonly quotas = new Map<string, QuotaState>();

  /** @throws Error naming the tier, the field and the rule, when the limits are not ones API Gateway takes. */
  constructor(
    tiers: readonly LocalTier[],
    private readonly stageThrottle: RouteThrottle,
  ) {
    // The gateway spec's rules, the same the CDK gateway checks.
    validateThrottle('stageThrottle', stageThrottle);
    validateTiers(tiers);
    for (const tier of tiers) {
      for (const key of tier.apiKeys) {
        if (typeof key !== 'string' || key.length === 0) throw new Error(`tiers.${tier.name}.apiKeys: an API key must be a non-empty string`);
        // Never the key itself in a message: it is a credential.
        const other = this.tiers.get(key);
        if (other !== undefined)
          throw new Error(`tiers.${tier.name}.apiKeys: a key of this tier is also a key of ${other.name}; a key belongs to one usage plan`);
        this.tiers.set(key, tier);
      }
    }
  }

  /** The tier of an API key; undefined for a key no tier has. */
  tierOf(apiKey: string): LocalTier | undefined {
    return this.tiers.get(apiKey);
  }

  /**
   * Checks every limit in order, and takes from each only when all of them let the request pass: a
   * refused request costs the caller nothing.
   * @throws Error when the key is in no tier (check {@link tierOf} first).
   */
  admit(request: MeteredRequest, nowMs: number): Admission {
    const tier = this.tiers.get(request.apiKey);
    if (tier === undefined) throw new Error('admit: the API key is in no tier');
    const stage = refill(this.stageBucket ?? fullBucket(this.stageThrottle, nowMs), this.stageThrottle, nowMs);
    const ceiling = request.routeCeiling === undefined ? undefined : refillIn(this.routeBuckets, request.routeKey, request.routeCeiling, nowMs);
    const perClient = perClientThrottle({ throttle: request.routeThrottle }, tier);
    // A key and a route name never contain a newline: the pair is unambiguous.
    const clientRouteId = `${request.apiKey}\n${request.routeKey}`;
    const route = perClient === undefined ? undefined : refillIn(this.clientRouteBuckets, clientRouteId, perClient, nowMs);
    const key = refillIn(this.keyBuckets, request.apiKey, tier, nowMs);
    const quota = tier.quota === undefined ? undefined : currentQuota(this.quotas.get(request.apiKey), tier.quota, nowMs);

    this.stageBucket = stage;
    if (ceiling !== undefined) this.routeBuckets.set(request.routeKey, ceiling);
    if (route !== undefined) this.clientRouteBuckets.set(clientRouteId, route);
    this.keyBuckets.set(request.apiKey, key);
    if (quota !== undefined) this.quotas.set(request.apiKey, quota);

    if (!hasToken(stage) || (ceiling !== undefined && !hasToken(ceiling)) || (route !== undefined && !hasToken(route)) || !hasToken(key)) return 'THROTTLED';
    if (quota !== undefined && tier.quota !== undefined && !hasQuota(quota, tier.quota)) return 'QUOTA_EXCEEDED';

    this.stageBucket = takeToken(stage);
    if (ceiling !== undefined) this.routeBuckets.set(request.routeKey, takeToken(ceiling));
    if (route !== undefined) this.clientRouteBuckets.set(clientRouteId, takeToken(route));
    this.keyBuckets.set(request.apiKey, takeToken(key));
    if (quota !== undefined) this.quotas.set(request.apiKey, useQuota(quota));
    return 'ADMITTED';
  }
}

function refillIn(buckets: Map<string, BucketState>, id: string, limit: RouteThrottle, nowMs: number): BucketState {
  return refill(buckets.get(id) ?? fullBucket(limit, nowMs), limit, nowMs);
}
