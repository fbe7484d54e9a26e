/** The order service process: configuration from the environment, then listen until stopped. */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { SERVICES } from '../../lib/routes/gatehouse-routes';
import { SERVICE_ENV } from '../../lib/runtime-env';
import { createDocumentClient } from '../common/aws';
import { integerEnv, optionalEnv, requiredEnv } from '../common/config';
import { sdkOptions } from '../common/deadline';
import { createServiceDiscoveryClient, run, runOptionsFromEnv } from '../common/lifecycle';
import { createOrderApp, DEFAULT_REQUEST_DEADLINE_MS } from './app';
import { InstanceDirectory } from './discovery';
import { OrderStore } from './orders';
import { DEFAULT_LEASE_MS } from './place-order';
import { HttpProductReservations } from './product-client';
import { ReservationSweeper } from './sweeper';

/** How much longer than the request's budget the default lease is. */
const LEASE_MARGIN_MS = 5_000;

const env = process.env;
const ordersTable = requiredEnv(env, SERVICE_ENV.ordersTable);
const options = runOptionsFromEnv(env, SERVICES.order);
const requestDeadlineMs = integerEnv(env, SERVICE_ENV.requestDeadlineMs, DEFAULT_REQUEST_DEADLINE_MS, { min: 100, max: 28_000 });
// The lease outlives the request's budget, whatever the gateway's timeout made that budget.
const leaseMs = integerEnv(env, SERVICE_ENV.orderLeaseMs, Math.max(DEFAULT_LEASE_MS, requestDeadlineMs + LEASE_MARGIN_MS), { min: 200, max: 600_000 });
if (leaseMs <= requestDeadlineMs)
  throw new Error(
    `environment variable ${SERVICE_ENV.orderLeaseMs} (${leaseMs}) must be longer than ${SERVICE_ENV.requestDeadlineMs} (${requestDeadlineMs}), so that a live request never loses its lease`,
  );
const sweepIntervalMs = integerEnv(env, SERVICE_ENV.sweepIntervalMs, 30_000, { min: 0, max: 3_600_000 });
const db = createDocumentClient(env);
const cloudMap = createServiceDiscoveryClient(optionalEnv(env, SERVICE_ENV.cloudMapEndpoint), optionalEnv(env, SERVICE_ENV.region));
const directory = new InstanceDirectory({
  client: cloudMap,
  namespace: requiredEnv(env, SERVICE_ENV.discoveryNamespace),
  service: optionalEnv(env, SERVICE_ENV.productServiceName) ?? SERVICES.product,
  ttlMs: integerEnv(env, SERVICE_ENV.discoveryTtlMs, 5_000, { min: 100, max: 300_000 }),
  onFailure: (error) => app.log.warn({ error: error instanceof Error ? error.name : String(error) }, 'Cloud Map failed; serving the last known instances'),
});
const orders = new OrderStore(db, ordersTable);
const products = new HttpProductReservations(directory);

const app = createOrderApp({
  orders,
  products,
  leaseMs,
  requestDeadlineMs,
  discoveryStats: () => directory.stats,
  readiness: async () => {
    await db.send(new DescribeTableCommand({ TableName: ordersTable }), sdkOptions(2_000));
    if ((await directory.instances()).length === 0) throw new Error('no healthy product instance');
  },
});

// Every task sweeps; their writes are all conditional, so they never undo each other's work.
const sweeper = new ReservationSweeper({ orders, products, leaseMs, warn: (fields, message) => app.log.warn(fields, message) });
if (sweepIntervalMs > 0) sweeper.start(sweepIntervalMs);

run(app, {
  ...options,
  onClosed: async () => {
    await sweeper.stop();
    db.destroy();
    cloudMap.destroy();
  },
}).catch((error: unknown) => {
  app.log.error({ error: error instanceof Error ? error.message : String(error) }, 'failed to start');
  process.exit(1);
});
