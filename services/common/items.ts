/** What both services know about an order's items. */
import { createHash } from 'node:crypto';
import { ServiceError } from './errors';

/** An amount in integer minor units (cents) and its ISO 4217 currency. */
export interface Money {
  readonly amount: number;
  readonly currency: string;
}

/** A product and how many of it. */
export interface ItemQuantity {
  readonly productId: string;
  readonly quantity: number;
}

/** An item with the unit price it was reserved at. */
export interface PricedItem extends ItemQuantity {
  readonly unitPrice: Money;
}

/** Each product once per order: stock is reserved per (order, product), so a repeat would be taken once. */
export function assertDistinctProducts(items: readonly ItemQuantity[]): void {
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const first = seen.get(item.productId);
    if (first !== undefined)
      throw new ServiceError('VALIDATION_FAILED', `body/items/${index}/productId repeats body/items/${first}/productId; list each product once`);
    seen.set(item.productId, index);
  });
}

/**
 * A stable hash of a request body, to tell a retry from a different request with the same key. The
 * JSON is canonical (object keys sorted at every depth), so a client whose serializer orders keys
 * differently on a retry is still recognised; array order is kept, since it is part of the request.
 */
export function hashOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('base64url');
}

/** JSON with object keys sorted at every depth. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((entry: unknown) => canonicalJson(entry ?? null)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, entry]) => entry !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonicalJson(entry)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
