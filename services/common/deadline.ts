/**
 * Request deadlines. A request gets one deadline when it arrives; every DynamoDB, Cloud Map and
 * product-service call it makes is cut off at that deadline (and at its own per-call cap), so the
 * request as a whole answers before the gateway's integration timeout instead of hanging. The deadline
 * travels with the request through AsyncLocalStorage, and to the product service in a header as the
 * milliseconds left (a duration, not a time: the two hosts' clocks need not agree).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ServiceError } from './errors';

/** Header that carries the caller's remaining budget in milliseconds (like gRPC's grpc-timeout). */
export const DEADLINE_HEADER = 'x-deadline-ms';

/** When a request must have answered by. */
export class Deadline {
  /** @param at epoch milliseconds by `now`'s clock */
  constructor(
    readonly at: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A deadline `ms` from now. */
  static in(ms: number, now: () => number = Date.now): Deadline {
    return new Deadline(now() + ms, now);
  }

  /** Milliseconds left, never below zero. */
  remainingMs(): number {
    return Math.max(0, this.at - this.now());
  }

  /** Throws DEPENDENCY_UNAVAILABLE when less than `reserveMs` is left: too late to start `what`. */
  assertTimeFor(what: string, reserveMs = 0): void {
    if (this.remainingMs() <= reserveMs) throw new ServiceError('DEPENDENCY_UNAVAILABLE', `no time left to ${what} before the request's deadline`);
  }

  /** A signal that aborts at the deadline, or after `capMs` if that comes first. */
  signal(capMs?: number): AbortSignal {
    const remaining = this.remainingMs();
    return AbortSignal.timeout(Math.max(1, capMs === undefined ? remaining : Math.min(capMs, remaining)));
  }
}

const current = new AsyncLocalStorage<Deadline>();

/** Runs `fn` with `deadline` as the current request's deadline. */
export function withDeadline<T>(deadline: Deadline, fn: () => Promise<T>): Promise<T> {
  return current.run(deadline, fn);
}

/** The current request's deadline, if any. */
export function currentDeadline(): Deadline | undefined {
  return current.getStore();
}

/**
 * Options for an AWS SDK `send`: abort at the current request's deadline. Outside a request (the
 * sweeper, start-up), `fallbackMs` bounds the call instead.
 */
export function sdkOptions(fallbackMs = 5_000): { abortSignal: AbortSignal } {
  const deadline = currentDeadline();
  return { abortSignal: deadline === undefined ? AbortSignal.timeout(fallbackMs) : deadline.signal() };
}

/**
 * Options for a write whose answer may have to be read back: it is cut off early enough (a quarter of
 * what is left, at most `keepMs`) that the read-back still has time before the deadline.
 */
export function sdkWriteOptions(keepMs = 500, fallbackMs = 5_000): { abortSignal: AbortSignal } {
  const deadline = currentDeadline();
  if (deadline === undefined) return { abortSignal: AbortSignal.timeout(fallbackMs) };
  const remaining = deadline.remainingMs();
  return { abortSignal: deadline.signal(remaining - Math.min(keepMs, Math.floor(remaining / 4))) };
}

/** Whether an error means the call ran out of time or was cut off, so its outcome is unknown. */
export function isTimeout(error: unknown): boolean {
  // Not `instanceof Error`: the DOMException an AbortSignal rejects with is none in Node 20.
  if (typeof error !== 'object' || error === null) return false;
  const { name, code } = error as { name?: unknown; code?: unknown };
  return name === 'AbortError' || name === 'TimeoutError' || code === 'ETIMEDOUT';
}

/**
 * Whether a failed call may have been applied without our hearing of it, so that its outcome must be
 * read back before anything is given back: a timeout, a lost connection, a throttle or a 5xx. A 4xx
 * client error was refused, and a programming error is no dependency's fault.
 */
export function isRetryable(error: unknown): boolean {
  if (isTimeout(error)) return true;
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if ((error as { $fault?: string }).$fault === 'server' || (status !== undefined && status >= 500)) return true;
  if (/Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded/.test(error.name)) return true;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|EPIPE|ECONNABORTED|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)$/.test(code);
}
