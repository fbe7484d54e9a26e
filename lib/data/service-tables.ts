import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { KeyAttribute, TableDefinition } from './tables';

/** Props of {@link ServiceTables}. */
export interface ServiceTablesProps {
  /** The tables to make, from lib/data/tables.ts. */
  readonly tables: readonly TableDefinition[];
  /**
   * What happens to the tables when the stack is deleted. Orders are records a business keeps.
   * @default - RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The services' DynamoDB tables, rendered from the same definitions that the local runtime gives
 * dynalite: on-demand, point-in-time recovery, encrypted with the AWS managed key, deletion
 * protection on, and retained when the stack goes.
 */
export class ServiceTables extends Construct {
  private readonly tables = new Map<string, dynamodb.TableV2>();

  constructor(scope: Construct, id: string, props: ServiceTablesProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    for (const definition of props.tables) {
      if (this.tables.has(definition.id)) throw new Error(`tables: ${definition.id} is listed twice`);
      this.tables.set(
        definition.id,
        new dynamodb.TableV2(this, definition.id, {
          partitionKey: attribute(definition.partitionKey),
          ...(definition.sortKey !== undefined && { sortKey: attribute(definition.sortKey) }),
          billing: dynamodb.Billing.onDemand(),
          pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
          encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
          deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
          removalPolicy,
          ...(definition.timeToLiveAttribute !== undefined && { timeToLiveAttribute: definition.timeToLiveAttribute }),
          globalSecondaryIndexes: (definition.globalSecondaryIndexes ?? []).map((index) => ({
            indexName: index.indexName,
            partitionKey: attribute(index.partitionKey),
            ...(index.sortKey !== undefined && { sortKey: attribute(index.sortKey) }),
          })),
        }),
      );
    }
  }

  /** The table made from the definition with this id. */
  table(id: string): dynamodb.TableV2 {
    const table = this.tables.get(id);
    if (table === undefined) throw new Error(`no table ${id}; the tables are ${[...this.tables.keys()].join(', ')}`);
    return table;
  }
}

function attribute(key: KeyAttribute): dynamodb.Attribute {
  return { name: key.name, type: key.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER };
}
