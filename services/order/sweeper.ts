/**
 * The reservation sweeper: releases every reservation that no order owns once its lease has run out,
 * and commits the reservations of confirmed orders whose commit never happened (the process died after
 * answering, or the commit call failed). It runs in every order service task, on an interval; several
 * at once are safe, because every write it makes is conditional:
 *
 * - order CONFIRMED                   → commit (idempotent).
 * - order absent                      → release, only if the reservation still holds the token seen.
 * - order PENDING, lease running      → leave it: its holder is at work.
 * - order PENDING, lease run out      → fence: take the lease over (conditional on the token seen), so
 *                                       its old holder can no longer confirm; then release under the
 *                                       reservation's token and abandon the order, so a retry with the
 *                                       key starts afresh.
 *
 * A reservation younger than the lease is not looked at: its holder is still at work. The order is
 * always claimed before its stock is reserved, so an absent order means one that was given up.
 */
import { randomUUID } from 'node:crypto';
import { Deadline, withDeadline } from '../common/deadline';
import type { OrderStore } from './orders';
import type { OpenReservation } from '../common/reservations';
import type { ProductReservations } from './product-client';

/** Options of {@link ReservationSweeper}. */
export interface SweeperOptions {
  readonly orders: OrderStore;
  readonly products: ProductReservations;
  /** The order lease, in ms: a reservation is swept only when older than this. */
  readonly leaseMs: number;
  /** Told of a sweep that failed (it is tried again next interval). */
  readonly warn: (fields: Record<string, unknown>, message: string) => void;
  /** Budget of each call, in ms. @default - 5000 */
  readonly callBudgetMs?: number;
  /** @default - Date.now */
  readonly now?: () => number;
}

/** What one sweep did. */
export interface SweepReport {
  seen: number;
  committed: number;
  released: number;
  left: number;
}

/** Finds and settles orphaned reservations. */
export class ReservationSweeper {
  private running?: Promise<SweepReport>;
  private timer?: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly options: SweeperOptions) {
    this.now = options.now ?? Date.now;
  }

  /** One pass over every open reservation; concurrent calls share the pass. */
  sweepOnce(): Promise<SweepReport> {
    this.running ??= this.sweep().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /**
   * Sweeps every `intervalMs` (with up to 20% jitter, so tasks started together do not sweep in
   * step); the timer does not keep the process alive.
   */
  start(intervalMs: number): void {
    const next = (): void => {
      this.timer = setTimeout(
        () => {
          this.sweepOnce()
            .catch((error: unknown) => this.options.warn({ error: error instanceof Error ? error.message : String(error) }, 'sweep failed'))
            .finally(() => {
              if (this.timer !== undefined) next();
            });
        },
        intervalMs * (0.8 + Math.random() * 0.4),
      );
      this.timer.unref();
    };
    next();
  }

  /** Stops the interval and waits for a pass in progress. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  private async sweep(): Promise<SweepReport> {
    const report: SweepReport = { seen: 0, committed: 0, released: 0, left: 0 };
    let cursor: string | undefined;
    do {
      const page = await this.call(() => this.options.products.open(cursor, `sweep-${randomUUID()}`));
      for (const reservation of page.items) {
        report.seen += 1;
        const outcome = await this.settle(reservation).catch((error: unknown) => {
          this.options.warn(
            { orderId: reservation.orderId, productId: reservation.productId, error: error instanceof Error ? error.message : String(error) },
            'could not sweep a reservation',
          );
          return 'left' as const;
        });
        report[outcome] += 1;
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return report;
  }

  private async settle(reservation: OpenReservation): Promise<'committed' | 'released' | 'left'> {
    const { orders, products, leaseMs } = this.options;
    const requestId = `sweep-${randomUUID()}`;
    if (this.now() - reservation.reservedAt < leaseMs) return 'left';
    const order = await this.call(() => orders.record(reservation.orderId));
    if (order?.status === 'CONFIRMED') {
      await this.call(() => products.commit(reservation.orderId, [reservation.productId], requestId));
      return 'committed';
    }
    if (order === undefined) {
      await this.call(() => products.release(reservation.orderId, [reservation.productId], reservation.token, requestId));
      return 'released';
    }
    if (order.leaseExpiresAt > this.now()) return 'left';
    const fenced = await this.call(() => orders.takeOver(order, `sweeper-${randomUUID()}`, this.now() + leaseMs));
    if (fenced === undefined) return 'left';
    await this.call(() => products.release(reservation.orderId, [reservation.productId], reservation.token, requestId));
    await this.call(() => orders.abandon(fenced));
    return 'released';
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    // Deadlines run on the real clock even when `now` is injected: they bound real calls.
    return withDeadline(Deadline.in(this.options.callBudgetMs ?? 5_000), fn);
  }
}
