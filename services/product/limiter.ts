/**
 * A bulkhead per key (product id): at most `concurrency` writes to one product at a time in this
 * process, at most `queue` waiting, and no wait past the request's deadline. DynamoDB serialises
 * writes to one item anyway, so letting 200 requests at one hot item at once only makes all of them
 * slow; this answers the surplus at once with PRODUCT_BUSY (503, retry) while the rest go through.
 */
import { ServiceError } from '../common/errors';

/** Options of {@link KeyedLimiter}. */
export interface KeyedLimiterOptions {
  /** Writes at once per key. @default - 4 */
  readonly concurrency?: number;
  /** Waiting calls per key before new ones are refused. @default - 64 */
  readonly queue?: number;
}

interface Lane {
  active: number;
  readonly waiting: (() => void)[];
}

/** Limits concurrent calls per key. */
export class KeyedLimiter {
  private readonly lanes = new Map<string, Lane>();
  private readonly concurrency: number;
  private readonly queue: number;

  constructor(options: KeyedLimiterOptions = {}) {
    this.concurrency = options.concurrency ?? 4;
    this.queue = options.queue ?? 64;
  }

  /** Runs `fn` when a slot for `key` is free; PRODUCT_BUSY if the queue is full or `signal` aborts first. */
  async run<T>(key: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = { active: 0, waiting: [] };
      this.lanes.set(key, lane);
    }
    // A waiter is handed the slot of the call that finishes, so `active` never overshoots.
    if (lane.active >= this.concurrency) await this.wait(key, lane, signal);
    else lane.active += 1;
    try {
      return await fn();
    } finally {
      const next = lane.waiting.shift();
      if (next !== undefined) next();
      else {
        lane.active -= 1;
        if (lane.active === 0) this.lanes.delete(key);
      }
    }
  }

  private wait(key: string, lane: Lane, signal?: AbortSignal): Promise<void> {
    if (lane.waiting.length >= this.queue || signal?.aborted === true) return Promise.reject(busy(key));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const index = lane.waiting.indexOf(go);
        if (index >= 0) lane.waiting.splice(index, 1);
        reject(busy(key));
      };
      const go = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      lane.waiting.push(go);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function busy(key: string): ServiceError {
  return new ServiceError('PRODUCT_BUSY', `too many orders for product ${key} at once; retry shortly`);
}
