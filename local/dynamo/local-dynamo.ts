/**
 * The DynamoDB API on one machine: dynalite in process (in memory, or in a folder to keep data across
 * restarts), with the services' tables created from the same definitions as the CDK stack's.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { TableDefinition } from '../../lib/data/tables';
import { createTableInput } from '../../lib/data/tables';

/** Options of {@link LocalDynamo.start}. */
export interface LocalDynamoOptions {
  /** @default - 0: any free port */
  readonly port?: number;
  /** @default - '127.0.0.1' */
  readonly host?: string;
  /** Keep data in this folder. @default - in memory */
  readonly dataDir?: string;
}

/** A running dynalite. */
export class LocalDynamo {
  private constructor(private readonly server: Server, readonly endpoint: string) {}

  /** Starts dynalite; tables are ACTIVE as soon as they are created. */
  static async start(options: LocalDynamoOptions = {}): Promise<LocalDynamo> {
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.dataDir !== undefined && { path: options.dataDir }) });
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return new LocalDynamo(server, `http://${host}:${port}`);
  }

  /** A low-level client for this endpoint. */
  client(): DynamoDBClient {
    return new DynamoDBClient({ endpoint: this.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  }

  /** Creates each table unless it exists (a data folder keeps them across restarts). */
  async ensureTables(tables: readonly { readonly definition: TableDefinition; readonly name: string }[]): Promise<void> {
    const client = this.client();
    try {
      for (const { definition, name } of tables) {
        try {
          await client.send(new CreateTableCommand(createTableInput(definition, name)));
        } catch (error) {
          if (!(error instanceof ResourceInUseException)) throw error;
        }
      }
    } finally {
      client.destroy();
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }
}
