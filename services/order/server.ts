/** The order service process: configuration from the environment, then listen until stopped. */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { SERVICES } from '../../lib/routes/gatehouse-routes';
import { SERVICE_ENV } from '../../lib/runtime-env';
import { createDocumentClient } from '../common/aws';
import { integerEnv, optionalEnv, requiredEnv } from '../common/config';
import { createServiceDiscoveryClient, run, runOptionsFromEnv } from '../common/lifecycle';
import { createOrderApp } from './app';
import { InstanceDirectory } from './discovery';
import { IdempotencyStore, OrderStore } from './orders';
import { HttpProductReservations } from './product-client';

const env = process.env;
const ordersTable = requiredEnv(env, SERVICE_ENV.ordersTable);
const idempotencyTable = requiredEnv(env, SERVICE_ENV.idempotencyTable);
const options = runOptionsFromEnv(env, SERVICES.order);
const db = createDocumentClient(env);
const cloudMap = createServiceDiscoveryClient(optionalEnv(env, SERVICE_ENV.cloudMapEndpoint), optionalEnv(env, SERVICE_ENV.region));
const directory = new InstanceDirectory({
  client: cloudMap,
  namespace: requiredEnv(env, SERVICE_ENV.discoveryNamespace),
  service: optionalEnv(env, SERVICE_ENV.productServiceName) ?? SERVICES.product,
  ttlMs: integerEnv(env, SERVICE_ENV.discoveryTtlMs, 5_000, { min: 100, max: 300_000 }),
  onFailure: (error) => app.log.warn({ error: error instanceof Error ? error.name : String(error) }, 'Cloud Map failed; serving the last known instances'),
});

const app = createOrderApp({
  orders: new OrderStore(db, ordersTable),
  keys: new IdempotencyStore(db, idempotencyTable),
  products: new HttpProductReservations(directory),
  discoveryStats: () => directory.stats,
  readiness: async () => {
    await db.send(new DescribeTableCommand({ TableName: ordersTable }));
    if ((await directory.instances()).length === 0) throw new Error('no healthy product instance');
  },
});

run(app, {
  ...options,
  onClosed: async () => {
    db.destroy();
    cloudMap.destroy();
  },
}).catch((error: unknown) => {
  app.log.error({ error: error instanceof Error ? error.message : String(error) }, 'failed to start');
  process.exit(1);
});
