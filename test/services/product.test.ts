/** The product service over real HTTP against dynalite. */
import { SCOPES } from '../../lib/routes/gatehouse-routes';
import { asUser, request } from '../support/http';
import { startDynamo, startProductService } from '../support/services';

let data: Awaited<ReturnType<typeof startDynamo>>;
let service: Awaited<ReturnType<typeof startProductService>>;
const writer = asUser('alice', `${SCOPES.productsRead} ${SCOPES.productsWrite}`);
const reader = asUser('bob', SCOPES.productsRead);
const widget = { name: 'Widget', description: 'A fine widget', price: { amount: 1999, currency: 'EUR' }, stock: 10 };

beforeAll(async () => {
  data = await startDynamo();
  service = await startProductService(data);
});
afterAll(async () => {
  await service?.close();
  await data?.close();
});

async function createProduct(body: unknown = widget): Promise<Record<string, unknown>> {
  const response = await request(`${service.url}/products`, { method: 'POST', headers: writer, body });
  expect(response.status).toBe(201);
  return response.body;
}

describe('POST /products', () => {
  it('creates a product and answers 201 with it, its id and timestamps', async () => {
    const response = await request(`${service.url}/products`, { method: 'POST', headers: { ...writer, 'x-request-id': 'req-42' }, body: widget });
    expect(response.status).toBe(201);
    expect(response.body).toEqual({ id: expect.any(String), ...widget, createdAt: expect.any(String), updatedAt: response.body.createdAt });
    expect(response.headers.get('location')).toBe(`/products/${String(response.body.id)}`);
    expect(response.headers.get('x-request-id')).toBe('req-42');
    expect(response.body).not.toHaveProperty('reservations');
  });

  it('with an Idempotency-Key, a retry returns the same product and creates nothing', async () => {
    const headers = { ...writer, 'idempotency-key': 'create-widget-1' };
    const first = await request(`${service.url}/products`, { method: 'POST', headers, body: widget });
    const retry = await request(`${service.url}/products`, { method: 'POST', headers, body: widget });
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const reused = await request(`${service.url}/products`, { method: 'POST', headers, body: { ...widget, name: 'Other' } });
    expect(reused.status).toBe(422);
    expect(reused.body).toMatchObject({ error: { code: 'IDEMPOTENCY_KEY_REUSED' } });
  });

  it.each<[string, unknown, RegExp]>([
    ['a missing name', { price: widget.price, stock: 1 }, /body must have required property 'name'/],
    ['a name of the wrong type', { ...widget, name: 42 }, /body\/name must be string/],
    ['a negative stock', { ...widget, stock: -1 }, /body\/stock must be >= 0/],
    ['a fractional amount', { ...widget, price: { amount: 1.5, currency: 'EUR' } }, /body\/price\/amount must be integer/],
    ['a lower-case currency', { ...widget, price: { amount: 1, currency: 'eur' } }, /body\/price\/currency must match pattern/],
    ['an unknown currency', { ...widget, price: { amount: 1, currency: 'XYZ' } }, /body\/price\/currency must be an ISO 4217 currency code, got XYZ/],
    ['an unknown property', { ...widget, colour: 'red' }, /body must not have the property colour/],
  ])('400 for %s, naming the field, and nothing stored', async (_name, body, message) => {
    const before = await request<{ items: unknown[] }>(`${service.url}/products?limit=100`, { headers: reader });
    const response = await request<{ error: { code: string; message: string; requestId: string } }>(`${service.url}/products`, {
      method: 'POST',
      headers: writer,
      body,
    });
    expect(response.status).toBe(400);
    expect(response.body.error).toEqual({ code: 'VALIDATION_FAILED', message: expect.stringMatching(message), requestId: expect.any(String) });
    const after = await request<{ items: unknown[] }>(`${service.url}/products?limit=100`, { headers: reader });
    expect(after.body.items).toHaveLength(before.body.items.length);
  });

  it('400 for malformed JSON, 413 for an oversized body, 415 for a body that is not JSON', async () => {
    const malformed = await request(`${service.url}/products`, { method: 'POST', headers: writer, body: '{"name": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ error: { code: 'MALFORMED_JSON' } });
    const oversized = await request(`${service.url}/products`, { method: 'POST', headers: writer, body: { ...widget, description: 'x'.repeat(70_000) } });
    expect(oversized.status).toBe(413);
    expect(oversized.body).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    const text = await fetch(`${service.url}/products`, { method: 'POST', headers: { ...writer, 'content-type': 'text/plain' }, body: 'hello' });
    expect(text.status).toBe(415);
  });

  it('401 without the gateway identity, 403 without products:write, before looking at the body', async () => {
    const anonymous = await request(`${service.url}/products`, { method: 'POST', body: {} });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    const readOnly = await request(`${service.url}/products`, { method: 'POST', headers: reader, body: {} });
    expect(readOnly.status).toBe(403);
    expect(readOnly.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
  });
});

describe('GET /products/{id} and PATCH /products/{id}', () => {
  it('gets a product, updates some fields, and keeps the rest', async () => {
    const created = await createProduct();
    const got = await request(`${service.url}/products/${String(created.id)}`, { headers: reader });
    expect(got).toMatchObject({ status: 200, body: created });

    const patched = await request(`${service.url}/products/${String(created.id)}`, {
      method: 'PATCH',
      headers: writer,
      body: { stock: 3, price: { amount: 2500, currency: 'EUR' } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({ ...created, stock: 3, price: { amount: 2500, currency: 'EUR' }, updatedAt: expect.any(String) });
  });

  it('404 for an unknown product, on GET and PATCH', async () => {
    expect(await request(`${service.url}/products/nope`, { headers: reader })).toMatchObject({ status: 404, body: { error: { code: 'PRODUCT_NOT_FOUND' } } });
    expect(await request(`${service.url}/products/nope`, { method: 'PATCH', headers: writer, body: { stock: 1 } })).toMatchObject({ status: 404 });
  });

  it('400 for an empty patch', async () => {
    const created = await createProduct();
    const response = await request(`${service.url}/products/${String(created.id)}`, { method: 'PATCH', headers: writer, body: {} });
    expect(response).toMatchObject({
      status: 400,
      body: { error: { code: 'VALIDATION_FAILED', message: expect.stringMatching(/body must NOT have fewer than 1 properties/) } },
    });
  });
});

describe('GET /products', () => {
  it('pages through every product exactly once with the cursor', async () => {
    for (let index = 0; index < 7; index += 1) await createProduct({ ...widget, name: `Paged ${index}` });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? '?limit=3' : `?limit=3&cursor=${cursor}`;
      const page = await request<{ items: { id: string }[]; nextCursor: string | null }>(`${service.url}/products${query}`, { headers: reader });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.items.map((item) => item.id));
      cursor = page.body.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 50);
    expect(new Set(seen).size).toBe(seen.length);
    const all = await request<{ items: unknown[] }>(`${service.url}/products?limit=100`, { headers: reader });
    expect(seen).toHaveLength(all.body.items.length);
  });

  it.each(['0', '101', 'ten', '-1', '1.5'])('400 for limit=%s', async (limit) => {
    const response = await request(`${service.url}/products?limit=${limit}`, { headers: reader });
    expect(response).toMatchObject({ status: 400, body: { error: { code: 'INVALID_QUERY', message: expect.stringContaining('limit') } } });
  });

  it('400 for a cursor it did not issue', async () => {
    const forged = Buffer.from(JSON.stringify({ id: 'x', extra: 1 })).toString('base64url');
    for (const cursor of ['not-base64!', forged, Buffer.from('[1]').toString('base64url')]) {
      const response = await request(`${service.url}/products?cursor=${encodeURIComponent(cursor)}`, { headers: reader });
      expect(response).toMatchObject({ status: 400, body: { error: { code: 'INVALID_CURSOR' } } });
    }
  });
});

describe('health', () => {
  it('answers /health and /ready', async () => {
    expect(await request(`${service.url}/health`)).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await request(`${service.url}/ready`)).toMatchObject({ status: 200, body: { status: 'ready' } });
  });

  it('answers an unknown route with the JSON error body', async () => {
    expect(await request(`${service.url}/nope`)).toMatchObject({ status: 404, body: { error: { code: 'ROUTE_NOT_FOUND', requestId: expect.any(String) } } });
  });
});
