/**
 * The order service's data: orders (by id, and by customer newest first) and the idempotency keys of
 * order placement, in DynamoDB. Every write is conditional, so concurrent and retried requests can
 * never store an order twice or take over a key another request still holds.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ORDERS_BY_CUSTOMER_INDEX } from '../../lib/data/tables';
import type { Money, PricedItem } from '../common/items';
import type { Page, PageRequest } from '../common/pagination';
import { encodeCursor } from '../common/pagination';

/** A placed order, as stored and as the API returns it. */
export interface Order {
  readonly id: string;
  readonly customerId: string;
  readonly items: readonly PricedItem[];
  readonly total: Money;
  readonly status: 'CONFIRMED';
  readonly createdAt: string;
}

/** Orders in one table, with the by-customer index. */
export class OrderStore {
  constructor(private readonly db: DynamoDBDocumentClient, private readonly tableName: string) {}

  /** Stores the order unless one with its id exists: `created`, or `exists` when another request stored it. */
  async put(order: Order): Promise<'created' | 'exists'> {
    try {
      await this.db.send(new PutCommand({ TableName: this.tableName, Item: order, ConditionExpression: 'attribute_not_exists(id)' }));
      return 'created';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'exists';
      throw error;
    }
  }

  async get(id: string): Promise<Order | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true }));
    return result.Item as Order | undefined;
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
    );
    return { items: (result.Items ?? []) as Order[], nextCursor: encodeCursor(result.LastEvaluatedKey) };
  }
}

/** A customer's idempotency key and the order it stands for. */
export interface IdempotencyRecord {
  readonly customerId: string;
  readonly idempotencyKey: string;
  readonly requestHash: string;
  readonly orderId: string;
  readonly status: 'PENDING' | 'COMPLETED';
  /** Whoever holds this token may work on the order until `leaseExpiresAt` (epoch ms). */
  readonly leaseToken: string;
  readonly leaseExpiresAt: number;
  /** DynamoDB TTL (epoch seconds): keys are forgotten after a day. */
  readonly expiresAt: number;
}

/** The outcome of a claim. */
export type Claim = { readonly claimed: true; readonly record: IdempotencyRecord } | { readonly claimed: false; readonly existing?: IdempotencyRecord };

/** Idempotency keys in one table (customerId, idempotencyKey). */
export class IdempotencyStore {
  constructor(private readonly db: DynamoDBDocumentClient, private readonly tableName: string) {}

  /** Claims the key for `record`; if it is taken, answers the record that holds it (absent if it just went). */
  async claim(record: IdempotencyRecord): Promise<Claim> {
    try {
      await this.db.send(new PutCommand({ TableName: this.tableName, Item: record, ConditionExpression: 'attribute_not_exists(customerId)' }));
      return { claimed: true, record };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const existing = await this.get(record.customerId, record.idempotencyKey);
    return existing === undefined ? { claimed: false } : { claimed: false, existing };
  }

  /** Takes over a pending key whose lease ran out; undefined if someone else did first. */
  async takeOver(expired: IdempotencyRecord, leaseToken: string, leaseExpiresAt: number): Promise<IdempotencyRecord | undefined> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(expired),
          UpdateExpression: 'SET leaseToken = :new, leaseExpiresAt = :until',
          ConditionExpression: 'leaseToken = :old AND #status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':new': leaseToken, ':until': leaseExpiresAt, ':old': expired.leaseToken, ':pending': 'PENDING' },
        }),
      );
      return { ...expired, leaseToken, leaseExpiresAt };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /** Marks the key's order as stored; false if the lease was lost (the new holder completes it). */
  async complete(record: IdempotencyRecord): Promise<boolean> {
    return this.ifLeaseHeld(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(record),
        UpdateExpression: 'SET #status = :completed',
        ConditionExpression: 'leaseToken = :token',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':completed': 'COMPLETED', ':token': record.leaseToken },
      }),
    );
  }

  /** Gives the key up after a failure, so a retry starts afresh; false if the lease was lost. */
  async abandon(record: IdempotencyRecord): Promise<boolean> {
    return this.ifLeaseHeld(
      new DeleteCommand({
        TableName: this.tableName,
        Key: this.key(record),
        ConditionExpression: 'leaseToken = :token',
        ExpressionAttributeValues: { ':token': record.leaseToken },
      }),
    );
  }

  async get(customerId: string, idempotencyKey: string): Promise<IdempotencyRecord | undefined> {
    const result = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { customerId, idempotencyKey }, ConsistentRead: true }));
    return result.Item as IdempotencyRecord | undefined;
  }

  private key(record: IdempotencyRecord): Record<string, string> {
    return { customerId: record.customerId, idempotencyKey: record.idempotencyKey };
  }

  private async ifLeaseHeld(command: UpdateCommand | DeleteCommand): Promise<boolean> {
    try {
      await this.db.send(command);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
