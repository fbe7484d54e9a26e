/**
 * The DynamoDB tables of the services, as data: the CDK stack renders them into tables, and the local
 * runtime and tests create the same tables in dynalite. Pure data, no aws-cdk-lib.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/** A key attribute. */
export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N';
}

/** A global secondary index (all attributes projected). */
export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
}

/** One table. */
export interface TableDefinition {
  /** Stable id, used for the construct id and the local table name. */
  readonly id: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly globalSecondaryIndexes?: readonly IndexDefinition[];
  /** Attribute holding an epoch-seconds expiry, for DynamoDB TTL. */
  readonly timeToLiveAttribute?: string;
}

/** Products and their stock (product service). */
export const PRODUCTS_TABLE: TableDefinition = {
  id: 'products',
  partitionKey: { name: 'id', type: 'S' },
};

/** The index of a customer's orders, newest first. */
export const ORDERS_BY_CUSTOMER_INDEX = 'byCustomer';

/**
 * Orders (order service): by id, and by customer newest first. Each item is also the order's
 * idempotency record and lease; a PENDING order has no `createdAt`, so the index holds only confirmed ones.
 */
export const ORDERS_TABLE: TableDefinition = {
  id: 'orders',
  partitionKey: { name: 'id', type: 'S' },
  globalSecondaryIndexes: [{ indexName: ORDERS_BY_CUSTOMER_INDEX, partitionKey: { name: 'customerId', type: 'S' }, sortKey: { name: 'createdAt', type: 'S' } }],
};

/**
 * The CreateTable input for a definition (on-demand), as the local runtime and tests use it.
 * @internal Left out of the package's declarations, whose users have no AWS SDK types.
 */
export function createTableInput(table: TableDefinition, tableName: string): CreateTableCommandInput {
  const keys = [table.partitionKey, table.sortKey, ...(table.globalSecondaryIndexes ?? []).flatMap((index) => [index.partitionKey, index.sortKey])];
  const attributes = new Map(keys.filter((key): key is KeyAttribute => key !== undefined).map((key) => [key.name, key.type]));
  const keySchema = (partitionKey: KeyAttribute, sortKey?: KeyAttribute) => [
    { AttributeName: partitionKey.name, KeyType: 'HASH' as const },
    ...(sortKey ? [{ AttributeName: sortKey.name, KeyType: 'RANGE' as const }] : []),
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    KeySchema: keySchema(table.partitionKey, table.sortKey),
    ...(table.globalSecondaryIndexes &&
      table.globalSecondaryIndexes.length > 0 && {
        GlobalSecondaryIndexes: table.globalSecondaryIndexes.map((index) => ({
          IndexName: index.indexName,
          KeySchema: keySchema(index.partitionKey, index.sortKey),
          Projection: { ProjectionType: 'ALL' as const },
        })),
      }),
  };
}
