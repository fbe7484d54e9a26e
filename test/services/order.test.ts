/**
 * The order service over real HTTP: dynalite for data, the embedded registry for discovery, and two
 * product service instances behind it.
 */
import { SCOPES } from '../../lib/routes/gatehouse-routes';
import { OrderStore } from '../../services/order/orders';
import type { Order } from '../../services/order/orders';
import { asUser, request } from '../support/http';
import type { JsonResponse } from '../support/http';
import { registerInstance, startDynamo, startOrderService, startProductService, startRegistry } from '../support/services';

let data: Awaited<ReturnType<typeof startDynamo>>;
let cloudMap: Awaited<ReturnType<typeof startRegistry>>;
let products: Awaited<ReturnType<typeof startProductService>>[];
let orders: Awaited<ReturnType<typeof startOrderService>>;

const alice = asUser('alice', `${SCOPES.ordersRead} ${SCOPES.ordersWrite}`);
const bob = asUser('bob', `${SCOPES.ordersRead} ${SCOPES.ordersWrite}`);
let keyCounter = 0;
const freshKey = (): string => `key-${Date.now()}-${(keyCounter += 1)}`;

beforeAll(async () => {
  data = await startDynamo();
  cloudMap = await startRegistry();
  products = [await startProductService(data), await startProductService(data)];
  for (const [index, product] of products.entries()) await registerInstance(cloudMap, `product-${index}`, product.url);
  // A clock that never gives the same millisecond twice, so that orders placed one after another have
  // distinct createdAt stamps and "newest first" is decided by the order they were placed in.
  let last = 0;
  orders = await startOrderService(data, cloudMap, { now: () => (last = Math.max(Date.now(), last + 1)) });
});
afterAll(async () => {
  await orders?.close();
  for (const product of products ?? []) await product.close();
  await cloudMap?.close();
  await data?.close();
});

async function product(stock: number, amount = 1250, currency = 'EUR'): Promise<string> {
  return (await products[0].store.create({ name: `p-${stock}`, price: { amount, currency }, stock })).product.id;
}
const stockOf = async (id: string): Promise<number> => (await products[0].store.get(id)).stock;
const place = (body: unknown, headers: Record<string, string> = { ...alice, 'idempotency-key': freshKey() }): Promise<JsonResponse> =>
  request(`${orders.url}/orders`, { method: 'POST', headers, body });
async function orderCount(user = alice): Promise<number> {
  return (await request<{ items: unknown[] }>(`${orders.url}/orders?limit=100`, { headers: user })).body.items.length;
}

describe('placing an order', () => {
  it('reserves the stock and answers 201 with the order, its prices and total', async () => {
    const [a, b] = [await product(10, 1250), await product(10, 99)];
    const response = await place({
      items: [
        { productId: a, quantity: 2 },
        { productId: b, quantity: 3 },
      ],
    });
    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      id: expect.any(String),
      customerId: 'alice',
      items: [
        { productId: a, quantity: 2, unitPrice: { amount: 1250, currency: 'EUR' } },
        { productId: b, quantity: 3, unitPrice: { amount: 99, currency: 'EUR' } },
      ],
      total: { amount: 2797, currency: 'EUR' },
      status: 'CONFIRMED',
      createdAt: expect.any(String),
    });
    expect(response.headers.get('location')).toBe(`/orders/${String(response.body.id)}`);
    expect([await stockOf(a), await stockOf(b)]).toEqual([8, 7]);
  });

  it('a retry with the same key returns the same order and creates nothing', async () => {
    const a = await product(10);
    const headers = { ...alice, 'idempotency-key': freshKey() };
    const before = await orderCount();
    const first = await place({ items: [{ productId: a, quantity: 1 }] }, headers);
    const retry = await place({ items: [{ productId: a, quantity: 1 }] }, headers);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await stockOf(a)).toBe(9);
    expect(await orderCount()).toBe(before + 1);
  });

  it('a retry whose JSON lists the keys in another order is the same request: it replays, not a 422', async () => {
    const a = await product(10);
    const headers = { ...alice, 'idempotency-key': freshKey() };
    const first = await place(`{"items":[{"productId":${JSON.stringify(a)},"quantity":2}]}`, headers);
    const reordered = await place(`{"items":[{"quantity":2,"productId":${JSON.stringify(a)}}]}`, headers);
    expect(first.status).toBe(201);
    expect(reordered).toMatchObject({ status: 201, body: { id: first.body.id } });
    expect(reordered.headers.get('idempotent-replayed')).toBe('true');
    expect(await stockOf(a)).toBe(8);
  });

  it('the same key with other items is a 422 and changes nothing', async () => {
    const a = await product(10);
    const headers = { ...alice, 'idempotency-key': freshKey() };
    await place({ items: [{ productId: a, quantity: 1 }] }, headers);
    const reused = await place({ items: [{ productId: a, quantity: 2 }] }, headers);
    expect(reused).toMatchObject({ status: 422, body: { error: { code: 'IDEMPOTENCY_KEY_REUSED' } } });
    expect(await stockOf(a)).toBe(9);
  });

  it('keys are per customer: the same key from another customer is another order', async () => {
    const a = await product(10);
    const key = freshKey();
    const mine = await place({ items: [{ productId: a, quantity: 1 }] }, { ...alice, 'idempotency-key': key });
    const theirs = await place({ items: [{ productId: a, quantity: 1 }] }, { ...bob, 'idempotency-key': key });
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(mine.body.id);
  });

  it('100 concurrent identical submissions create exactly one order, and all of them answer with it', async () => {
    const a = await product(1_000);
    const headers = { ...alice, 'idempotency-key': freshKey() };
    const before = await orderCount();
    const responses = await Promise.all(Array.from({ length: 100 }, () => place({ items: [{ productId: a, quantity: 2 }] }, headers)));
    expect(responses.map((response) => response.status)).toEqual(Array(100).fill(201));
    expect(new Set(responses.map((response) => response.body.id)).size).toBe(1);
    expect(await stockOf(a)).toBe(998);
    expect(await orderCount()).toBe(before + 1);
  }, 60_000);

  it('200 concurrent orders against a stock of 50 succeed exactly 50 times and leave the stock at 0', async () => {
    const a = await product(50);
    const responses = await Promise.all(Array.from({ length: 200 }, () => place({ items: [{ productId: a, quantity: 1 }] })));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(50);
    const refusals = responses
      .filter((response) => response.status !== 201)
      .map((response) => `${response.status} ${(response.body as { error: { code: string } }).error.code}`);
    expect(refusals.filter((outcome) => outcome !== '409 INSUFFICIENT_STOCK' && outcome !== '503 PRODUCT_BUSY')).toEqual([]);
    expect(await stockOf(a)).toBe(0);
  }, 60_000);
});

describe('a bad order gets a 4xx with a clear message and changes nothing', () => {
  let a: string;
  beforeAll(async () => {
    a = await product(5);
  });

  it.each<[string, unknown, number, string, RegExp]>([
    ['no items field', {}, 400, 'VALIDATION_FAILED', /body must have required property 'items'/],
    ['no items', { items: [] }, 400, 'VALIDATION_FAILED', /body\/items must NOT have fewer than 1 items/],
    [
      '51 items',
      { items: Array.from({ length: 51 }, (_, index) => ({ productId: `p${index}`, quantity: 1 })) },
      400,
      'VALIDATION_FAILED',
      /body\/items must NOT have more than 50 items/,
    ],
    ['a zero quantity', { items: [{ productId: 'A', quantity: 0 }] }, 400, 'VALIDATION_FAILED', /body\/items\/0\/quantity must be >= 1/],
    ['a negative quantity', { items: [{ productId: 'A', quantity: -2 }] }, 400, 'VALIDATION_FAILED', /body\/items\/0\/quantity must be >= 1/],
    ['a quantity over 100', { items: [{ productId: 'A', quantity: 101 }] }, 400, 'VALIDATION_FAILED', /body\/items\/0\/quantity must be <= 100/],
    ['a quantity of the wrong type', { items: [{ productId: 'A', quantity: '2' }] }, 400, 'VALIDATION_FAILED', /body\/items\/0\/quantity must be integer/],
    ['a missing product id', { items: [{ quantity: 1 }] }, 400, 'VALIDATION_FAILED', /body\/items\/0 must have required property 'productId'/],
    [
      'the same product twice',
      {
        items: [
          { productId: 'A', quantity: 1 },
          { productId: 'A', quantity: 1 },
        ],
      },
      400,
      'VALIDATION_FAILED',
      /body\/items\/1\/productId repeats/,
    ],
    [
      'an unknown product',
      {
        items: [
          { productId: 'A', quantity: 1 },
          { productId: 'no-such-product', quantity: 1 },
        ],
      },
      422,
      'UNKNOWN_PRODUCT',
      /no-such-product does not exist/,
    ],
    ['more than the stock', { items: [{ productId: 'A', quantity: 6 }] }, 409, 'INSUFFICIENT_STOCK', /has 5 in stock, 6 requested/],
  ])('%s', async (_name, body, status, code, message) => {
    const withProduct = JSON.parse(JSON.stringify(body).replaceAll('"A"', JSON.stringify(a))) as unknown;
    const before = await orderCount();
    const response = await place(withProduct);
    expect(response.status).toBe(status);
    expect(response.body).toEqual({ error: { code, message: expect.stringMatching(message), requestId: expect.any(String) } });
    expect(await stockOf(a)).toBe(5);
    expect(await orderCount()).toBe(before);
  });

  it('products in different currencies: 422, stock given back', async () => {
    const [euro, dollar] = [await product(5, 100, 'EUR'), await product(5, 100, 'USD')];
    const response = await place({
      items: [
        { productId: euro, quantity: 1 },
        { productId: dollar, quantity: 1 },
      ],
    });
    expect(response).toMatchObject({ status: 422, body: { error: { code: 'MIXED_CURRENCIES' } } });
    expect([await stockOf(euro), await stockOf(dollar)]).toEqual([5, 5]);
  });

  it('no Idempotency-Key, malformed JSON, an oversized body', async () => {
    const noKey = await request(`${orders.url}/orders`, { method: 'POST', headers: alice, body: { items: [{ productId: a, quantity: 1 }] } });
    expect(noKey).toMatchObject({ status: 400, body: { error: { code: 'MISSING_IDEMPOTENCY_KEY' } } });
    expect(await place('{"items": [')).toMatchObject({ status: 400, body: { error: { code: 'MALFORMED_JSON' } } });
    expect(await place({ items: [{ productId: 'x'.repeat(70_000), quantity: 1 }] })).toMatchObject({
      status: 413,
      body: { error: { code: 'PAYLOAD_TOO_LARGE' } },
    });
    expect(await stockOf(a)).toBe(5);
  });

  it('a key that failed can be used again: the failure gave it back', async () => {
    const headers = { ...alice, 'idempotency-key': freshKey() };
    expect((await place({ items: [{ productId: a, quantity: 6 }] }, headers)).status).toBe(409);
    expect((await place({ items: [{ productId: a, quantity: 5 }] }, headers)).status).toBe(201);
    expect(await stockOf(a)).toBe(0);
  });
});

describe('reading orders', () => {
  it('gives an order to its owner only: anyone else gets 404, as for an order that does not exist', async () => {
    const a = await product(5);
    const placed = await place({ items: [{ productId: a, quantity: 1 }] });
    expect(await request(`${orders.url}/orders/${String(placed.body.id)}`, { headers: alice })).toMatchObject({ status: 200, body: placed.body });
    const other = await request(`${orders.url}/orders/${String(placed.body.id)}`, { headers: bob });
    const missing = await request(`${orders.url}/orders/does-not-exist`, { headers: bob });
    expect(other).toMatchObject({ status: 404, body: { error: { code: 'ORDER_NOT_FOUND' } } });
    expect(missing.status).toBe(404);
  });

  it("lists the caller's orders newest first, a page at a time, and never another customer's", async () => {
    const carol = asUser('carol', `${SCOPES.ordersRead} ${SCOPES.ordersWrite}`);
    const a = await product(50);
    const placed: string[] = [];
    for (let index = 0; index < 5; index += 1) {
      placed.push(String((await place({ items: [{ productId: a, quantity: 1 }] }, { ...carol, 'idempotency-key': freshKey() })).body.id));
    }
    const seen: Order[] = [];
    let cursor: string | null = null;
    do {
      const page: JsonResponse<{ items: Order[]; nextCursor: string | null }> = await request(
        `${orders.url}/orders?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { headers: carol },
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(seen.map((order) => order.id)).toEqual([...placed].reverse());
    expect(seen.every((order) => order.customerId === 'carol')).toBe(true);

    const firstPage = await request<{ nextCursor: string }>(`${orders.url}/orders?limit=1`, { headers: carol });
    const stolen = await request(`${orders.url}/orders?cursor=${firstPage.body.nextCursor}`, { headers: alice });
    expect(stolen).toMatchObject({ status: 400, body: { error: { code: 'INVALID_CURSOR' } } });
  });

  it('401 without the gateway identity, 403 without the scope', async () => {
    expect((await request(`${orders.url}/orders`)).status).toBe(401);
    expect((await request(`${orders.url}/orders`, { headers: asUser('alice', SCOPES.productsRead) })).status).toBe(403);
    expect((await place({ items: [] }, { ...asUser('alice', SCOPES.ordersRead), 'idempotency-key': freshKey() })).status).toBe(403);
  });
});

describe('discovery', () => {
  it('calls Cloud Map at most once per TTL under load', async () => {
    const local = await startOrderService(data, cloudMap, { ttlMs: 60_000 });
    try {
      const a = await product(1_000);
      const headers = () => ({ ...alice, 'idempotency-key': freshKey() });
      const responses = await Promise.all(
        Array.from({ length: 50 }, () =>
          request(`${local.url}/orders`, { method: 'POST', headers: headers(), body: { items: [{ productId: a, quantity: 1 }] } }),
        ),
      );
      expect(responses.every((response) => response.status === 201)).toBe(true);
      expect(local.directory.stats.discoveryCalls).toBe(1);
      // 50 orders make 100 product calls; all but those that waited for the one call came from the cache.
      expect(local.directory.stats.cacheHits).toBeGreaterThanOrEqual(50);
    } finally {
      await local.close();
    }
  }, 60_000);

  it('an order still succeeds when one product instance is gone without deregistering', async () => {
    const extra = await startProductService(data);
    await registerInstance(cloudMap, 'product-doomed', extra.url);
    const local = await startOrderService(data, cloudMap);
    try {
      await local.directory.instances();
      await extra.close();
      const a = await product(100);
      const responses = [];
      for (let index = 0; index < 6; index += 1)
        responses.push(
          await request(`${local.url}/orders`, {
            method: 'POST',
            headers: { ...alice, 'idempotency-key': freshKey() },
            body: { items: [{ productId: a, quantity: 1 }] },
          }),
        );
      expect(responses.map((response) => response.status)).toEqual(Array(6).fill(201));
      expect(await stockOf(a)).toBe(94);
      expect((await local.directory.instances()).map((instance) => instance.id)).not.toContain('product-doomed');
    } finally {
      await local.close();
    }
  });
});

describe('an order whose confirmation cannot be known', () => {
  it('answers 503 and gives nothing back; the sweeper releases it after its lease; a retry with the key then places it once', async () => {
    class BrokenOrderStore extends OrderStore {
      broken = true;
      override async confirm(...args: Parameters<OrderStore['confirm']>): ReturnType<OrderStore['confirm']> {
        if (this.broken) throw Object.assign(new Error('injected: the write and its read-back both timed out'), { name: 'TimeoutError' });
        return super.confirm(...args);
      }
    }
    let broken: BrokenOrderStore | undefined;
    const local = await startOrderService(data, cloudMap, {
      orders: (db, tableName) => (broken = new BrokenOrderStore(db, tableName)),
    });
    try {
      const a = await product(10);
      const headers = { ...alice, 'idempotency-key': freshKey() };
      const failed = await request(`${local.url}/orders`, { method: 'POST', headers, body: { items: [{ productId: a, quantity: 4 }] } });
      expect(failed).toMatchObject({ status: 503, body: { error: { code: 'DEPENDENCY_UNAVAILABLE' } } });
      // It may be confirmed for all this request knows: the stock stays reserved.
      expect(await stockOf(a)).toBe(6);
      broken!.broken = false;
      // Once the lease is over (an injected clock an hour ahead), the sweeper fences the order and releases.
      const report = await local.sweeper(() => Date.now() + 3_600_000).sweepOnce();
      expect(report.released).toBeGreaterThanOrEqual(1);
      expect(await stockOf(a)).toBe(10);
      const retried = await request(`${local.url}/orders`, { method: 'POST', headers, body: { items: [{ productId: a, quantity: 4 }] } });
      expect(retried.status).toBe(201);
      expect(await stockOf(a)).toBe(6);
    } finally {
      await local.close();
    }
  });
});
