/**
 * Placing an order, exactly once per idempotency key, in at most four sequential round trips:
 *
 *   1. claim the order item (PENDING, under a fresh lease token)         DynamoDB
 *   2. reserve the stock under that token                                 HTTP → product service
 *   3.   (the product service's conditional write per item, in parallel)  DynamoDB
 *   4. confirm the order, only if the lease is still ours (fencing)       DynamoDB
 *   answer 201; then commit the reservations (after the answer: if it never happens, the sweeper does it)
 *
 * A retry, or a concurrent duplicate, gets the confirmed order back; a key reused for other items is
 * refused. A lease that ran out (its holder stalled or died) is taken over by the next request with the
 * key, which carries on under the same order id, so the reservations carry over too.
 *
 * Nothing is given back unless we know it is ours to give: a write whose answer was lost is read back
 * first, and if even that fails the request answers 503 and leaves everything as it is, for the retry
 * (same key) or the sweeper to finish. Every call runs within the request's deadline.
 */
import { randomUUID } from 'node:crypto';
import { currentDeadline, Deadline, withDeadline } from '../common/deadline';
import { ServiceError } from '../common/errors';
import type { ItemQuantity, Money, PricedItem } from '../common/items';
import { assertDistinctProducts, hashOf } from '../common/items';
import type { Order, OrderRecord, OrderStore } from './orders';
import { orderIdOf, toOrder } from './orders';
import type { ProductReservations } from './product-client';
import { REFUSALS } from './product-client';

/** A request to place an order. */
export interface PlaceOrderRequest {
  readonly customerId: string;
  readonly idempotencyKey: string;
  readonly items: readonly ItemQuantity[];
  readonly requestId: string;
}

/** The placed order, and whether it was placed by an earlier request with the same key. */
export interface PlaceOrderResult {
  readonly order: Order;
  readonly replayed: boolean;
  /** Work to do after answering (commit the reservations); it never throws. */
  readonly after?: () => Promise<void>;
}

/** What placing an order needs. */
export interface PlaceOrderDeps {
  readonly orders: OrderStore;
  readonly products: ProductReservations;
  /** Told of failures that do not fail the request (a commit that could not be done). */
  readonly warn: (fields: Record<string, unknown>, message: string) => void;
  /** How long a request holds its order before another may take over, in ms; longer than the request deadline. @default - 15000 */
  readonly leaseMs?: number;
  /** Time kept back from the reserve call for confirming and answering, in ms. @default - 1500, or a fifth of the budget if less */
  readonly confirmReserveMs?: number;
  /** @default - 50 */
  readonly pollMs?: number;
  /** @default - Date.now */
  readonly now?: () => number;
}

/** Default lease: well beyond the default request deadline (8 s), so a live holder never loses it. */
export const DEFAULT_LEASE_MS = 15_000;

/** Places an order (see the module comment). */
export async function placeOrder(deps: PlaceOrderDeps, request: PlaceOrderRequest): Promise<PlaceOrderResult> {
  assertDistinctProducts(request.items);
  const now = deps.now ?? Date.now;
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const deadline = currentDeadline() ?? Deadline.in(8_000, now);
  const requestHash = hashOf(request.items);
  const id = orderIdOf(request.customerId, request.idempotencyKey);

  for (;;) {
    deadline.assertTimeFor('place the order');
    const fresh: OrderRecord = {
      id,
      customerId: request.customerId,
      idempotencyKey: request.idempotencyKey,
      requestHash,
      status: 'PENDING',
      leaseToken: randomUUID(),
      leaseExpiresAt: now() + leaseMs,
    };
    if (await deps.orders.claim(fresh)) return fulfil(deps, request, fresh, deadline);

    const existing = await deps.orders.record(id);
    if (existing !== undefined) {
      if (existing.requestHash !== requestHash) {
        throw new ServiceError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for an order with other items');
      }
      const confirmed = toOrder(existing);
      if (confirmed !== undefined) return { order: confirmed, replayed: true };
      if (existing.leaseExpiresAt <= now()) {
        // Its holder died or stalled: carry on under the same order id, which the reservations are keyed by.
        const taken = await deps.orders.takeOver(existing, randomUUID(), now() + leaseMs);
        if (taken !== undefined) return fulfil(deps, request, taken, deadline);
        continue;
      }
    }
    if (existing !== undefined && deadline.remainingMs() <= (deps.pollMs ?? 50) * 2) {
      throw new ServiceError('IDEMPOTENCY_IN_PROGRESS', 'an order with this Idempotency-Key is still being placed; retry shortly with the same key');
    }
    if (existing !== undefined) await new Promise((resolve) => setTimeout(resolve, deps.pollMs ?? 50));
  }
}

/** Reserves and confirms under the lease `held`; gives back only what is known to be ours. */
async function fulfil(deps: PlaceOrderDeps, request: PlaceOrderRequest, held: OrderRecord, deadline: Deadline): Promise<PlaceOrderResult> {
  const productIds = request.items.map((item) => item.productId);
  let lines: PricedItem[];
  try {
    // Keep time back to confirm: a reservation that cannot be confirmed in time is wasted.
    const reserveBy = new Deadline(deadline.at - (deps.confirmReserveMs ?? Math.min(1_500, Math.floor(deadline.remainingMs() / 5))));
    lines = await withDeadline(reserveBy, () => deps.products.reserve(held.id, request.items, held.leaseToken, request.requestId));
  } catch (error) {
    // A refusal reserved nothing (the product service released any partial reservation itself); any
    // other failure may have reserved some: release under our token (a no-op for what is not ours).
    const refused = error instanceof ServiceError && REFUSALS.has(error.code);
    await giveBack(deps, request, held, refused ? [] : productIds);
    throw error;
  }

  let total: Money;
  try {
    total = totalOf(lines);
  } catch (error) {
    await giveBack(deps, request, held, productIds);
    throw error;
  }

  let outcome: Awaited<ReturnType<OrderStore['confirm']>>;
  try {
    outcome = await deps.orders.confirm(held, lines, total, new Date((deps.now ?? Date.now)()).toISOString());
  } catch (error) {
    // Neither the write nor the read-back answered: the order may be confirmed. Give nothing back;
    // a retry with the same key finds it confirmed, or takes the lease over once it runs out.
    throw new ServiceError('DEPENDENCY_UNAVAILABLE', 'the order could not be confirmed in time; retry with the same Idempotency-Key', { cause: error });
  }
  const current = outcome.current;
  if (!outcome.confirmed && current?.status === 'PENDING' && current.leaseToken === held.leaseToken) {
    // Read back still ours and PENDING: the confirm did not land. Give the order up first, so that a
    // confirm still on its way can no longer land, and only then the stock.
    if (await deps.orders.abandon(held).catch(() => false)) {
      await giveBack(deps, request, held, productIds);
      throw new ServiceError('DEPENDENCY_UNAVAILABLE', 'the order could not be confirmed in time; retry with the same Idempotency-Key');
    }
    const landed = toOrder((await deps.orders.record(held.id)) ?? held);
    if (landed === undefined) throw new ServiceError('DEPENDENCY_UNAVAILABLE', 'the order could not be confirmed in time; retry with the same Idempotency-Key');
    return { order: landed, replayed: false, after: commitAfter(deps, request, landed, productIds) };
  }
  const order = current === undefined ? undefined : toOrder(current);
  if (order === undefined) {
    // Our lease was taken over (we stalled past it) or fenced by the sweeper: its new holder owns the
    // order and the stock now; ours to give back is nothing.
    throw new ServiceError(
      'IDEMPOTENCY_IN_PROGRESS',
      'this order was taken over by another request with the same Idempotency-Key; retry with it to get the order',
    );
  }
  return { order, replayed: !outcome.confirmed, after: commitAfter(deps, request, order, productIds) };
}

/** The commit of a confirmed order's reservations, to run after the answer; it never throws. */
function commitAfter(deps: PlaceOrderDeps, request: PlaceOrderRequest, order: Order, productIds: readonly string[]): () => Promise<void> {
  return async () => {
    await withDeadline(Deadline.in(5_000), () => deps.products.commit(order.id, productIds, request.requestId)).catch((error: unknown) => {
      // The stock stays taken either way; the sweeper commits what is left.
      deps.warn({ orderId: order.id, error: error instanceof Error ? error.message : String(error) }, 'could not commit reservations; the sweeper will');
    });
  };
}

/**
 * Gives the stock back under our token, then the order (so a retry with the key starts afresh). If
 * either fails, what is left is released by the sweeper once the lease has run out.
 */
async function giveBack(deps: PlaceOrderDeps, request: PlaceOrderRequest, held: OrderRecord, productIds: readonly string[]): Promise<void> {
  try {
    if (productIds.length > 0) await deps.products.release(held.id, productIds, held.leaseToken, request.requestId);
    await deps.orders.abandon(held);
  } catch (error) {
    deps.warn(
      { orderId: held.id, error: error instanceof Error ? error.message : String(error) },
      'could not give the order back; the sweeper will after its lease',
    );
  }
}

/** The sum of the lines, all in one currency. */
export function totalOf(lines: readonly PricedItem[]): Money {
  const currencies = new Set(lines.map((line) => line.unitPrice.currency));
  if (currencies.size !== 1) throw new ServiceError('MIXED_CURRENCIES', `an order's products must share one currency, got ${[...currencies].join(', ')}`);
  const amount = lines.reduce((sum, line) => sum + line.unitPrice.amount * line.quantity, 0);
  if (!Number.isSafeInteger(amount)) throw new ServiceError('TOTAL_TOO_LARGE', 'the order total is too large');
  return { amount, currency: lines[0].unitPrice.currency };
}
