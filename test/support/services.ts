/** Services started in the test process against dynalite, on port 0. */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { FastifyInstance } from 'fastify';
import { PRODUCTS_TABLE } from '../../lib/data/tables';
import { SERVICE_ENV } from '../../lib/runtime-env';
import { LocalDynamo } from '../../local/dynamo/local-dynamo';
import { createDocumentClient } from '../../services/common/aws';
import { createProductApp } from '../../services/product/app';
import { ProductStore } from '../../services/product/products';

/** A started service and what the test may need of it. */
export interface Running {
  readonly url: string;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1, port 0, and gives back its base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** dynalite with unique table names for one test file. */
export async function startDynamo(): Promise<{ dynamo: LocalDynamo; db: DynamoDBDocumentClient; tableName: (id: string) => string; close(): Promise<void> }> {
  const dynamo = await LocalDynamo.start();
  const db = createDocumentClient({ [SERVICE_ENV.dynamodbEndpoint]: dynamo.endpoint });
  const suffix = randomUUID().slice(0, 8);
  return {
    dynamo,
    db,
    tableName: (id) => `${id}-${suffix}`,
    close: async () => {
      db.destroy();
      await dynamo.close();
    },
  };
}

/** The product service over dynalite. */
export async function startProductService(data: Awaited<ReturnType<typeof startDynamo>>): Promise<Running & { store: ProductStore }> {
  const tableName = data.tableName(PRODUCTS_TABLE.id);
  await data.dynamo.ensureTables([{ definition: PRODUCTS_TABLE, name: tableName }]);
  const store = new ProductStore(data.db, tableName);
  const app = createProductApp({ store, readiness: async () => undefined, logger: false });
  const url = await listen(app);
  return { url, app, store, close: async () => app.close() };
}
