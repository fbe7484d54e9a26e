/**
 * The catalog and its stock, in DynamoDB. Stock is reserved per order with conditional writes, so it
 * never goes below zero, and a reservation is recorded on the product item itself (`reservations`,
 * order id → quantity) in the same write: reserving twice for one order changes nothing, and releasing
 * gives back exactly what was taken. (DynamoDB transactions would allow a separate table, but the
 * local DynamoDB API, dynalite, has none; one item per product keeps every write atomic without them.)
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

interface ProductItem extends Product {
  readonly reservations: Readonly<Record<string, number>>;
  readonly requestHash?: string;
}

/** Seams for tests. */
export interface ProductStoreOptions {
  readonly now?: () => Date;
}

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

/** Products in one DynamoDB table. */
export class ProductStore {
  private readonly now: () => Date;

  constructor(private readonly db: DynamoDBDocumentClient, private readonly tableName: string, options: ProductStoreOptions = {}) {
    this.now = options.now ?? (() => new Date());
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
    const item: ProductItem = { id, ...fields, createdAt: at, updatedAt: at, reservations: {}, ...(idempotency && { requestHash }) };
    try {
      await this.db.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(id)' }));
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
    const result = await this.db.send(new ScanCommand({ TableName: this.tableName, Limit: page.limit, ExclusiveStartKey: page.startKey }));
    return { items: (result.Items ?? []).map((item) => toProduct(item as ProductItem)), nextCursor: encodeCursor(result.LastEvaluatedKey) };
  }

  /** Sets the given fields; PRODUCT_NOT_FOUND if there is no such product. */
  async update(id: string, patch: Partial<ProductFields>): Promise<Product> {
    if (patch.price !== undefined) assertCurrency(patch.price.currency, 'price/currency');
    const fields = Object.entries({ ...patch, updatedAt: this.now().toISOString() }).filter(([, value]) => value !== undefined);
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id },
          UpdateExpression: `SET ${fields.map((_, index) => `#f${index} = :v${index}`).join(', ')}`,
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeNames: Object.fromEntries(fields.map(([name], index) => [`#f${index}`, name])),
          ExpressionAttributeValues: Object.fromEntries(fields.map(([, value], index) => [`:v${index}`, value])),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toProduct(result.Attributes as ProductItem);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new ServiceError('PRODUCT_NOT_FOUND', `product ${id} does not exist`);
      throw error;
    }
  }

  /**
   * Reserves every item for the order, or none: if one cannot be reserved, those already reserved are
   * released and the error says which product failed. Safe to retry with the same order id.
   */
  async reserve(orderId: string, items: readonly ItemQuantity[]): Promise<PricedItem[]> {
    assertDistinctProducts(items);
    const outcomes = await Promise.allSettled(items.map((item) => this.reserveOne(orderId, item)));
    const reserved = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failed === undefined) return reserved;
    await this.release(orderId, reserved.map((line) => line.productId));
    throw failed.reason;
  }

  /** Gives back what the order reserved of these products. Safe to repeat. */
  async release(orderId: string, productIds: readonly string[]): Promise<void> {
    await this.settleReservation(orderId, productIds, 'SET stock = stock + reservations.#order REMOVE reservations.#order');
  }

  /**
   * Forgets the order's reservation markers once the order is stored: the stock stays taken. Safe to
   * repeat. Only the order service calls it, after the order is confirmed, when no retry of the
   * reservation can come any more.
   */
  async commit(orderId: string, productIds: readonly string[]): Promise<void> {
    await this.settleReservation(orderId, productIds, 'REMOVE reservations.#order');
  }

  private async reserveOne(orderId: string, item: ItemQuantity): Promise<PricedItem> {
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id: item.productId },
          UpdateExpression: 'SET stock = stock - :quantity, reservations.#order = :quantity',
          ConditionExpression: 'attribute_exists(id) AND stock >= :quantity AND attribute_not_exists(reservations.#order)',
          ExpressionAttributeNames: { '#order': orderId },
          ExpressionAttributeValues: { ':quantity': item.quantity },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { ...item, unitPrice: (result.Attributes as ProductItem).price };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    // Which condition failed? A consistent read tells (dynalite cannot return the old item on failure).
    const current = await this.item(item.productId);
    if (current === undefined) throw new ServiceError('PRODUCT_NOT_FOUND', `product ${item.productId} does not exist`);
    const reserved = current.reservations[orderId];
    if (reserved === item.quantity) return { ...item, unitPrice: current.price };
    if (reserved !== undefined) {
      throw new ServiceError('RESERVATION_CONFLICT', `order ${orderId} already reserved ${reserved} of product ${item.productId}, not ${item.quantity}`);
    }
    throw new ServiceError('INSUFFICIENT_STOCK', `product ${item.productId} has ${current.stock} in stock, ${item.quantity} requested`);
  }

  /** Applies `update` to each product that still holds the order's marker; one without it is done already. */
  private async settleReservation(orderId: string, productIds: readonly string[], update: string): Promise<void> {
    await Promise.all(
      productIds.map(async (productId) => {
        try {
          await this.db.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: { id: productId },
              UpdateExpression: update,
              ConditionExpression: 'attribute_exists(reservations.#order)',
              ExpressionAttributeNames: { '#order': orderId },
            }),
          );
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }),
    );
  }

  private async item(id: string): Promise<ProductItem | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true }));
    return result.Item as ProductItem | undefined;
  }
}

function toProduct(item: ProductItem): Product {
  const { reservations: _reservations, requestHash: _requestHash, ...product } = item;
  return product;
}

function assertCurrency(currency: string, field: string): void {
  if (!CURRENCIES.has(currency)) throw new ServiceError('VALIDATION_FAILED', `body/${field} must be an ISO 4217 currency code, got ${currency}`);
}

/** A UUID-shaped id derived from the caller and their idempotency key. */
function derivedId(callerId: string, key: string): string {
  const hex = createHash('sha256').update(`${callerId}\u0000${key}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
