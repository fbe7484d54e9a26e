/**
 * Usage plan quotas: requests per API key per period, counted from the start of the period in UTC.
 * The CDK gateway sets no quota offset, so periods start as API Gateway's offset 0 does: a day at
 * 00:00 UTC, a week on Sunday at 00:00 UTC, a month on its first day at 00:00 UTC.
 * https://docs.aws.amazon.com/apigateway/latest/api/API_QuotaSettings.html
 * Pure: every function takes the time and returns a new state.
 */

import type { Quota, QuotaPeriod } from '../../lib/routes/gateway-spec';

// One definition, the gateway spec's, for both renderers.
export { QUOTA_PERIODS } from '../../lib/routes/gateway-spec';
export type { Quota, QuotaPeriod } from '../../lib/routes/gateway-spec';

/** Requests an API key has used in the period that started at `periodStartMs`. */
export interface QuotaState {
  readonly periodStartMs: number;
  readonly used: number;
}

const DAY_MS = 86_400_000;

/** When the period holding `nowMs` started (milliseconds since the epoch, UTC). */
export function periodStart(period: QuotaPeriod, nowMs: number): number {
  const date = new Date(nowMs);
  const dayStart = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  switch (period) {
    case 'DAY':
      return dayStart;
    case 'WEEK':
      return dayStart - date.getUTCDay() * DAY_MS;
    case 'MONTH':
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
  }
}

/** When the period holding `nowMs` ends and the next one starts. */
export function nextPeriodStart(period: QuotaPeriod, nowMs: number): number {
  const start = new Date(periodStart(period, nowMs));
  switch (period) {
    case 'DAY':
      return start.getTime() + DAY_MS;
    case 'WEEK':
      return start.getTime() + 7 * DAY_MS;
    case 'MONTH':
      // Date.UTC rolls month 12 over into January of the next year.
      return Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1);
  }
}

/** The state at `nowMs`: a new period starts with nothing used. */
export function currentQuota(state: QuotaState | undefined, quota: Quota, nowMs: number): QuotaState {
  const start = periodStart(quota.period, nowMs);
  return state !== undefined && state.periodStartMs === start ? state : { periodStartMs: start, used: 0 };
}

/** Whether the quota (current to now) has room for one more request. */
export function hasQuota(state: QuotaState, quota: Quota): boolean {
  return state.used < quota.limit;
}

/** The state after one more request. */
export function useQuota(state: QuotaState): QuotaState {
  return { periodStartMs: state.periodStartMs, used: state.used + 1 };
}
