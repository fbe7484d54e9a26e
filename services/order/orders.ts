/**
 * The order service's data: one item per order in DynamoDB, which is also the order's idempotency
 * record. The order id derives from the customer and their Idempotency-Key, so a key can only ever
 * stand for one order, and the item carries the lease of the request placing it:
 *
 *   (none) --claim--> PENDING(token, lease) --confirm by the token's holder--> CONFIRMED
 *   PENDING --lease ran out: take over (retry) or fence (sweeper)--> PENDING(new token)
 *   PENDING --abandon by the token's holder (failure, or the sweeper after fencing)--> (none)
 *
 * Every write is conditional on the lease token, so only the request holding the lease can confirm or
 * give the order up (fencing). A PENDING order has no `createdAt`, so it is absent from the
 * by-customer index, and reads answer only CONFIRMED orders.
 */
import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ORDERS_BY_CUSTOMER_INDEX } from '../../lib/data/tables';
import { isRetryable, sdkOptions, sdkWriteOptions } from '../common/deadline';
import type { Money, PricedItem } from '../common/items';
import type { Page, PageRequest } from '../common/pagination';
import { encodeCursor } from '../common/pagination';

/** A placed order, as the API returns it. */
export interface Order {
  readonly id: string;
  readonly customerId: string;
  readonly items: readonly PricedItem[];
  readonly total: Money;
  readonly status: 'CONFIRMED';
  readonly createdAt: string;
}

/** The stored item: an order being placed (PENDING) or placed (CONFIRMED), with its lease. */
export interface OrderRecord {
  readonly id: string;
  readonly customerId: string;
  readonly idempotencyKey: string;
  /** Fingerprint of the request's items, to tell a retry from another request with the same key. */
  readonly requestHash: string;
  readonly status: 'PENDING' | 'CONFIRMED';
  /** Whoever holds this token may confirm or abandon the order, until `leaseExpiresAt` (epoch ms). */
  readonly leaseToken: string;
  readonly leaseExpiresAt: number;
  readonly items?: readonly PricedItem[];
  readonly total?: Money;
  readonly createdAt?: string;
}

/** The order id of a customer's idempotency key: UUID-shaped, from SHA-256. */
export function orderIdOf(customerId: string, idempotencyKey: string): string {
  const hex = createHash('sha256').update(`order\u0000${customerId}\u0000${idempotencyKey}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The API's view of a confirmed record. */
export function toOrder(record: OrderRecord): Order | undefined {
  if (record.status !== 'CONFIRMED' || record.items === undefined || record.total === undefined || record.createdAt === undefined) return undefined;
  return { id: record.id, customerId: record.customerId, items: record.items, total: record.total, status: 'CONFIRMED', createdAt: record.createdAt };
}

/** Orders in one table, with the by-customer index. */
export class OrderStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Claims the order for `record` (PENDING under its lease): true, or false when the order exists. A
   * write whose answer was lost is read back: if the item holds our token, the claim landed.
   */
  async claim(record: OrderRecord): Promise<boolean> {
    try {
      await this.db.send(new PutCommand({ TableName: this.tableName, Item: record, ConditionExpression: 'attribute_not_exists(id)' }), sdkWriteOptions());
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException) && !isRetryable(error)) throw error;
      const current = await this.record(record.id);
      // Absent after a write whose answer was lost: it did not land (or landed and was abandoned,
      // which only our own token could do); the caller's error decides.
      if (current === undefined) throw error;
      return current.leaseToken === record.leaseToken;
    }
  }

  /** Takes over a PENDING order from the lease `expired`; undefined if its lease changed hands first. */
  async takeOver(expired: OrderRecord, leaseToken: string, leaseExpiresAt: number): Promise<OrderRecord | undefined> {
    const command = new UpdateCommand({
      TableName: this.tableName,
      Key: { id: expired.id },
      UpdateExpression: 'SET leaseToken = :new, leaseExpiresAt = :until',
      ConditionExpression: 'leaseToken = :old AND #status = :pending',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':new': leaseToken, ':until': leaseExpiresAt, ':old': expired.leaseToken, ':pending': 'PENDING' },
    });
    const { applied } = await this.conditional(command, (current) => current?.leaseToken === leaseToken && current.status === 'PENDING', expired.id);
    return applied ? { ...expired, leaseToken, leaseExpiresAt } : undefined;
  }

  /**
   * Confirms the order with its lines, only under the lease `held` (fencing): the confirmed record, or
   * the record as it now is (another holder's, or absent) when the lease was lost.
   */
  async confirm(held: OrderRecord, items: readonly PricedItem[], total: Money, createdAt: string): Promise<{ confirmed: boolean; current?: OrderRecord }> {
    const command = new UpdateCommand({
      TableName: this.tableName,
      Key: { id: held.id },
      UpdateExpression: 'SET #status = :confirmed, #items = :items, #total = :total, createdAt = :createdAt',
      ConditionExpression: 'leaseToken = :token AND #status = :pending',
      ExpressionAttributeNames: { '#status': 'status', '#items': 'items', '#total': 'total' },
      ExpressionAttributeValues: {
        ':confirmed': 'CONFIRMED',
        ':items': items,
        ':total': total,
        ':createdAt': createdAt,
        ':token': held.leaseToken,
        ':pending': 'PENDING',
      },
    });
    const { applied, current } = await this.conditional(command, (now) => now?.leaseToken === held.leaseToken && now.status === 'CONFIRMED', held.id);
    if (applied) return { confirmed: true, current: current ?? { ...held, status: 'CONFIRMED', items, total, createdAt } };
    return { confirmed: false, ...(current !== undefined && { current }) };
  }

  /** Gives a PENDING order up under the lease `held`; true if it is gone (whoever removed it). */
  async abandon(held: OrderRecord): Promise<boolean> {
    const command = new DeleteCommand({
      TableName: this.tableName,
      Key: { id: held.id },
      ConditionExpression: 'leaseToken = :token AND #status = :pending',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':token': held.leaseToken, ':pending': 'PENDING' },
    });
    return (await this.conditional(command, (current) => current === undefined, held.id)).applied;
  }

  /** The stored record, whatever its state. */
  async record(id: string): Promise<OrderRecord | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true }), sdkOptions());
    return result.Item as OrderRecord | undefined;
  }

  /** The confirmed order, or undefined. */
  async get(id: string): Promise<Order | undefined> {
    const record = await this.record(id);
    return record === undefined ? undefined : toOrder(record);
  }

  /** A page of the customer's orders, newest first. */
  async listByCustomer(customerId: string, page: PageRequest): Promise<Page<Order>> {
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: ORDERS_BY_CUSTOMER_INDEX,
        KeyConditionExpression: 'customerId = :customer',
        ExpressionAttributeValues: { ':customer': customerId },
        ScanIndexForward: false,
        Limit: page.limit,
        ExclusiveStartKey: page.startKey,
      }),
      sdkOptions(),
    );
    const items = ((result.Items ?? []) as OrderRecord[]).flatMap((record) => toOrder(record) ?? []);
    return { items, nextCursor: encodeCursor(result.LastEvaluatedKey) };
  }

  /**
   * Sends a conditional write: true if it applied. A failed condition, or a write whose answer never
   * came (timeout, lost response: the SDK's retry then fails the condition of a write that landed),
   * is read back, and `landed` decides from the record as it now is. If the read fails too, the
   * outcome is unknown and the error is thrown: the caller must give nothing back.
   */
  private async conditional(
    command: UpdateCommand | DeleteCommand,
    landed: (current: OrderRecord | undefined) => boolean,
    id: string,
  ): Promise<{ applied: boolean; current?: OrderRecord }> {
    try {
      await this.db.send(command, sdkWriteOptions());
      return { applied: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException) && !isRetryable(error)) throw error;
      const current = await this.record(id);
      return { applied: landed(current), ...(current !== undefined && { current }) };
    }
  }
}
