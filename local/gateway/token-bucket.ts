/**
 * Token-bucket arithmetic, as API Gateway throttles: a bucket holds at most `burstLimit` tokens, gains
 * `rateLimit` tokens a second, and each request takes one. A new bucket starts full, so a quiet client
 * may send a whole burst at once.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
 * Pure: every function takes the time and returns a new state.
 */
import type { RouteThrottle } from '../../lib/routes/route-spec';

/** A bucket's tokens at a moment (milliseconds since the epoch). */
export interface BucketState {
  readonly tokens: number;
  readonly atMs: number;
}

// Refill adds fractions (rate × elapsed): a sum such as 0.1 × 10 may land a hair under 1.
const EPSILON = 1e-9;

/** A full bucket at `nowMs`. */
export function fullBucket(limit: RouteThrottle, nowMs: number): BucketState {
  return { tokens: limit.burstLimit, atMs: nowMs };
}

/** The bucket at `nowMs`: refilled for the time since its state, never above the burst limit. */
export function refill(state: BucketState, limit: RouteThrottle, nowMs: number): BucketState {
  // A clock that steps back (NTP, a test) refills nothing rather than draining the bucket.
  const elapsedMs = Math.max(0, nowMs - state.atMs);
  return { tokens: Math.min(limit.burstLimit, state.tokens + (elapsedMs * limit.rateLimit) / 1000), atMs: Math.max(nowMs, state.atMs) };
}

/** Whether the bucket (already refilled to now) has a token for one more request. */
export function hasToken(state: BucketState): boolean {
  return state.tokens >= 1 - EPSILON;
}

/** The bucket after one request took a token; call only when {@link hasToken}. */
export function takeToken(state: BucketState): BucketState {
  return { tokens: Math.max(0, state.tokens - 1), atMs: state.atMs };
}
