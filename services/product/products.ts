/**
 * The catalog and its stock, in DynamoDB. Stock is reserved per order with conditional writes, so it
 * never goes below zero, and a reservation is recorded on the product item itself in the same write
 * (`reservations`: order id → quantity, the lease token of the order's holder, and when), so that
 * reserving twice for one order changes nothing and releasing gives back exactly what was taken.
 * (DynamoDB transactions would allow a separate table, but the local DynamoDB API, dynalite, has none;
 * one item per product keeps every write atomic without them.)
 *
 * A reservation ends in one of two ways. Released: its quantity goes back to `stock`, only if the
 * caller holds its token (fencing: a holder whose lease was taken over cannot give back what the new
 * holder now relies on). Committed: its quantity moves to `sold` and the order id stays a while in
 * `settled`, so that a reserve call for the same order that arrives late (a retry, a stalled holder)
 * finds the order already settled and takes nothing. Per product, always:
 * stock + Σ reservations + sold = initial stock + received (stock added by PATCH).
 */
import { createHash, randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Page, PageRequest } from '../common/pagination';
import { encodeCursor } from '../common/pagination';
import { ServiceError } from '../common/errors';
import type { ItemQuantity, Money, PricedItem } from '../common/items';
import { assertDistinctProducts, hashOf } from '../common/items';
import { currentDeadline, sdkOptions } from '../common/deadline';
import type { OpenReservation } from '../common/reservations';
import { KeyedLimiter } from './limiter';

/** The fields a client sets. */
export interface ProductFields {
  readonly name: string;
  readonly description?: string;
  readonly price: Money;
  readonly stock: number;
}

/** A product as the API returns it. */
export interface Product extends ProductFields {
  readonly id: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A reservation on a product item: quantity, lease token of the order's holder, when (epoch ms). */
interface Marker {
  readonly q: number;
  readonly t: string;
  readonly at: number;
}

interface ProductItem extends Product {
  readonly reservations: Readonly<Record<string, Marker>>;
  /** Orders whose reservations were committed, and when (epoch ms). */
  readonly settled?: Readonly<Record<string, number>>;
  /** Units committed to orders. */
  readonly sold?: number;
  /** Units added or removed by PATCHes of stock. */
  readonly received?: number;
  readonly requestHash?: string;
}

/** The stock ledger of a product (for audits): stock + reserved + sold = initial + received. */
export interface StockLedger {
  readonly stock: number;
  readonly reserved: number;
  readonly sold: number;
  readonly received: number;
  readonly reservations: Readonly<Record<string, number>>;
}

/** Seams for tests. */
export interface ProductStoreOptions {
  readonly now?: () => Date;
  /** The per-product bulkhead of reservations. @default - 4 at once, 64 waiting */
  readonly limiter?: KeyedLimiter;
}

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

/** Products in one DynamoDB table. */
export class ProductStore {
  private readonly now: () => Date;
  private readonly limiter: KeyedLimiter;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: ProductStoreOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.limiter = options.limiter ?? new KeyedLimiter();
  }

  /**
   * Creates a product. With an idempotency key, the product's id derives from the caller and the key,
   * so a retried create returns the first product instead of making a second.
   */
  async create(fields: ProductFields, idempotency?: { readonly callerId: string; readonly key: string }): Promise<{ product: Product; replayed: boolean }> {
    assertCurrency(fields.price.currency, 'price/currency');
    const at = this.now().toISOString();
    const requestHash = hashOf(fields);
    const id = idempotency === undefined ? randomUUID() : derivedId(idempotency.callerId, idempotency.key);
    const item: ProductItem = {
      id,
      ...fields,
      createdAt: at,
      updatedAt: at,
      reservations: {},
      settled: {},
      sold: 0,
      received: 0,
      ...(idempotency && { requestHash }),
    };
    try {
      await this.db.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(id)' }), sdkOptions());
      return { product: toProduct(item), replayed: false };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException) || idempotency === undefined) throw error;
    }
    const existing = await this.item(id);
    if (existing === undefined || existing.requestHash !== requestHash) {
      throw new ServiceError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different product');
    }
    return { product: toProduct(existing), replayed: true };
  }

  /** The product, or PRODUCT_NOT_FOUND. */
  async get(id: string): Promise<Product> {
    const item = await this.item(id);
    if (item === undefined) throw new ServiceError('PRODUCT_NOT_FOUND', `product ${id} does not exist`);
    return toProduct(item);
  }

  /** A page of products, in the table's order. */
  async list(page: PageRequest): Promise<Page<Product>> {
    const result = await this.db.send(new ScanCommand({ TableName: this.tableName, Limit: page.limit, ExclusiveStartKey: page.startKey }), sdkOptions());
    return { items: (result.Items ?? []).map((item) => toProduct(item as ProductItem)), nextCursor: encodeCursor(result.LastEvaluatedKey) };
  }

  /**
   * Sets the given fields; PRODUCT_NOT_FOUND if there is no such product. `stock` is the number
   * available to order from now on: it is written as a change to the stock read just before, on the
   * condition that nothing took or gave back stock in between (else read and try again), so that a
   * reservation made meanwhile stays taken instead of being overwritten; the change is also added to
   * `received`, which keeps the stock ledger whole.
   */
  async update(id: string, patch: Partial<ProductFields>): Promise<Product> {
    if (patch.price !== undefined) assertCurrency(patch.price.currency, 'price/currency');
    const { stock, ...rest } = patch;
    const fields = Object.entries({ ...rest, updatedAt: this.now().toISOString() }).filter(([, value]) => value !== undefined);
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const seen = stock === undefined ? undefined : await this.item(id);
      if (stock !== undefined && seen === undefined) break;
      const stockChange = seen === undefined || stock === undefined ? [] : ['stock = stock + :delta', 'received = if_not_exists(received, :zero) + :delta'];
      try {
        const result = await this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { id },
            UpdateExpression: `SET ${[...fields.map((_, index) => `#f${index} = :v${index}`), ...stockChange].join(', ')}`,
            ConditionExpression: seen === undefined ? 'attribute_exists(id)' : 'attribute_exists(id) AND stock = :seen',
            ExpressionAttributeNames: Object.fromEntries(fields.map(([name], index) => [`#f${index}`, name])),
            ExpressionAttributeValues: {
              ...Object.fromEntries(fields.map(([, value], index) => [`:v${index}`, value])),
              ...(seen !== undefined && stock !== undefined && { ':delta': stock - seen.stock, ':zero': 0, ':seen': seen.stock }),
            },
            ReturnValues: 'ALL_NEW',
          }),
          sdkOptions(),
        );
        return toProduct(result.Attributes as ProductItem);
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        if (seen === undefined) break;
      }
    }
    if ((await this.item(id)) === undefined) throw new ServiceError('PRODUCT_NOT_FOUND', `product ${id} does not exist`);
    throw new ServiceError('PRODUCT_BUSY', `the stock of product ${id} changed on every attempt; retry`);
  }

  /** The product's stock ledger, for audits. */
  async ledger(id: string): Promise<StockLedger | undefined> {
    const item = await this.item(id);
    if (item === undefined) return undefined;
    const reservations = Object.fromEntries(Object.entries(item.reservations).flatMap(([orderId, marker]) => (isMarker(marker) ? [[orderId, marker.q]] : [])));
    const reserved = Object.values(reservations).reduce((sum, quantity) => sum + quantity, 0);
    return { stock: item.stock, reserved, sold: item.sold ?? 0, received: item.received ?? 0, reservations };
  }

  /**
   * Reserves every item for the order under the lease `token`, or none: if one cannot be reserved,
   * those already reserved are released and the error says which product failed. Safe to retry with
   * the same order id; a retry with a new token takes the reservation over (its lease replaced the
   * old holder's).
   */
  async reserve(orderId: string, items: readonly ItemQuantity[], token: string): Promise<PricedItem[]> {
    assertDistinctProducts(items);
    const signal = currentDeadline()?.signal();
    const outcomes = await Promise.allSettled(items.map((item) => this.limiter.run(item.productId, () => this.reserveOne(orderId, item, token), signal)));
    const reserved = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failed === undefined) return reserved;
    await this.release(
      orderId,
      reserved.map((line) => line.productId),
      token,
    );
    throw failed.reason;
  }

  /** Gives back what the order reserved of these products, where `token` still holds it. Safe to repeat. */
  async release(orderId: string, productIds: readonly string[], token: string): Promise<void> {
    await this.settle(orderId, productIds, {
      UpdateExpression: 'SET stock = stock + reservations.#order.q REMOVE reservations.#order',
      ConditionExpression: 'reservations.#order.t = :token',
      ExpressionAttributeValues: { ':token': token },
    });
  }

  /**
   * Makes the order's reservations final once the order is confirmed: the quantity moves to `sold`,
   * and the order id is kept in `settled` so that a late reserve for it takes nothing. Safe to repeat.
   * No token: a confirmed order owns its reservations whoever reserved them.
   */
  async commit(orderId: string, productIds: readonly string[]): Promise<void> {
    await this.settle(orderId, productIds, {
      UpdateExpression: 'SET sold = if_not_exists(sold, :zero) + reservations.#order.q, settled.#order = :at REMOVE reservations.#order',
      ConditionExpression: 'attribute_exists(reservations.#order)',
      ExpressionAttributeValues: { ':zero': 0, ':at': this.now().getTime() },
    });
  }

  /**
   * A page of the open reservations, for the sweeper; on the way, forgets `settled` order ids older
   * than `settledBefore` (epoch ms), which no late reserve call can still follow.
   */
  async openReservations(page: PageRequest, settledBefore: number): Promise<Page<OpenReservation>> {
    const result = await this.db.send(
      new ScanCommand({
        TableName: this.tableName,
        Limit: page.limit,
        ExclusiveStartKey: page.startKey,
        ProjectionExpression: 'id, reservations, settled',
        ConsistentRead: true,
      }),
      sdkOptions(),
    );
    const open: OpenReservation[] = [];
    for (const item of (result.Items ?? []) as Pick<ProductItem, 'id' | 'reservations' | 'settled'>[]) {
      for (const [orderId, marker] of Object.entries(item.reservations ?? {})) {
        if (isMarker(marker)) open.push({ productId: item.id, orderId, quantity: marker.q, token: marker.t, reservedAt: marker.at });
      }
      const stale = Object.entries(item.settled ?? {}).filter(([, at]) => at < settledBefore);
      if (stale.length > 0) {
        await this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { id: item.id },
            UpdateExpression: `REMOVE ${stale.map((_, index) => `settled.#s${index}`).join(', ')}`,
            ConditionExpression: 'attribute_exists(id)',
            ExpressionAttributeNames: Object.fromEntries(stale.map(([orderId], index) => [`#s${index}`, orderId])),
          }),
          sdkOptions(),
        );
      }
    }
    return { items: open, nextCursor: encodeCursor(result.LastEvaluatedKey) };
  }

  private async reserveOne(orderId: string, item: ItemQuantity, token: string, round = 0): Promise<PricedItem> {
    if (round > 5) throw new ServiceError('PRODUCT_BUSY', `product ${item.productId} changed on every attempt to reserve it; retry`);
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id: item.productId },
          UpdateExpression: 'SET stock = stock - :quantity, reservations.#order = :marker',
          ConditionExpression:
            'attribute_exists(id) AND stock >= :quantity AND attribute_not_exists(reservations.#order) AND attribute_not_exists(settled.#order)',
          ExpressionAttributeNames: { '#order': orderId },
          ExpressionAttributeValues: { ':quantity': item.quantity, ':marker': { q: item.quantity, t: token, at: this.now().getTime() } satisfies Marker },
          ReturnValues: 'ALL_NEW',
        }),
        sdkOptions(),
      );
      return { ...item, unitPrice: (result.Attributes as ProductItem).price };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    // Which condition failed? A consistent read tells (dynalite cannot return the old item on failure).
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const current = await this.item(item.productId);
      if (current === undefined) throw new ServiceError('PRODUCT_NOT_FOUND', `product ${item.productId} does not exist`);
      if (current.settled?.[orderId] !== undefined) return { ...item, unitPrice: current.price };
      const marker = current.reservations[orderId];
      if (marker === undefined) {
        if (current.stock < item.quantity)
          throw new ServiceError('INSUFFICIENT_STOCK', `product ${item.productId} has ${current.stock} in stock, ${item.quantity} requested`);
        return this.reserveOne(orderId, item, token, round + 1);
      }
      if (!isMarker(marker) || marker.q !== item.quantity) {
        throw new ServiceError(
          'RESERVATION_CONFLICT',
          `order ${orderId} already reserved ${isMarker(marker) ? marker.q : '?'} of product ${item.productId}, not ${item.quantity}`,
        );
      }
      if (marker.t === token) return { ...item, unitPrice: current.price };
      // Reserved under an earlier lease of this order: the caller's lease replaced it, so take it over.
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { id: item.productId },
            UpdateExpression: 'SET reservations.#order.t = :token',
            ConditionExpression: 'reservations.#order.t = :old',
            ExpressionAttributeNames: { '#order': orderId },
            ExpressionAttributeValues: { ':token': token, ':old': marker.t },
          }),
          sdkOptions(),
        );
        return { ...item, unitPrice: current.price };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    throw new ServiceError('RESERVATION_CONFLICT', `the reservation of order ${orderId} on product ${item.productId} keeps changing hands`);
  }

  /** Applies a settling update to each product that holds the order's marker; one without it is done already. */
  private async settle(
    orderId: string,
    productIds: readonly string[],
    update: { UpdateExpression: string; ConditionExpression: string; ExpressionAttributeValues: Record<string, unknown> },
  ): Promise<void> {
    await Promise.all(
      productIds.map(async (productId) => {
        try {
          await this.db.send(
            new UpdateCommand({ TableName: this.tableName, Key: { id: productId }, ExpressionAttributeNames: { '#order': orderId }, ...update }),
            sdkOptions(),
          );
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }),
    );
  }

  private async item(id: string): Promise<ProductItem | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true }), sdkOptions());
    return result.Item as ProductItem | undefined;
  }
}

function toProduct(item: ProductItem): Product {
  const { reservations: _reservations, settled: _settled, sold: _sold, received: _received, requestHash: _requestHash, ...product } = item;
  return product;
}

function isMarker(value: unknown): value is Marker {
  return typeof value === 'object' && value !== null && typeof (value as Marker).q === 'number' && typeof (value as Marker).t === 'string';
}

function assertCurrency(currency: string, field: string): void {
  if (!CURRENCIES.has(currency)) throw new ServiceError('VALIDATION_FAILED', `body/${field} must be an ISO 4217 currency code, got ${currency}`);
}

/** A UUID-shaped id derived from the caller and their idempotency key. */
function derivedId(callerId: string, key: string): string {
  const hex = createHash('sha256').update(`${callerId}\u0000${key}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
