/** Token-bucket arithmetic: capacity is the burst, refill is the rate per second, a new bucket is full. */
import { fullBucket, hasToken, refill, takeToken } from '../../local/gateway/token-bucket';
import type { BucketState } from '../../local/gateway/token-bucket';

const T0 = Date.UTC(2030, 0, 15, 12);
const limit = { rateLimit: 2, burstLimit: 3 };

/** Takes as many tokens as the bucket gives at `nowMs`; returns how many and the state after. */
function drain(state: BucketState, nowMs: number): { taken: number; state: BucketState } {
  let current = refill(state, limit, nowMs);
  let taken = 0;
  while (hasToken(current)) {
    current = takeToken(current);
    taken += 1;
  }
  return { taken, state: current };
}

describe('token bucket', () => {
  it('starts full: a whole burst passes at once, the next request does not', () => {
    const { taken, state } = drain(fullBucket(limit, T0), T0);
    expect(taken).toBe(3);
    expect(hasToken(state)).toBe(false);
  });

  it('refills rateLimit tokens a second, one at a time', () => {
    const empty = drain(fullBucket(limit, T0), T0).state;
    expect(hasToken(refill(empty, limit, T0 + 499))).toBe(false);
    expect(hasToken(refill(empty, limit, T0 + 500))).toBe(true);
    expect(drain(empty, T0 + 1000).taken).toBe(2);
  });

  it('never holds more than the burst, however long it sat idle', () => {
    const empty = drain(fullBucket(limit, T0), T0).state;
    expect(refill(empty, limit, T0 + 3_600_000).tokens).toBe(3);
  });

  it('adds fractions exactly enough: ten 100 ms steps at 10/s give one token', () => {
    const tenPerSecond = { rateLimit: 10, burstLimit: 1 };
    let state = takeToken(fullBucket(tenPerSecond, T0));
    for (let step = 1; step <= 10; step += 1) state = refill(state, tenPerSecond, T0 + step * 100);
    expect(hasToken(state)).toBe(true);
  });

  it('refills nothing when the clock steps back, and keeps its own time', () => {
    const empty = drain(fullBucket(limit, T0), T0).state;
    const back = refill(empty, limit, T0 - 10_000);
    expect(back).toEqual({ tokens: 0, atMs: T0 });
  });

  it('with a burst of 0 lets nothing through, and with a rate of 0 never refills', () => {
    expect(hasToken(fullBucket({ rateLimit: 100, burstLimit: 0 }, T0))).toBe(false);
    const noRate = { rateLimit: 0, burstLimit: 1 };
    const spent = takeToken(fullBucket(noRate, T0));
    expect(hasToken(refill(spent, noRate, T0 + 86_400_000))).toBe(false);
  });
});
