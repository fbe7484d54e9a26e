/**
 * Orders under injected faults: the real services and stores, with DynamoDB and the product service
 * behind fault proxies that stall calls, lose answers after the write, and fail calls. After each
 * scenario the audit checks the invariants (see harness.ts).
 */
import type { Harness, Placed } from './harness';
import { audit, closeHarness, DEADLINE_MS, directoryThrough, LATER, SLACK_MS, startHarness } from './harness';
import { FaultProxy } from './fault-proxy';
import type { ProxiedCall } from './fault-proxy';

let harness: Harness;
let keyCounter = 0;
const freshKey = (): string => `fault-${Date.now()}-${(keyCounter += 1)}`;

beforeAll(async () => {
  harness = await startHarness();
}, 60_000);
afterAll(async () => {
  await closeHarness();
}, 60_000);
afterEach(() => {
  harness?.dbProxy.heal();
  harness?.productProxy.heal();
  harness?.productProxy.releaseHeld();
  harness?.dbProxy.releaseHeld();
});

const on =
  (table: string, operation: string, contains?: string) =>
  (call: ProxiedCall): boolean =>
    call.operation === operation && call.body.includes(`"TableName":"${table}`) && (contains === undefined || call.body.includes(contains));
const orders = (): string => harness.ordersTable;
const products = (): string => harness.data.tableName('products');
const confirmWrite = (): ((call: ProxiedCall) => boolean) => on(orders(), 'UpdateItem', '"CONFIRMED"');

describe('a dependency that stalls', () => {
  it('a stalled DynamoDB call is cut off by its timeout and retried; the order answers inside its deadline', async () => {
    const a = await harness.createProduct(10);
    harness.dbProxy.inject('stall', on(orders(), 'PutItem'));
    const placed = await harness.place('stall-1', freshKey(), [{ productId: a, quantity: 2 }]);
    expect(placed.response.status).toBe(201);
    expect(harness.dbProxy.applied).toEqual(expect.arrayContaining([expect.objectContaining({ fault: 'stall' })]));
    await audit(harness, new Map([[a, 10]]), [placed]);
  }, 30_000);

  it('a product service that never answers: 503 inside the deadline, the stock released, the key free again', async () => {
    const a = await harness.createProduct(10);
    const key = freshKey();
    harness.productProxy.inject('stall', (call) => call.method === 'PUT', 2);
    const placed = await harness.place('stall-2', key, [{ productId: a, quantity: 3 }]);
    expect(placed.response).toMatchObject({ status: 503, body: { error: { code: 'DEPENDENCY_UNAVAILABLE' } } });
    expect(placed.response.headers.get('retry-after')).toBe('1');
    expect(placed.ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
    harness.productProxy.heal();
    const retried = await harness.place('stall-2', key, [{ productId: a, quantity: 3 }]);
    expect(retried.response.status).toBe(201);
    await audit(harness, new Map([[a, 10]]), [placed, retried]);
  }, 30_000);

  it('the confirm stalls but the order reads back as still ours: given up at once (order, then stock), and the key works again', async () => {
    const a = await harness.createProduct(10);
    const key = freshKey();
    harness.dbProxy.inject('stall', confirmWrite(), 1_000);
    const placed = await harness.place('stall-4', key, [{ productId: a, quantity: 2 }]);
    expect(placed.response).toMatchObject({ status: 503, body: { error: { code: 'DEPENDENCY_UNAVAILABLE' } } });
    // Before any sweep: the stock is back.
    expect(await harness.product.store.ledger(a)).toMatchObject({ stock: 10, reserved: 0 });
    harness.dbProxy.heal();
    const retried = await harness.place('stall-4', key, [{ productId: a, quantity: 2 }]);
    expect(retried.response.status).toBe(201);
    await audit(harness, new Map([[a, 10]]), [placed, retried]);
  }, 30_000);

  it('DynamoDB stalls on every call: 503 inside the deadline, nothing lost once the sweeper has run', async () => {
    const a = await harness.createProduct(10);
    harness.dbProxy.inject('stall', on(orders(), 'UpdateItem'), 1_000);
    harness.dbProxy.inject('stall', on(orders(), 'GetItem'), 1_000);
    const placed = await harness.place('stall-3', freshKey(), [{ productId: a, quantity: 1 }]);
    expect(placed.response.status).toBe(503);
    expect(placed.ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
    await audit(harness, new Map([[a, 10]]), [placed]);
  }, 30_000);
});

describe('an answer lost after the write', () => {
  it("the product service's reserve write lands but its answer is lost: read back, reserved once, 201", async () => {
    const a = await harness.createProduct(10);
    harness.dbProxy.inject('drop-response', on(products(), 'UpdateItem', 'reservations'));
    const placed = await harness.place('drop-1', freshKey(), [{ productId: a, quantity: 4 }]);
    expect(placed.response.status).toBe(201);
    await audit(harness, new Map([[a, 10]]), [placed]);
  }, 30_000);

  it('the confirm lands but its answer is lost: read back as ours, 201, and a retry replays it', async () => {
    const a = await harness.createProduct(10);
    const key = freshKey();
    harness.dbProxy.inject('drop-response', confirmWrite());
    const placed = await harness.place('drop-2', key, [{ productId: a, quantity: 2 }]);
    expect(placed.response.status).toBe(201);
    const retried = await harness.place('drop-2', key, [{ productId: a, quantity: 2 }]);
    expect(retried.response).toMatchObject({ status: 201, body: { id: placed.response.body.id } });
    expect(retried.response.headers.get('idempotent-replayed')).toBe('true');
    await audit(harness, new Map([[a, 10]]), [placed, retried]);
  }, 30_000);

  it('no double order: the confirm lands, every retry and read-back fails, so the request gives nothing back; the retry with the key gets that order', async () => {
    const a = await harness.createProduct(10);
    const key = freshKey();
    harness.dbProxy.inject('drop-response', confirmWrite());
    harness.dbProxy.inject('error', (call) => call.body.includes(`"TableName":"${orders()}`), 1_000);
    const failed = await harness.place('double-1', key, [{ productId: a, quantity: 3 }]);
    expect(failed.response.status).toBe(503);
    harness.dbProxy.heal();
    const retried = await harness.place('double-1', key, [{ productId: a, quantity: 3 }]);
    expect(retried.response.status).toBe(201);
    expect((await harness.product.store.ledger(a))?.stock).toBe(7);
    await audit(harness, new Map([[a, 10]]), [failed, retried]);
    expect((await harness.product.store.ledger(a))?.sold).toBe(3);
  }, 30_000);

  it('leak (b): giving the order up loses its answer; the stock still comes back at once', async () => {
    const [euro, dollar] = [await harness.createProduct(10, 'EUR'), await harness.createProduct(10, 'USD')];
    harness.dbProxy.inject('drop-response', on(orders(), 'DeleteItem'));
    const placed = await harness.place('leak-b', freshKey(), [
      { productId: euro, quantity: 2 },
      { productId: dollar, quantity: 2 },
    ]);
    expect(placed.response).toMatchObject({ status: 422, body: { error: { code: 'MIXED_CURRENCIES' } } });
    expect(harness.dbProxy.applied.some((entry) => entry.call.operation === 'DeleteItem')).toBe(true);
    // Before any sweep: given back by the request itself.
    expect([(await harness.product.store.ledger(euro))?.stock, (await harness.product.store.ledger(dollar))?.stock]).toEqual([10, 10]);
    await audit(
      harness,
      new Map([
        [euro, 10],
        [dollar, 10],
      ]),
      [placed],
    );
  }, 30_000);
});

describe('a dependency that fails', () => {
  it.each([
    ['the claim', (): ((call: ProxiedCall) => boolean) => on(orders(), 'PutItem')],
    ['the reserve write', (): ((call: ProxiedCall) => boolean) => on(products(), 'UpdateItem', 'reservations')],
    ['the confirm', confirmWrite],
    ['the commit', (): ((call: ProxiedCall) => boolean) => on(products(), 'UpdateItem', 'settled')],
  ])(
    '%s fails once: retried, one order, stock whole',
    async (_name, match) => {
      const a = await harness.createProduct(10);
      harness.dbProxy.inject('error', match());
      const placed = await harness.place('error-1', freshKey(), [{ productId: a, quantity: 1 }]);
      expect(placed.response.status).toBe(201);
      await audit(harness, new Map([[a, 10]]), [placed]);
    },
    30_000,
  );

  it('the product service answers 500 on every reserve: 503, nothing reserved', async () => {
    const a = await harness.createProduct(10);
    harness.productProxy.inject('error', (call) => call.method === 'PUT', 10);
    const placed = await harness.place('error-2', freshKey(), [{ productId: a, quantity: 1 }]);
    expect(placed.response.status).toBe(503);
    await audit(harness, new Map([[a, 10]]), [placed]);
  }, 30_000);
});

describe('a reserve that arrives late', () => {
  it('delivered after its request gave up and gave the order up: the stock it takes is released by the sweeper', async () => {
    const a = await harness.createProduct(10);
    const heldBefore = harness.productProxy.applied.length;
    harness.productProxy.inject('hold', (call) => call.method === 'PUT', 2);
    const placed = await harness.place('late-1', freshKey(), [{ productId: a, quantity: 3 }]);
    expect(placed.response.status).toBe(503);
    expect(harness.productProxy.applied.length).toBeGreaterThan(heldBefore);
    // Now the held reserve reaches the product service (whose budget counts from its arrival).
    const answeredBefore = harness.productProxy.answered.length;
    harness.productProxy.releaseHeld();
    await harness.productProxy.when(() => harness.productProxy.answered.length > answeredBefore);
    const ledger = await harness.product.store.ledger(a);
    // It took stock for an order that is gone, so the reservation is nobody's: the audit's sweep must release it.
    expect(ledger).toMatchObject({ stock: 7, reserved: 3 });
    await audit(harness, new Map([[a, 10]]), [placed]);
  }, 30_000);
});

describe('a lease that runs out', () => {
  it('leak (a): a holder stalled past its lease cannot confirm or commit once a retry took over; the stock is taken once', async () => {
    const a = await harness.createProduct(10);
    const key = freshKey();
    // The retry runs on an order service whose clock is past the first holder's lease.
    const later = await harness.startOrder({ now: LATER });
    // Every confirm stalls until healed: the first holder's attempts all hang while the retry takes over.
    const stallsBefore = harness.dbProxy.applied.filter((entry) => entry.fault === 'stall').length;
    harness.dbProxy.inject('stall', confirmWrite(), 100);
    const first = harness.place('lease-a', key, [{ productId: a, quantity: 3 }]);
    await harness.dbProxy.whenApplied('stall', stallsBefore + 1);
    // The retry takes the order over; its reserve is held on the way until the first holder is done.
    const heldBefore = harness.productProxy.applied.length;
    harness.productProxy.inject('hold', (call) => call.method === 'PUT');
    const retry = harness.place('lease-a', key, [{ productId: a, quantity: 3 }], later.url);
    await harness.productProxy.when(() => harness.productProxy.applied.length > heldBefore);
    harness.dbProxy.heal();
    const stale = await first;
    // Its confirm was fenced off (409) or never known (503): either way it answers without an order
    // of its own, and gave nothing back.
    expect([409, 503]).toContain(stale.response.status);
    harness.productProxy.releaseHeld();
    const placed = await retry;
    expect(placed.response.status).toBe(201);
    expect((await harness.product.store.ledger(a))?.stock).toBe(7);
    await audit(harness, new Map([[a, 10]]), [stale, placed]);
  }, 30_000);
});

describe('Cloud Map', () => {
  it('when it stalls, discovery serves its last good answer at once, and without one fails inside its deadline', async () => {
    const proxy = await FaultProxy.start(harness.cloudMap.registry.endpoint);
    let clock = 0;
    const cached = directoryThrough(proxy, { ttlMs: 1_000, staleWaitMs: 20, callTimeoutMs: 500, now: () => clock });
    const empty = directoryThrough(proxy, { ttlMs: 1_000, callTimeoutMs: 500 });
    try {
      const fresh = await cached.directory.instances();
      expect(fresh).toHaveLength(1);
      proxy.inject('stall', () => true, 100);
      clock += 1_001;
      const started = Date.now();
      expect(await cached.directory.instances()).toEqual(fresh);
      expect(Date.now() - started).toBeLessThan(500);
      expect(cached.directory.stats.staleServed).toBe(1);
      const startedEmpty = Date.now();
      await expect(empty.directory.instances()).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
      expect(Date.now() - startedEmpty).toBeLessThan(500 + SLACK_MS);
    } finally {
      proxy.heal();
      cached.close();
      empty.close();
      await proxy.close();
    }
  }, 30_000);
});

describe('contention', () => {
  it('60 concurrent orders for one product of stock 20: at most 20 placed, the rest refused with 409 or 503, all inside the deadline, nothing lost', async () => {
    const a = await harness.createProduct(20);
    const placed: Placed[] = await Promise.all(
      Array.from({ length: 60 }, (_, index) => harness.place(`crowd-${index}`, freshKey(), [{ productId: a, quantity: 1 }])),
    );
    // How many get through before the deadline depends on the machine; never more than the stock.
    const placedCount = placed.filter((entry) => entry.response.status === 201).length;
    expect(placedCount).toBeGreaterThan(0);
    expect(placedCount).toBeLessThanOrEqual(20);
    expect(placed.filter((entry) => ![201, 409, 503].includes(entry.response.status))).toEqual([]);
    await audit(harness, new Map([[a, 20]]), placed);
  }, 30_000);
});
