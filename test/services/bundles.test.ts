/**
 * Both services as processes from their bundles, wired as on AWS: each registers in the registry,
 * the order service discovers the product service there, and both stop cleanly on SIGTERM.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ORDERS_TABLE, PRODUCTS_TABLE } from '../../lib/data/tables';
import { SCOPES, SERVICES } from '../../lib/routes/gatehouse-routes';
import { SERVICE_ENV } from '../../lib/runtime-env';
import { asUser, request } from '../support/http';
import { bundle, startProcess } from '../support/processes';
import type { ServiceProcess } from '../support/processes';
import { startDynamo, startRegistry, TEST_NAMESPACE } from '../support/services';

let data: Awaited<ReturnType<typeof startDynamo>> | undefined;
let cloudMap: Awaited<ReturnType<typeof startRegistry>> | undefined;
let files: { product: string; order: string } | undefined;
const running: ServiceProcess[] = [];

/** The parts beforeAll started; a test that runs means they all did. */
function started(): { data: NonNullable<typeof data>; cloudMap: NonNullable<typeof cloudMap>; files: NonNullable<typeof files> } {
  if (data === undefined || cloudMap === undefined || files === undefined) throw new Error('beforeAll did not start everything (see its error)');
  return { data, cloudMap, files };
}

// Bundling both services with esbuild, then dynalite and the registry: seconds on a loaded two-core
// machine, so far more than jest's default. Each part is kept as soon as it exists, so that afterAll
// stops whatever started even when a later step failed.
beforeAll(async () => {
  const [productFile, orderFile] = await Promise.all([bundle('product'), bundle('order')]);
  files = { product: productFile, order: orderFile };
  data = await startDynamo();
  cloudMap = await startRegistry();
  const tables = data;
  await tables.dynamo.ensureTables([PRODUCTS_TABLE, ORDERS_TABLE].map((definition) => ({ definition, name: tables.tableName(definition.id) })));
}, 120_000);
afterAll(async () => {
  for (const service of running) {
    if (service.child.exitCode === null && service.child.signalCode === null) {
      service.child.kill('SIGKILL');
      await service.exited;
    }
  }
  await cloudMap?.close();
  await data?.close();
  for (const file of Object.values(files ?? {})) fs.rmSync(path.dirname(file), { recursive: true, force: true });
}, 60_000);

function commonEnv(service: string): Record<string, string> {
  const { data, cloudMap } = started();
  return {
    [SERVICE_ENV.port]: '0',
    [SERVICE_ENV.host]: '127.0.0.1',
    [SERVICE_ENV.dynamodbEndpoint]: data.dynamo.endpoint,
    [SERVICE_ENV.cloudMapEndpoint]: cloudMap.registry.endpoint,
    [SERVICE_ENV.registryServiceId]: cloudMap.registry.serviceId(TEST_NAMESPACE, service),
    [SERVICE_ENV.advertiseHost]: '127.0.0.1',
  };
}

it('an order placed with the order process reserves stock in the product process it discovered', async () => {
  const { data, files } = started();
  const product = await startProcess(files.product, { ...commonEnv(SERVICES.product), [SERVICE_ENV.productsTable]: data.tableName(PRODUCTS_TABLE.id) });
  running.push(product);
  const order = await startProcess(files.order, {
    ...commonEnv(SERVICES.order),
    [SERVICE_ENV.ordersTable]: data.tableName(ORDERS_TABLE.id),
    [SERVICE_ENV.discoveryNamespace]: TEST_NAMESPACE,
  });
  running.push(order);

  const created = await request(`${product.url}/products`, {
    method: 'POST',
    headers: asUser('admin', SCOPES.productsWrite),
    body: { name: 'Lamp', price: { amount: 4500, currency: 'GBP' }, stock: 3 },
  });
  const placed = await request(`${order.url}/orders`, {
    method: 'POST',
    headers: { ...asUser('dana', SCOPES.ordersWrite), 'idempotency-key': 'first-lamp' },
    body: { items: [{ productId: created.body.id, quantity: 2 }] },
  });
  expect(placed).toMatchObject({ status: 201, body: { customerId: 'dana', total: { amount: 9000, currency: 'GBP' } } });
  expect(await request(`${product.url}/products/${String(created.body.id)}`, { headers: asUser('admin', SCOPES.productsRead) })).toMatchObject({
    body: { stock: 1 },
  });
  expect(await request(`${order.url}/ready`)).toMatchObject({ status: 200 });
  expect(await request(`${order.url}/internal/discovery-stats`)).toMatchObject({ status: 200, body: { discoveryCalls: 1, failures: 0 } });

  order.child.kill('SIGTERM');
  product.child.kill('SIGTERM');
  expect(await Promise.all([order.exited, product.exited])).toEqual([0, 0]);
});

it('a process without its configuration exits at once, naming the variable', async () => {
  const { files } = started();
  await expect(startProcess(files.product, {})).rejects.toThrow(/environment variable PRODUCTS_TABLE must be set/);
  await expect(startProcess(files.order, { [SERVICE_ENV.ordersTable]: 'o' })).rejects.toThrow(/DISCOVERY_NAMESPACE must be set/);
  // A lease no longer than the request's budget would let a live request lose its order to a retry.
  await expect(
    startProcess(files.order, { [SERVICE_ENV.ordersTable]: 'o', [SERVICE_ENV.requestDeadlineMs]: '8000', [SERVICE_ENV.orderLeaseMs]: '5000' }),
  ).rejects.toThrow(/ORDER_LEASE_MS \(5000\) must be longer than REQUEST_DEADLINE_MS \(8000\)/);
});
