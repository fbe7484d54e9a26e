/**
 * The system under fault: dynalite behind a fault proxy (both services' DynamoDB calls go through
 * it), the product service behind another (the order service reaches it through the registry at the
 * proxy's address), the registry behind a third, and an audit of the invariants after each scenario.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ORDERS_TABLE } from '../../lib/data/tables';
import { SCOPES, SERVICES } from '../../lib/routes/gatehouse-routes';
import { SERVICE_ENV } from '../../lib/runtime-env';
import { createDocumentClient } from '../../services/common/aws';
import { createServiceDiscoveryClient } from '../../services/common/lifecycle';
import { InstanceDirectory } from '../../services/order/discovery';
import type { OrderRecord } from '../../services/order/orders';
import { asUser, request } from '../support/http';
import type { JsonResponse } from '../support/http';
import type { OrderServiceOptions } from '../support/services';
import { registerInstance, startDynamo, startOrderService, startProductService, startRegistry, TEST_NAMESPACE } from '../support/services';
import { FaultProxy } from './fault-proxy';

/** The order service's budget in these tests, and the slack allowed on top for a loaded machine. */
export const DEADLINE_MS = 3_000;
export const SLACK_MS = 1_500;
/** Lease: longer than the deadline, as the service requires. */
export const LEASE_MS = 5_000;
/** A clock an hour ahead: every lease has run out by it. */
export const LATER = (): number => Date.now() + 3_600_000;

/** A DynamoDB client through the proxy, with short per-attempt timeouts. */
export function proxiedDb(proxy: FaultProxy): DynamoDBDocumentClient {
  return createDocumentClient({ [SERVICE_ENV.dynamodbEndpoint]: proxy.url }, { connectionTimeout: 500, requestTimeout: 1_000 });
}

/** One order request as the client saw it. */
export interface Placed {
  readonly customerId: string;
  readonly key: string;
  readonly response: JsonResponse;
  readonly ms: number;
}

/** Everything a scenario needs. */
export interface Harness {
  readonly data: Awaited<ReturnType<typeof startDynamo>>;
  readonly dbProxy: FaultProxy;
  readonly productProxy: FaultProxy;
  readonly product: Awaited<ReturnType<typeof startProductService>>;
  readonly cloudMap: Awaited<ReturnType<typeof startRegistry>>;
  readonly order: Awaited<ReturnType<typeof startOrderService>>;
  readonly ordersTable: string;
  /** Another order service on the same tables (e.g. with a clock ahead, as a retry after the lease). */
  startOrder(options?: OrderServiceOptions): Promise<Awaited<ReturnType<typeof startOrderService>>>;
  createProduct(stock: number, currency?: string): Promise<string>;
  place(customerId: string, key: string, items: unknown, url?: string): Promise<Placed>;
  close(): Promise<void>;
}

const closers: (() => Promise<unknown>)[] = [];

/** Starts the harness; `close` stops whatever started, even if starting failed half way. */
export async function startHarness(): Promise<Harness> {
  const data = await startDynamo();
  closers.push(() => data.close());
  const dbProxy = await FaultProxy.start(data.dynamo.endpoint);
  closers.push(() => dbProxy.close());
  const productDb = proxiedDb(dbProxy);
  closers.push(async () => productDb.destroy());
  const product = await startProductService(data, { db: productDb });
  closers.push(() => product.close());
  const productProxy = await FaultProxy.start(product.url);
  closers.push(() => productProxy.close());
  const cloudMap = await startRegistry();
  closers.push(() => cloudMap.close());
  await registerInstance(cloudMap, 'product-behind-proxy', productProxy.url);
  const extra: { close(): Promise<void> }[] = [];
  const startOrder = async (options: OrderServiceOptions = {}) => {
    const db = proxiedDb(dbProxy);
    const started = await startOrderService(data, cloudMap, {
      db,
      requestDeadlineMs: DEADLINE_MS,
      leaseMs: LEASE_MS,
      productTimeoutMs: 2_000,
      confirmReserveMs: 700,
      ...options,
    });
    extra.push({
      close: async () => {
        await started.close();
        db.destroy();
      },
    });
    return started;
  };
  closers.push(async () => {
    for (const service of extra) await service.close();
  });
  const order = await startOrder();
  const ordersTable = data.tableName(ORDERS_TABLE.id);
  return {
    data,
    dbProxy,
    productProxy,
    product,
    cloudMap,
    order,
    ordersTable,
    startOrder,
    createProduct: async (stock, currency = 'EUR') => (await product.store.create({ name: `p-${stock}`, price: { amount: 100, currency }, stock })).product.id,
    place: async (customerId, key, items, url = order.url) => {
      const started = Date.now();
      const response = await request(`${url}/orders`, {
        method: 'POST',
        headers: { ...asUser(customerId, `${SCOPES.ordersRead} ${SCOPES.ordersWrite}`), 'idempotency-key': key },
        body: { items },
      });
      return { customerId, key, response, ms: Date.now() - started };
    },
    close: closeHarness,
  };
}

/** Stops what {@link startHarness} started, in reverse order. */
export async function closeHarness(): Promise<void> {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
}

/** A Cloud Map directory of the product service through a proxy of the registry. */
export function directoryThrough(
  proxy: FaultProxy,
  options: { ttlMs: number; staleWaitMs?: number; callTimeoutMs?: number; now?: () => number },
): { directory: InstanceDirectory; close(): void } {
  const client = createServiceDiscoveryClient(proxy.url, 'local');
  const directory = new InstanceDirectory({ client, namespace: TEST_NAMESPACE, service: SERVICES.product, ...options });
  return { directory, close: () => client.destroy() };
}

/**
 * The invariants, after the faults are healed and the sweeper has run (with a clock past every lease):
 * per product, stock + reserved + sold = initial + received, and nothing is left reserved; one
 * confirmed order per (customer, key), and every 201 for a key answered that order; no request
 * waited past its deadline.
 */
export async function audit(harness: Harness, initial: ReadonlyMap<string, number>, placed: readonly Placed[]): Promise<void> {
  harness.dbProxy.heal();
  harness.productProxy.heal();
  harness.dbProxy.releaseHeld();
  harness.productProxy.releaseHeld();
  await harness.order.sweeper(LATER).sweepOnce();

  for (const [productId, stock] of initial) {
    const ledger = await harness.product.store.ledger(productId);
    expect({ productId, ...ledger, balance: (ledger?.stock ?? 0) + (ledger?.reserved ?? 0) + (ledger?.sold ?? 0) - (ledger?.received ?? 0) }).toMatchObject({
      productId,
      reserved: 0,
      balance: stock,
    });
  }

  const records = ((await harness.data.db.send(new ScanCommand({ TableName: harness.ordersTable, ConsistentRead: true }))).Items ?? []) as OrderRecord[];
  const confirmed = records.filter((record) => record.status === 'CONFIRMED');
  const byKey = new Map<string, string[]>();
  for (const record of confirmed)
    byKey.set(`${record.customerId} ${record.idempotencyKey}`, [...(byKey.get(`${record.customerId} ${record.idempotencyKey}`) ?? []), record.id]);
  expect([...byKey.values()].filter((ids) => ids.length > 1)).toEqual([]);
  for (const entry of placed.filter((one) => one.response.status === 201)) {
    expect(byKey.get(`${entry.customerId} ${entry.key}`)).toEqual([entry.response.body.id]);
  }
  // Every sold unit belongs to a confirmed order.
  const soldByProduct = new Map<string, number>();
  for (const record of confirmed)
    for (const line of record.items ?? []) soldByProduct.set(line.productId, (soldByProduct.get(line.productId) ?? 0) + line.quantity);
  for (const productId of initial.keys())
    expect({ productId, sold: (await harness.product.store.ledger(productId))?.sold }).toEqual({ productId, sold: soldByProduct.get(productId) ?? 0 });

  expect(placed.filter((entry) => entry.ms > DEADLINE_MS + SLACK_MS).map((entry) => ({ key: entry.key, ms: entry.ms, status: entry.response.status }))).toEqual(
    [],
  );
}
