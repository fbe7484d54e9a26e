/** Usage plans: stage, route and tier buckets and the quota, checked in order, taken from only when all pass. */
import type { LocalTier } from '../../local/gateway/usage-plans';
import { UsagePlans } from '../../local/gateway/usage-plans';

const T0 = Date.UTC(2030, 0, 15, 12);
const basic: LocalTier = { name: 'basic', rateLimit: 1, burstLimit: 2, quota: { limit: 5, period: 'DAY' }, apiKeys: ['key-basic-1', 'key-basic-2'] };
const pro: LocalTier = { name: 'pro', rateLimit: 100, burstLimit: 100, apiKeys: ['key-pro'] };
const wide = { rateLimit: 1000, burstLimit: 1000 };

const admitMany = (plans: UsagePlans, count: number, request: Parameters<UsagePlans['admit']>[0], nowMs: number) =>
  Array.from({ length: count }, () => plans.admit(request, nowMs));

describe('UsagePlans', () => {
  it('finds the tier of a key, and none for an unknown key', () => {
    const plans = new UsagePlans([basic, pro], wide);
    expect(plans.tierOf('key-basic-2')?.name).toBe('basic');
    expect(plans.tierOf('nope')).toBeUndefined();
  });

  it("throttles each key on its tier's burst, separately from the tier's other keys", () => {
    const plans = new UsagePlans([basic], wide);
    expect(admitMany(plans, 3, { routeKey: 'GET /a', apiKey: 'key-basic-1' }, T0)).toEqual(['ADMITTED', 'ADMITTED', 'THROTTLED']);
    expect(plans.admit({ routeKey: 'GET /a', apiKey: 'key-basic-2' }, T0)).toBe('ADMITTED');
    expect(plans.admit({ routeKey: 'GET /a', apiKey: 'key-basic-1' }, T0 + 1000)).toBe('ADMITTED');
  });

  it('throttles the whole stage across keys', () => {
    const plans = new UsagePlans([basic, pro], { rateLimit: 1, burstLimit: 2 });
    expect(plans.admit({ routeKey: 'GET /a', apiKey: 'key-pro' }, T0)).toBe('ADMITTED');
    expect(plans.admit({ routeKey: 'GET /a', apiKey: 'key-basic-1' }, T0)).toBe('ADMITTED');
    expect(plans.admit({ routeKey: 'GET /a', apiKey: 'key-pro' }, T0)).toBe('THROTTLED');
  });

  it('throttles a route on its own limit, across keys, and leaves other routes alone', () => {
    const plans = new UsagePlans([pro], wide);
    const post = { routeKey: 'POST /orders', routeThrottle: { rateLimit: 1, burstLimit: 1 }, apiKey: 'key-pro' };
    expect(admitMany(plans, 2, post, T0)).toEqual(['ADMITTED', 'THROTTLED']);
    expect(plans.admit({ routeKey: 'GET /orders', apiKey: 'key-pro' }, T0)).toBe('ADMITTED');
  });

  it("meters a route's throttle per key, as each usage plan's per-method throttle does: one key cannot use up another's", () => {
    const proTwo: LocalTier = { ...pro, name: 'pro2', apiKeys: ['key-pro-2'] };
    const plans = new UsagePlans([pro, proTwo, basic], wide);
    const post = (apiKey: string) => ({ routeKey: 'POST /orders', routeThrottle: { rateLimit: 3, burstLimit: 3 }, apiKey });
    expect(admitMany(plans, 4, post('key-pro'), T0)).toEqual(['ADMITTED', 'ADMITTED', 'ADMITTED', 'THROTTLED']);
    expect(admitMany(plans, 3, post('key-pro-2'), T0)).toEqual(['ADMITTED', 'ADMITTED', 'ADMITTED']);
    // Never above the key's own tier: basic's burst of 2 is below the route's 3.
    expect(admitMany(plans, 3, post('key-basic-1'), T0)).toEqual(['ADMITTED', 'ADMITTED', 'THROTTLED']);
  });

  it("holds all keys together to the route's ceiling", () => {
    const proTwo: LocalTier = { ...pro, name: 'pro2', apiKeys: ['key-pro-2'] };
    const plans = new UsagePlans([pro, proTwo], wide);
    const post = (apiKey: string) => ({
      routeKey: 'POST /orders',
      routeThrottle: { rateLimit: 3, burstLimit: 3 },
      routeCeiling: { rateLimit: 4, burstLimit: 4 },
      apiKey,
    });
    expect(admitMany(plans, 3, post('key-pro'), T0)).toEqual(['ADMITTED', 'ADMITTED', 'ADMITTED']);
    expect(admitMany(plans, 2, post('key-pro-2'), T0)).toEqual(['ADMITTED', 'THROTTLED']);
  });

  it('counts a quota per key per period, and starts afresh in the next period', () => {
    const plans = new UsagePlans([basic], wide);
    const results = Array.from({ length: 6 }, (_, index) => plans.admit({ routeKey: 'GET /a', apiKey: 'key-basic-1' }, T0 + index * 10_000));
    expect(results).toEqual(['ADMITTED', 'ADMITTED', 'ADMITTED', 'ADMITTED', 'ADMITTED', 'QUOTA_EXCEEDED']);
    expect(plans.admit({ routeKey: 'GET /a', apiKey: 'key-basic-2' }, T0 + 60_000)).toBe('ADMITTED');
    expect(plans.admit({ routeKey: 'GET /a', apiKey: 'key-basic-1' }, Date.UTC(2030, 0, 16))).toBe('ADMITTED');
  });

  it('takes nothing from any limit for a refused request', () => {
    const plans = new UsagePlans([pro], { rateLimit: 0, burstLimit: 2 });
    const post = { routeKey: 'POST /orders', routeThrottle: { rateLimit: 0, burstLimit: 0 }, apiKey: 'key-pro' };
    expect(admitMany(plans, 5, post, T0)).toEqual(Array(5).fill('THROTTLED'));
    // The stage's two tokens are still there.
    expect(admitMany(plans, 3, { routeKey: 'GET /orders', apiKey: 'key-pro' }, T0)).toEqual(['ADMITTED', 'ADMITTED', 'THROTTLED']);
  });

  it.each([
    ['no tiers', [], wide, /at least one usage plan tier/],
    ['a tier twice', [basic, basic], wide, /basic is listed twice/],
    ['a key in two tiers', [basic, { ...pro, apiKeys: ['key-basic-1'] }], wide, /also a key of basic/],
    ['a negative stage rate', [basic], { rateLimit: -1, burstLimit: 1 }, /stageThrottle.rateLimit/],
    ['a fractional burst', [{ ...basic, burstLimit: 1.5 }], wide, /tiers.basic.burstLimit/],
    ['a zero quota', [{ ...basic, quota: { limit: 0, period: 'DAY' as const } }], wide, /tiers.basic.quota.limit/],
  ])('refuses %s', (_name, tiers, stage, message) => {
    expect(() => new UsagePlans(tiers, stage)).toThrow(message);
  });

  it('never puts a key in an error message', () => {
    expect(() => new UsagePlans([basic, { ...pro, apiKeys: ['key-basic-1'] }], wide)).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('key-basic-1') }),
    );
  });
});
