/** Quota periods in UTC, as API Gateway counts them with offset 0: days at midnight, weeks on Sunday, months on the 1st. */
import { currentQuota, hasQuota, nextPeriodStart, periodStart, useQuota } from '../../local/gateway/quota';
import type { Quota } from '../../local/gateway/quota';

// A Wednesday, late in the day.
const WEDNESDAY = Date.UTC(2030, 0, 16, 23, 59, 59, 999);

describe('quota periods', () => {
  it.each([
    ['DAY', Date.UTC(2030, 0, 16), Date.UTC(2030, 0, 17)],
    ['WEEK', Date.UTC(2030, 0, 13), Date.UTC(2030, 0, 20)],
    ['MONTH', Date.UTC(2030, 0, 1), Date.UTC(2030, 1, 1)],
  ] as const)('a %s starts and ends at the UTC boundary', (period, start, next) => {
    expect(periodStart(period, WEDNESDAY)).toBe(start);
    expect(nextPeriodStart(period, WEDNESDAY)).toBe(next);
    expect(periodStart(period, next)).toBe(next);
    expect(periodStart(period, next - 1)).toBe(start);
  });

  it('rolls a December over into January, and February into a leap March', () => {
    expect(nextPeriodStart('MONTH', Date.UTC(2030, 11, 31, 12))).toBe(Date.UTC(2031, 0, 1));
    expect(nextPeriodStart('MONTH', Date.UTC(2028, 1, 29, 12))).toBe(Date.UTC(2028, 2, 1));
  });

  it('starts a week on Sunday, the Sunday itself included', () => {
    const sunday = Date.UTC(2030, 0, 13, 0, 0, 0, 1);
    expect(new Date(sunday).getUTCDay()).toBe(0);
    expect(periodStart('WEEK', sunday)).toBe(Date.UTC(2030, 0, 13));
    expect(periodStart('WEEK', Date.UTC(2030, 0, 19, 23))).toBe(Date.UTC(2030, 0, 13));
  });
});

describe('quota counting', () => {
  const quota: Quota = { limit: 2, period: 'DAY' };

  it('allows `limit` requests in a period, then none until the next period, which starts from zero', () => {
    let state = currentQuota(undefined, quota, WEDNESDAY - 1000);
    state = useQuota(state);
    state = useQuota(currentQuota(state, quota, WEDNESDAY - 500));
    expect(hasQuota(currentQuota(state, quota, WEDNESDAY), quota)).toBe(false);

    const tomorrow = currentQuota(state, quota, WEDNESDAY + 1);
    expect(tomorrow).toEqual({ periodStartMs: Date.UTC(2030, 0, 17), used: 0 });
    expect(hasQuota(tomorrow, quota)).toBe(true);
  });
});
