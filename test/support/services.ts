/** Services started in the test process against dynalite, on port 0. */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { FastifyInstance } from 'fastify';
import { RegisterInstanceCommand } from '@aws-sdk/client-servicediscovery';
import type { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { ORDERS_TABLE, PRODUCTS_TABLE } from '../../lib/data/tables';
import { SERVICES } from '../../lib/routes/gatehouse-routes';
import { LocalRegistry } from '../../local/registry';
import { createServiceDiscoveryClient } from '../../services/common/lifecycle';
import { createOrderApp } from '../../services/order/app';
import { InstanceDirectory } from '../../services/order/discovery';
import { OrderStore } from '../../services/order/orders';
import { ReservationSweeper } from '../../services/order/sweeper';
import { HttpProductReservations } from '../../services/order/product-client';
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
  // Hundreds of concurrent requests queue up in one dynalite in the test process: wait for them.
  const db = createDocumentClient({ [SERVICE_ENV.dynamodbEndpoint]: dynamo.endpoint }, { connectionTimeout: 10_000, requestTimeout: 30_000 });
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

/** The product service over dynalite (or over `db`, e.g. a client of a fault-injecting proxy). */
export async function startProductService(
  data: Awaited<ReturnType<typeof startDynamo>>,
  options: { db?: DynamoDBDocumentClient } = {},
): Promise<Running & { store: ProductStore }> {
  const tableName = data.tableName(PRODUCTS_TABLE.id);
  await data.dynamo.ensureTables([{ definition: PRODUCTS_TABLE, name: tableName }]);
  const store = new ProductStore(options.db ?? data.db, tableName);
  const app = createProductApp({ store, readiness: async () => undefined, logger: false });
  const url = await listen(app);
  return { url, app, store, close: async () => app.close() };
}

/** The Cloud Map namespace of the tests. */
export const TEST_NAMESPACE = 'gatehouse.local';

/** The embedded registry with the product service declared, and a client for it. */
export async function startRegistry(): Promise<{ registry: LocalRegistry; client: ServiceDiscoveryClient; productServiceId: string; close(): Promise<void> }> {
  const registry = await LocalRegistry.start({
    services: [
      { namespace: TEST_NAMESPACE, name: SERVICES.product },
      { namespace: TEST_NAMESPACE, name: SERVICES.order },
    ],
  });
  const client = createServiceDiscoveryClient(registry.endpoint, 'local');
  return {
    registry,
    client,
    productServiceId: registry.serviceId(TEST_NAMESPACE, SERVICES.product),
    close: async () => {
      client.destroy();
      await registry.close();
    },
  };
}

/** Registers a running instance as ECS would on AWS (and as the service does itself locally). */
export async function registerInstance(cloudMap: Awaited<ReturnType<typeof startRegistry>>, instanceId: string, url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  await cloudMap.client.send(
    new RegisterInstanceCommand({
      ServiceId: cloudMap.productServiceId,
      InstanceId: instanceId,
      Attributes: { AWS_INSTANCE_IPV4: hostname, AWS_INSTANCE_PORT: port },
    }),
  );
}

/** Options of {@link startOrderService}. */
export interface OrderServiceOptions {
  readonly ttlMs?: number;
  /** The order service's DynamoDB client. @default - the test's client of dynalite */
  readonly db?: DynamoDBDocumentClient;
  readonly orders?: (db: DynamoDBDocumentClient, tableName: string) => OrderStore;
  readonly leaseMs?: number;
  readonly requestDeadlineMs?: number;
  /** Cap of one product-service call, in ms. @default - 30000 */
  readonly productTimeoutMs?: number;
  readonly onAfterAnswer?: (work: Promise<void>) => void;
  /** Time kept back from the reserve call for the confirm, in ms. @default - 1500 */
  readonly confirmReserveMs?: number;
  /** The order service's clock (leases). @default - Date.now */
  readonly now?: () => number;
}

/** The order service over dynalite, finding products through the registry, with its sweeper (not started). */
export async function startOrderService(
  data: Awaited<ReturnType<typeof startDynamo>>,
  cloudMap: Awaited<ReturnType<typeof startRegistry>>,
  options: OrderServiceOptions = {},
): Promise<Running & { directory: InstanceDirectory; orders: OrderStore; sweeper: (now?: () => number) => ReservationSweeper }> {
  const ordersTable = data.tableName(ORDERS_TABLE.id);
  await data.dynamo.ensureTables([{ definition: ORDERS_TABLE, name: ordersTable }]);
  const db = options.db ?? data.db;
  const directory = new InstanceDirectory({ client: cloudMap.client, namespace: TEST_NAMESPACE, service: SERVICES.product, ttlMs: options.ttlMs ?? 60_000 });
  const orders = options.orders ? options.orders(db, ordersTable) : new OrderStore(db, ordersTable);
  const products = new HttpProductReservations(directory, options.productTimeoutMs ?? 30_000);
  // Under jest's load a request may legitimately take seconds: a long default budget, unless a test sets one.
  const requestDeadlineMs = options.requestDeadlineMs ?? 28_000;
  const leaseMs = options.leaseMs ?? 60_000;
  const app = createOrderApp({
    orders,
    products,
    leaseMs,
    requestDeadlineMs,
    discoveryStats: () => directory.stats,
    readiness: async () => undefined,
    logger: false,
    ...(options.onAfterAnswer !== undefined && { onAfterAnswer: options.onAfterAnswer }),
    ...(options.now !== undefined && { now: options.now }),
    ...(options.confirmReserveMs !== undefined && { confirmReserveMs: options.confirmReserveMs }),
  });
  const url = await listen(app);
  return {
    url,
    app,
    directory,
    orders,
    sweeper: (now) => new ReservationSweeper({ orders, products, leaseMs, warn: () => undefined, ...(now !== undefined && { now }) }),
    close: async () => app.close(),
  };
}
