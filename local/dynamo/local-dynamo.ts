/**
 * The DynamoDB API on one machine: dynalite (in memory, or in a folder to keep data across restarts),
 * with the services' tables created from the same definitions as the CDK stack's. `npm start` runs it
 * in a process of its own (local/part-main.ts); tests run it in theirs.
 */
import { request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

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

  /**
   * Creates each table unless it exists (a data folder keeps them across restarts). It speaks the
   * DynamoDB JSON protocol directly rather than through the SDK, whose loading took a third of the
   * part's start: dynalite requires a SigV4-shaped Authorization header but checks no signature.
   */
  async ensureTables(tables: readonly { readonly definition: TableDefinition; readonly name: string }[]): Promise<void> {
    for (const { definition, name } of tables) {
      const { status, body } = await dynamoCall(this.endpoint, 'CreateTable', createTableInput(definition, name));
      if (status !== 200 && !body.includes('ResourceInUseException')) throw new Error(`creating table ${name} failed (${status}): ${body}`);
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }
}

/** One DynamoDB API call to dynalite, with a well-formed but unsigned Authorization header. */
function dynamoCall(endpoint: string, operation: string, input: object): Promise<{ status: number; body: string }> {
  const payload = JSON.stringify(input);
  return new Promise((resolve, reject) => {
    const call = request(
      `${endpoint}/`,
      {
        method: 'POST',
        agent: false,
        timeout: 10_000,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'content-length': Buffer.byteLength(payload),
          'x-amz-target': `DynamoDB_20120810.${operation}`,
          'x-amz-date': new Date().toISOString().replace(/[-:]|\.\d{3}/g, ''),
          authorization: 'AWS4-HMAC-SHA256 Credential=local/20200101/local/dynamodb/aws4_request, SignedHeaders=host, Signature=local',
        },
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.once('end', () => resolve({ status: response.statusCode ?? 0, body }));
        response.once('error', reject);
      },
    );
    call.once('timeout', () => call.destroy(new Error(`${operation} timed out`)));
    call.once('error', reject);
    call.end(payload);
  });
}
