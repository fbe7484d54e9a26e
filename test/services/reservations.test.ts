/** Stock reservations of the product service: all or none, idempotent per order, never below zero. */
import { SCOPES } from '../../lib/routes/gatehouse-routes';
import { asUser, request } from '../support/http';
import { startDynamo, startProductService } from '../support/services';

let data: Awaited<ReturnType<typeof startDynamo>>;
let service: Awaited<ReturnType<typeof startProductService>>;

beforeAll(async () => {
  data = await startDynamo();
  service = await startProductService(data);
});
afterAll(async () => {
  await service?.close();
  await data?.close();
});

async function product(stock: number, amount = 500): Promise<string> {
  const { product: created } = await service.store.create({ name: `p-${stock}`, price: { amount, currency: 'EUR' }, stock });
  return created.id;
}
const stockOf = async (id: string): Promise<number> => (await service.store.get(id)).stock;
const reserve = (orderId: string, items: unknown, token = `token-${orderId}`) =>
  request(`${service.url}/internal/reservations/${orderId}`, { method: 'PUT', body: { items, token } });
const release = (orderId: string, productIds: string[], token = `token-${orderId}`) =>
  request(`${service.url}/internal/reservations/${orderId}/release`, { method: 'POST', body: { productIds, token } });

it('reserves every item with its unit price, and a retry for the same order takes nothing more', async () => {
  const [a, b] = [await product(10, 250), await product(5, 1000)];
  const first = await reserve('order-1', [
    { productId: a, quantity: 3 },
    { productId: b, quantity: 5 },
  ]);
  expect(first).toMatchObject({
    status: 200,
    body: {
      lines: [
        { productId: a, quantity: 3, unitPrice: { amount: 250, currency: 'EUR' } },
        { productId: b, quantity: 5, unitPrice: { amount: 1000, currency: 'EUR' } },
      ],
    },
  });
  const retry = await reserve('order-1', [
    { productId: a, quantity: 3 },
    { productId: b, quantity: 5 },
  ]);
  expect(retry.body).toEqual(first.body);
  expect([await stockOf(a), await stockOf(b)]).toEqual([7, 0]);
});

it('reserves none when one item is short, and says which', async () => {
  const [a, b] = [await product(10), await product(1)];
  const response = await reserve('order-2', [
    { productId: a, quantity: 4 },
    { productId: b, quantity: 2 },
  ]);
  expect(response).toMatchObject({ status: 409, body: { error: { code: 'INSUFFICIENT_STOCK', message: expect.stringContaining(b) } } });
  expect([await stockOf(a), await stockOf(b)]).toEqual([10, 1]);
});

it('reserves none when a product does not exist', async () => {
  const a = await product(10);
  const response = await reserve('order-3', [
    { productId: a, quantity: 1 },
    { productId: 'ghost', quantity: 1 },
  ]);
  expect(response).toMatchObject({ status: 404, body: { error: { code: 'PRODUCT_NOT_FOUND' } } });
  expect(await stockOf(a)).toBe(10);
});

it('refuses the same product twice in one reservation', async () => {
  const a = await product(10);
  const response = await reserve('order-4', [
    { productId: a, quantity: 1 },
    { productId: a, quantity: 2 },
  ]);
  expect(response).toMatchObject({
    status: 400,
    body: { error: { code: 'VALIDATION_FAILED', message: expect.stringContaining('items/1/productId repeats') } },
  });
  expect(await stockOf(a)).toBe(10);
});

it('refuses a retry for the same order with another quantity', async () => {
  const a = await product(10);
  await reserve('order-5', [{ productId: a, quantity: 2 }]);
  expect(await reserve('order-5', [{ productId: a, quantity: 3 }])).toMatchObject({ status: 409, body: { error: { code: 'RESERVATION_CONFLICT' } } });
  expect(await stockOf(a)).toBe(8);
});

it('releases exactly what was reserved, once, however often it is asked', async () => {
  const a = await product(10);
  await reserve('order-6', [{ productId: a, quantity: 4 }]);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    expect((await release('order-6', [a])).status).toBe(204);
  }
  expect(await stockOf(a)).toBe(10);
});

it('commit keeps the stock taken and forgets the marker; a release after it gives nothing back', async () => {
  const a = await product(10);
  await reserve('order-7', [{ productId: a, quantity: 4 }]);
  expect((await request(`${service.url}/internal/reservations/order-7/commit`, { method: 'POST', body: { productIds: [a] } })).status).toBe(204);
  await release('order-7', [a]);
  expect(await stockOf(a)).toBe(6);
  // A reserve for the committed order that arrives late (a stalled holder, a retry) takes nothing.
  expect((await reserve('order-7', [{ productId: a, quantity: 4 }], 'late-token')).status).toBe(200);
  expect(await stockOf(a)).toBe(6);
  expect(await service.store.ledger(a)).toMatchObject({ stock: 6, reserved: 0, sold: 4 });
});

it('only the holder of the token releases: a holder whose lease was taken over gives back nothing', async () => {
  const a = await product(10);
  await reserve('order-9', [{ productId: a, quantity: 3 }], 'first-holder');
  // The order's lease passed to a second holder, whose reserve takes the reservation over.
  expect((await reserve('order-9', [{ productId: a, quantity: 3 }], 'second-holder')).status).toBe(200);
  expect(await stockOf(a)).toBe(7);
  await release('order-9', [a], 'first-holder');
  expect(await stockOf(a)).toBe(7);
  await release('order-9', [a], 'second-holder');
  expect(await stockOf(a)).toBe(10);
});

it('a PATCH of stock keeps the reservations made meanwhile: the ledger still adds up', async () => {
  const a = await product(10);
  await reserve('order-10', [{ productId: a, quantity: 4 }]);
  const patched = await request(`${service.url}/products/${a}`, { method: 'PATCH', headers: asUser('admin', SCOPES.productsWrite), body: { stock: 20 } });
  expect(patched).toMatchObject({ status: 200, body: { stock: 20 } });
  await release('order-10', [a]);
  // Released after the PATCH: the 4 come back on top of the 20 available.
  expect(await service.store.ledger(a)).toEqual({ stock: 24, reserved: 0, sold: 0, received: 14, reservations: {} });
});

it('200 concurrent reservations of one unit against a stock of 50: exactly 50 succeed, the rest are refused at once, and stock ends at 0', async () => {
  const a = await product(50);
  const responses = await Promise.all(Array.from({ length: 200 }, (_, index) => reserve(`race-${index}`, [{ productId: a, quantity: 1 }])));
  const statuses = responses.map((response) => response.status);
  expect(statuses.filter((status) => status === 200)).toHaveLength(50);
  // The rest are refused at once: out of stock (409), or more at one product than it queues (503, retry).
  expect(
    responses
      .filter((response) => response.status !== 200)
      .map((response) => `${response.status} ${(response.body as { error: { code: string } }).error.code}`)
      .filter((outcome) => outcome !== '409 INSUFFICIENT_STOCK' && outcome !== '503 PRODUCT_BUSY'),
  ).toEqual([]);
  expect(await stockOf(a)).toBe(0);
}, 60_000);

it('validates the reservation body and the order id', async () => {
  expect((await reserve('order-8', [{ productId: 'a', quantity: 0 }])).status).toBe(400);
  expect((await reserve('order-8', [])).status).toBe(400);
  expect((await reserve('bad id!', [{ productId: 'a', quantity: 1 }])).status).toBe(400);
  expect((await request(`${service.url}/products`, { headers: asUser('x', SCOPES.ordersRead) })).status).toBe(403);
});
