/**
 * The end-to-end suite: the whole system through its one entry point, as a client calls it. It runs in
 * `npm test` against `npm start`, and with `npm run e2e -- --outputs <file>` against a deployed stack.
 */
import { randomUUID } from 'node:crypto';
import { SCOPES, SERVICES } from '../../lib/routes/gatehouse-routes';
import { eventually, instanceOf, restarted } from './local-runtime';
import type { Target } from './target';

/** A response with its JSON body. */
interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

const ALL_SCOPES = Object.values(SCOPES);

/**
 * Declares the suite; `target` is read when the tests run (after the system is up). With `local`, the
 * cases that need the local runtime (spending a tier's burst, killing a process) are declared too.
 */
export function describeEndToEnd(target: () => Target, options: { readonly local: boolean }): void {
  const call = async (
    path: string,
    options: { method?: string; token?: string; apiKey?: string | null; headers?: Record<string, string>; body?: unknown } = {},
  ): Promise<Answer> => {
    const { apiUrl, apiKey } = target();
    const response = await fetch(`${apiUrl}${path}`, {
      method: options.method ?? 'GET',
      headers: {
        ...(options.apiKey !== null && { 'x-api-key': options.apiKey ?? apiKey }),
        ...(options.token !== undefined && { authorization: `Bearer ${options.token}` }),
        ...(options.body !== undefined && { 'content-type': 'application/json' }),
        ...options.headers,
      },
      ...(options.body !== undefined && { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  };
  const everything = () => target().token('e2e-alice', ALL_SCOPES);
  const createProduct = async (token: string, stock = 100): Promise<string> => {
    const created = await call('products', { method: 'POST', token, body: { name: `e2e ${randomUUID()}`, price: { amount: 1500, currency: 'EUR' }, stock } });
    expect(created.status).toBe(201);
    return String(created.body.id);
  };
  const placeOrder = (token: string, productId: string, key = randomUUID(), headers: Record<string, string> = {}) =>
    call('orders', { method: 'POST', token, headers: { 'idempotency-key': key, ...headers }, body: { items: [{ productId, quantity: 1 }] } });

  describe('end to end', () => {
    it('runs the order flow: create a product, place an order, read both back', async () => {
      const token = await everything();
      const productId = await createProduct(token, 5);
      expect(await call(`products/${productId}`, { token })).toMatchObject({ status: 200, body: { id: productId, stock: 5 } });

      const placed = await placeOrder(token, productId);
      expect(placed).toMatchObject({
        status: 201,
        body: {
          status: 'CONFIRMED',
          items: [{ productId, quantity: 1, unitPrice: { amount: 1500, currency: 'EUR' } }],
          total: { amount: 1500, currency: 'EUR' },
        },
      });
      expect(placed.headers.get('x-request-id')).toMatch(/\S/);
      expect(await call(`orders/${String(placed.body.id)}`, { token })).toMatchObject({ status: 200, body: { id: placed.body.id } });
      const listed = await call('orders?limit=100', { token });
      expect((listed.body.items as { id: string }[]).map((order) => order.id)).toContain(placed.body.id);
      expect(await call(`products/${productId}`, { token })).toMatchObject({ body: { stock: 4 } });
    });

    it('answers 401 without a token and with a bad one, in the JSON error shape', async () => {
      const none = await call('products');
      expect(none).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED', requestId: expect.any(String) } } });
      const forged = `${(await everything()).slice(0, -4)}AAAA`;
      expect(await call('products', { token: forged })).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    });

    it('answers 403 for a scope the token lacks, and for a missing or unknown API key', async () => {
      const reader = await target().token('e2e-reader', [SCOPES.productsRead]);
      expect(await call('products', { token: reader })).toMatchObject({ status: 200 });
      expect(await call('orders', { token: reader })).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
      const token = await everything();
      expect(await call('products', { token, apiKey: null })).toMatchObject({ status: 403, body: { error: { code: 'INVALID_API_KEY' } } });
      expect(await call('products', { token, apiKey: 'not-a-key-of-ours' })).toMatchObject({ status: 403, body: { error: { code: 'INVALID_API_KEY' } } });
    });

    it('answers 400 from validation, before any service sees the body', async () => {
      const token = await everything();
      const invalid = await call('orders', {
        method: 'POST',
        token,
        headers: { 'idempotency-key': randomUUID() },
        body: { items: [{ productId: 'x', quantity: 0 }] },
      });
      // The gateway's own answer (a service would name the field): the body never left the gateway.
      expect(invalid).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED', message: 'Invalid request body' } } });
    });

    it('ignores a client-sent x-user-id: the order belongs to the token', async () => {
      const token = await everything();
      const productId = await createProduct(token);
      const honest = await placeOrder(token, productId);
      const spoofed = await placeOrder(token, productId, randomUUID(), { 'x-user-id': 'mallory', 'x-user-scopes': 'admin' });
      expect(spoofed.status).toBe(201);
      expect(spoofed.body.customerId).toBe(honest.body.customerId);
      expect(spoofed.body.customerId).not.toBe('mallory');
    });

    it('places an order once, however often it is retried with its Idempotency-Key', async () => {
      const token = await everything();
      const productId = await createProduct(token, 10);
      const key = randomUUID();
      const attempts = await Promise.all([placeOrder(token, productId, key), placeOrder(token, productId, key), placeOrder(token, productId, key)]);
      expect(attempts.map((attempt) => attempt.status)).toEqual([201, 201, 201]);
      expect(new Set(attempts.map((attempt) => attempt.body.id)).size).toBe(1);
      expect(await call(`products/${productId}`, { token })).toMatchObject({ body: { stock: 9 } });
    });

    if (!options.local) return;

    // Only locally: npm start trusts two development issuers, one minting OIDC-shaped tokens (aud) and
    // one Cognito-shaped access tokens (client_id, token_use, gatehouse/ scopes); AWS trusts what it is configured with.
    it('runs the order flow with a Cognito-shaped access token, its prefixed scopes mapped to the routes', async () => {
      const token = await target().token('e2e-machine', ALL_SCOPES, 'cognito');
      const productId = await createProduct(token, 3);
      const placed = await placeOrder(token, productId);
      expect(placed).toMatchObject({ status: 201, body: { status: 'CONFIRMED' } });
      expect(await call(`orders/${String(placed.body.id)}`, { token })).toMatchObject({ status: 200 });
      const reader = await target().token('e2e-machine', [SCOPES.productsRead], 'cognito');
      expect(await call('orders', { token: reader })).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    });

    it("keeps two issuers' alice apart: two customers, neither sees the other's orders", async () => {
      const fromOidc = await target().token('e2e-alice-twice', ALL_SCOPES, 'oidc');
      const fromCognito = await target().token('e2e-alice-twice', ALL_SCOPES, 'cognito');
      const productId = await createProduct(fromOidc, 10);
      const first = await placeOrder(fromOidc, productId);
      const second = await placeOrder(fromCognito, productId);
      expect([first.status, second.status]).toEqual([201, 201]);
      expect(first.body.customerId).not.toBe(second.body.customerId);
      expect(await call(`orders/${String(second.body.id)}`, { token: fromOidc })).toMatchObject({ status: 404 });
      expect(await call(`orders/${String(first.body.id)}`, { token: fromCognito })).toMatchObject({ status: 404 });
      const listed = await call('orders?limit=100', { token: fromCognito });
      expect((listed.body.items as { id: string }[]).map((order) => order.id)).not.toContain(first.body.id);
    });

    // Only locally: a deployed stack's tiers belong to its operator, and AWS replaces failed tasks itself.
    it("answers 429 once a tier's burst is spent, and serves again after the refill", async () => {
      const throttled = target().throttled;
      if (throttled === undefined) throw new Error('the local outputs name no basic tier');
      const token = await everything();
      const get = () => call('products?limit=1', { token, apiKey: throttled.apiKey });
      // Waves of twice the burst, sent at once: a wave gets through only if the bucket refills by a
      // whole burst while it is in flight (burstLimit / rateLimit seconds, 2 s for basic), which a
      // loaded machine might do once but not wave after wave. Waves go on until one is refused.
      const refused = await eventually(
        'a 429 from the basic tier',
        async () => (await Promise.all(Array.from({ length: throttled.burstLimit * 2 }, get))).find((answer) => answer.status === 429),
        { timeoutMs: 20_000, intervalMs: 0 },
      );
      expect(refused.body).toMatchObject({ error: { code: 'THROTTLED' } });
      // A token comes back every 1 / rateLimit seconds: asked at that pace, the tier serves again.
      await eventually('the basic tier to serve again', async () => (await get()).status === 200, {
        timeoutMs: 10_000,
        intervalMs: Math.ceil(1000 / throttled.rateLimit),
      });
    }, 60_000);

    it('keeps placing orders when a product instance is killed mid-run, and the instance comes back', async () => {
      const local = target().local;
      if (local === undefined) throw new Error('the local outputs list no processes');
      const token = await everything();
      const productId = await createProduct(token, 100);
      const victim = instanceOf(local, 'product-1');
      process.kill(victim.pid, 'SIGKILL');
      const results = [];
      for (let index = 0; index < 6; index += 1) results.push((await placeOrder(token, productId)).status);
      expect(results).toEqual(Array(6).fill(201));
      // The supervisor restarts it as ECS replaces a task, so the next run finds two instances again.
      const back = await restarted(local, SERVICES.product, victim);
      expect(back.pid).not.toBe(victim.pid);
    }, 90_000);
  });
}
