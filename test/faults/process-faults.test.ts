/**
 * The order service as a process, stopped mid-flight: SIGKILL with orders in flight (some confirms
 * land after the process is gone, some never do), and SIGTERM, which drains. The audit then checks
 * that the sweeper leaves no reservation without its order and no unit of stock lost.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ORDERS_TABLE } from '../../lib/data/tables';
import { SERVICES } from '../../lib/routes/gatehouse-routes';
import { SERVICE_ENV } from '../../lib/runtime-env';
import { bundle, startProcess } from '../support/processes';
import type { ServiceProcess } from '../support/processes';
import { TEST_NAMESPACE } from '../support/services';
import type { ProxiedCall } from './fault-proxy';
import type { Harness, Placed } from './harness';
import { audit, closeHarness, DEADLINE_MS, LEASE_MS, startHarness } from './harness';

let harness: Harness;
let orderFile: string | undefined;
const running: ServiceProcess[] = [];

beforeAll(async () => {
  [harness, orderFile] = await Promise.all([startHarness(), bundle('order')]);
}, 90_000);
afterAll(async () => {
  for (const service of running) if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL');
  await Promise.all(running.map((service) => service.exited));
  await closeHarness();
  if (orderFile !== undefined) fs.rmSync(path.dirname(orderFile), { recursive: true, force: true });
}, 60_000);

async function startOrderProcess(env: Record<string, string> = {}): Promise<ServiceProcess> {
  const service = await startProcess(orderFile!, {
    [SERVICE_ENV.port]: '0',
    [SERVICE_ENV.host]: '127.0.0.1',
    [SERVICE_ENV.ordersTable]: harness.data.tableName(ORDERS_TABLE.id),
    [SERVICE_ENV.dynamodbEndpoint]: harness.dbProxy.url,
    [SERVICE_ENV.cloudMapEndpoint]: harness.cloudMap.registry.endpoint,
    [SERVICE_ENV.registryServiceId]: harness.cloudMap.registry.serviceId(TEST_NAMESPACE, SERVICES.order),
    [SERVICE_ENV.advertiseHost]: '127.0.0.1',
    [SERVICE_ENV.discoveryNamespace]: TEST_NAMESPACE,
    [SERVICE_ENV.requestDeadlineMs]: String(DEADLINE_MS * 4),
    [SERVICE_ENV.orderLeaseMs]: String(LEASE_MS * 4),
    // Swept by the test, with a clock past the leases, instead of on an interval.
    [SERVICE_ENV.sweepIntervalMs]: '0',
    [SERVICE_ENV.shutdownTimeoutMs]: '20000',
    ...env,
  });
  running.push(service);
  return service;
}

const confirmOf = (call: ProxiedCall): boolean =>
  call.operation === 'UpdateItem' && call.body.includes(`"TableName":"${harness.ordersTable}`) && call.body.includes('"CONFIRMED"');

/** Places orders that settle however the process ends: a killed request counts as status 0. */
function placeMany(url: string, count: number, productIds: readonly string[], prefix: string): Promise<Placed>[] {
  return Array.from({ length: count }, (_, index) =>
    harness
      .place(`${prefix}-${index % 7}`, `${prefix}-key-${index}`, [{ productId: productIds[index % productIds.length], quantity: 1 + (index % 3) }], url)
      .catch(
        (): Placed => ({
          customerId: `${prefix}-${index % 7}`,
          key: `${prefix}-key-${index}`,
          response: { status: 0, headers: new Headers(), body: {} },
          ms: 0,
        }),
      ),
  );
}

it('SIGKILL with 50 orders in flight: after the sweep, no reservation without its order and no stock lost', async () => {
  const productIds = await Promise.all([harness.createProduct(60), harness.createProduct(60), harness.createProduct(60)]);
  const service = await startOrderProcess();
  const before = harness.dbProxy.applied.length;
  // Half the confirms are delivered after the process is gone; the other half are lost with it.
  harness.dbProxy.inject('hold', confirmOf, 25);
  harness.dbProxy.inject('stall', confirmOf, 25);
  const inFlight = placeMany(service.url, 50, productIds, 'killed');
  await harness.dbProxy.when(() => harness.dbProxy.applied.length >= before + 50);
  service.child.kill('SIGKILL');
  await service.exited;
  harness.dbProxy.releaseHeld();
  const placed = await Promise.all(inFlight);
  expect(placed.every((entry) => entry.response.status === 0)).toBe(true);
  // Before the sweep: stock is held by reservations nobody will settle.
  const held = await Promise.all(productIds.map(async (id) => (await harness.product.store.ledger(id))?.reserved ?? 0));
  expect(held.reduce((sum, quantity) => sum + quantity, 0)).toBeGreaterThan(0);
  await audit(harness, new Map(productIds.map((id) => [id, 60])), placed);
}, 60_000);

it('SIGTERM with orders in flight: every one of them is answered, the process exits 0, and the ledger holds', async () => {
  const productIds = await Promise.all([harness.createProduct(40), harness.createProduct(40)]);
  const service = await startOrderProcess();
  const before = harness.dbProxy.applied.length;
  harness.dbProxy.inject('hold', confirmOf, 20);
  const inFlight = placeMany(service.url, 20, productIds, 'drained');
  await harness.dbProxy.when(() => harness.dbProxy.applied.length >= before + 20);
  service.child.kill('SIGTERM');
  // The signal is on its way; the held confirms go through while the process drains.
  harness.dbProxy.releaseHeld();
  const placed = await Promise.all(inFlight);
  expect(placed.map((entry) => entry.response.status)).toEqual(Array(20).fill(201));
  expect(await service.exited).toBe(0);
  await audit(harness, new Map(productIds.map((id) => [id, 40])), placed);
}, 60_000);

it('the sweeper runs on its own in the order process (SWEEP_INTERVAL_MS): an order left unknown is released after its lease', async () => {
  const a = await harness.createProduct(10);
  // A short deadline and lease, and a sweep every 100 ms.
  const service = await startOrderProcess({
    [SERVICE_ENV.requestDeadlineMs]: '1500',
    [SERVICE_ENV.orderLeaseMs]: '2000',
    [SERVICE_ENV.sweepIntervalMs]: '100',
  });
  // The confirm and every read-back of the order stall: the request cannot know, and gives nothing back.
  harness.dbProxy.inject('stall', confirmOf, 1_000);
  harness.dbProxy.inject('stall', (call) => call.operation === 'GetItem' && call.body.includes(`"TableName":"${harness.ordersTable}`), 1_000);
  const [placed] = await Promise.all(placeMany(service.url, 1, [a], 'swept'));
  expect(placed.response.status).toBe(503);
  expect((await harness.product.store.ledger(a))?.reserved).toBe(1);
  const callsBefore = harness.dbProxy.calls.length;
  harness.dbProxy.heal();
  // The process's own sweeper fences the order once its lease is over, releases the stock, then
  // deletes the order: wait for that delete (an event, not a time), by which the release is done.
  await harness.dbProxy.when(() =>
    harness.dbProxy.calls.slice(callsBefore).some((call) => call.operation === 'DeleteItem' && call.body.includes(`"TableName":"${harness.ordersTable}`)),
  );
  expect(await harness.product.store.ledger(a)).toMatchObject({ stock: 10, reserved: 0 });
  service.child.kill('SIGTERM');
  expect(await service.exited).toBe(0);
}, 60_000);
