/**
 * Placing an order, exactly once per idempotency key: claim the key, reserve the stock, store the
 * order, mark the key complete. A retry, or a concurrent duplicate, gets the stored order back; a key
 * reused for another body is refused; a request that fails gives the key and the stock back.
 */
import { randomUUID } from 'node:crypto';
import { ServiceError } from '../common/errors';
import type { ItemQuantity, Money, PricedItem } from '../common/items';
import { assertDistinctProducts, hashOf } from '../common/items';
import type { IdempotencyRecord, IdempotencyStore, Order, OrderStore } from './orders';
import type { ProductReservations } from './product-client';

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
}

/** What placing an order needs. */
export interface PlaceOrderDeps {
  readonly orders: OrderStore;
  readonly keys: IdempotencyStore;
  readonly products: ProductReservations;
  /** Told of failures that do not fail the request (a commit that could not be done). */
  readonly warn: (fields: Record<string, unknown>, message: string) => void;
  /** How long a request holds its key before another may take over, in ms. @default - 15000 */
  readonly leaseMs?: number;
  /** How long a duplicate waits for the request holding the key to finish, in ms. @default - 5000 */
  readonly waitMs?: number;
  /** @default - 25 */
  readonly pollMs?: number;
  /** @default - Date.now */
  readonly now?: () => number;
}

/** A day: an idempotency key is a retry window, not a permanent record. */
const KEY_RETENTION_SECONDS = 24 * 60 * 60;

/** Places an order (see the module comment). */
export async function placeOrder(deps: PlaceOrderDeps, request: PlaceOrderRequest): Promise<PlaceOrderResult> {
  assertDistinctProducts(request.items);
  const now = deps.now ?? Date.now;
  const leaseMs = deps.leaseMs ?? 15_000;
  const requestHash = hashOf(request.items);
  const giveUpAt = now() + (deps.waitMs ?? 5_000);

  for (;;) {
    const started = now();
    const claim = await deps.keys.claim({
      customerId: request.customerId,
      idempotencyKey: request.idempotencyKey,
      requestHash,
      orderId: randomUUID(),
      status: 'PENDING',
      leaseToken: randomUUID(),
      leaseExpiresAt: started + leaseMs,
      expiresAt: Math.floor(started / 1000) + KEY_RETENTION_SECONDS,
    });
    if (claim.claimed) return { order: await fulfil(deps, request, claim.record), replayed: false };

    const existing = claim.existing;
    if (existing !== undefined) {
      if (existing.requestHash !== requestHash) {
        throw new ServiceError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for an order with other items');
      }
      if (existing.status === 'COMPLETED') {
        const order = await deps.orders.get(existing.orderId);
        if (order === undefined) throw new Error(`idempotency key of order ${existing.orderId} is complete but the order is missing`);
        return { order, replayed: true };
      }
      if (existing.leaseExpiresAt <= started) {
        // Its holder died or stalled: carry on with the same order id, which the reservations are keyed by.
        const taken = await deps.keys.takeOver(existing, randomUUID(), started + leaseMs);
        if (taken !== undefined) return { order: await fulfil(deps, request, taken), replayed: false };
      }
    }
    if (now() >= giveUpAt) {
      throw new ServiceError('IDEMPOTENCY_IN_PROGRESS', 'an order with this Idempotency-Key is still being placed; retry shortly');
    }
    await new Promise((resolve) => setTimeout(resolve, deps.pollMs ?? 25));
  }
}

/** Reserves, stores, completes; on failure gives back the key and then the stock. */
async function fulfil(deps: PlaceOrderDeps, request: PlaceOrderRequest, key: IdempotencyRecord): Promise<Order> {
  const productIds = request.items.map((item) => item.productId);
  let lines: PricedItem[];
  try {
    lines = await deps.products.reserve(key.orderId, request.items, request.requestId);
  } catch (error) {
    // The product service releases a partial reservation itself; a call that never got an answer may
    // still have reserved, so release too (it is idempotent).
    await giveBack(deps, request, key, error instanceof ServiceError && error.code !== 'DEPENDENCY_UNAVAILABLE' ? [] : productIds);
    throw error;
  }

  let order: Order;
  try {
    order = { id: key.orderId, customerId: request.customerId, items: lines, total: totalOf(lines), status: 'CONFIRMED', createdAt: new Date((deps.now ?? Date.now)()).toISOString() };
    if ((await deps.orders.put(order)) === 'exists') {
      // A request that took over the key stored it first; answer with what it stored.
      order = (await deps.orders.get(key.orderId)) ?? order;
    }
  } catch (error) {
    await giveBack(deps, request, key, productIds);
    throw error;
  }

  if (!(await deps.keys.complete(key))) deps.warn({ orderId: order.id }, 'idempotency lease lost; the request that took over completes the key');
  await deps.products.commit(order.id, productIds, request.requestId).catch((error: unknown) => {
    // The stock stays taken either way; only the reservation markers stay behind.
    deps.warn({ orderId: order.id, error: error instanceof Error ? error.message : String(error) }, 'could not commit reservations');
  });
  return order;
}

/** Gives the key up and then the stock, unless another request took the key over (it owns both now). */
async function giveBack(deps: PlaceOrderDeps, request: PlaceOrderRequest, key: IdempotencyRecord, productIds: readonly string[]): Promise<void> {
  if (!(await deps.keys.abandon(key))) return;
  if (productIds.length === 0) return;
  await deps.products.release(key.orderId, productIds, request.requestId).catch((error: unknown) => {
    deps.warn({ orderId: key.orderId, error: error instanceof Error ? error.message : String(error) }, 'could not release reservations');
  });
}

/** The sum of the lines, all in one currency. */
export function totalOf(lines: readonly PricedItem[]): Money {
  const currencies = new Set(lines.map((line) => line.unitPrice.currency));
  if (currencies.size !== 1) throw new ServiceError('MIXED_CURRENCIES', `an order's products must share one currency, got ${[...currencies].join(', ')}`);
  const amount = lines.reduce((sum, line) => sum + line.unitPrice.amount * line.quantity, 0);
  if (!Number.isSafeInteger(amount)) throw new ServiceError('TOTAL_TOO_LARGE', 'the order total is too large');
  return { amount, currency: lines[0].unitPrice.currency };
}
