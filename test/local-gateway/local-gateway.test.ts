/**
 * The local gateway over real HTTP: Gatehouse's route spec, the real authorizer handler with keys made
 * here and a JWKS on loopback, and upstreams that echo what reached them. Each check is asserted as
 * the client sees it (status, JSON error shape, code from GATEWAY_ERRORS) and as the service sees it.
 */
import { request as httpRequest } from 'node:http';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { createAuthorizerHandler } from '../../lambda/authorizer/handler';
import type { AuthorizerHandler } from '../../lambda/authorizer/handler';
import { GATEWAY_ERRORS } from '../../lib/gateway/gateway-errors';
import { GATEHOUSE_ROUTES, SCOPES, SERVICES } from '../../lib/routes/gatehouse-routes';
import { GATEWAY_HEADERS } from '../../lib/routes/headers';
import { API_KEY_HEADER, LocalGateway, MAX_BODY_BYTES, UPSTREAM_FAILURE_STATUS } from '../../local/gateway';
import type { LocalGatewayOptions, LocalTier } from '../../local/gateway';
import { MemoryLogger, testConfig } from '../support/authorizer';
import { TestIssuer } from '../support/test-issuer';
import { refusingUrl } from '../support/refusing';
import { ECHO_STATUS_HEADER, EchoUpstream } from './upstreams';
import type { Received } from './upstreams';

const T0 = Date.UTC(2030, 0, 15, 12);
const STAGE = 'v1';
const PRO_KEY = 'pro-key-0123456789abcdefghij';
const TINY_KEY = 'tiny-key-0123456789abcdefghi';
const QUOTA_KEY = 'quota-key-0123456789abcdefgh';
const TIERS: readonly LocalTier[] = [
  { name: 'pro', rateLimit: 1000, burstLimit: 10_000, apiKeys: [PRO_KEY] },
  { name: 'tiny', rateLimit: 1, burstLimit: 2, apiKeys: [TINY_KEY] },
  { name: 'quota', rateLimit: 1000, burstLimit: 1000, quota: { limit: 3, period: 'DAY' }, apiKeys: [QUOTA_KEY] },
];
const ALL_SCOPES = Object.values(SCOPES).join(' ');
const VALID_ORDER = { items: [{ productId: 'p-1', quantity: 2 }] };

let issuer: TestIssuer;
let downIssuer: TestIssuer;
let handler: AuthorizerHandler;
let product: EchoUpstream;
let productB: EchoUpstream;
let order: EchoUpstream;
let refused: string;
let clock = T0;
let instances: Record<string, string[]>;
let fullToken: string;
const open: LocalGateway[] = [];

/** The authorizer with a count of its calls and the events it was given. */
function counting(inner: AuthorizerHandler): { handler: AuthorizerHandler; events: APIGatewayRequestAuthorizerEvent[] } {
  const events: APIGatewayRequestAuthorizerEvent[] = [];
  return {
    events,
    handler: async (event) => {
      events.push(event);
      return inner(event);
    },
  };
}

/** A gateway over Gatehouse's routes with test tiers and a clock the test moves. */
async function startGateway(overrides: Partial<LocalGatewayOptions> = {}): Promise<{ gateway: LocalGateway; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const gateway = await LocalGateway.start({
    routes: GATEHOUSE_ROUTES,
    stageName: STAGE,
    tiers: TIERS,
    stageThrottle: { rateLimit: 10_000, burstLimit: 100_000 },
    authorizer: handler,
    authorizerCacheTtlSeconds: 300,
    resolveService: async (service) => instances[service] ?? [],
    integrationTimeoutMs: 2_000,
    log: (fields) => lines.push(fields),
    now: () => clock,
    ...overrides,
  });
  open.push(gateway);
  return { gateway, lines };
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

/** What an EchoUpstream answers: the request as it saw it, and its name. */
type Echo = Received & { readonly upstream: string };

/** Calls the gateway with a token and the pro key unless told otherwise. */
async function call(
  gateway: LocalGateway,
  method: string,
  path: string,
  options: { token?: string | null; apiKey?: string | null; headers?: Record<string, string>; body?: unknown } = {},
): Promise<Answer> {
  const token = options.token === undefined ? fullToken : options.token;
  const apiKey = options.apiKey === undefined ? PRO_KEY : options.apiKey;
  const hasBody = options.body !== undefined;
  const response = await fetch(`${gateway.apiUrl}${path.replace(/^\//, '')}`, {
    method,
    headers: {
      ...(token !== null && { authorization: `Bearer ${token}` }),
      ...(apiKey !== null && { [API_KEY_HEADER]: apiKey }),
      ...(hasBody && { 'content-type': 'application/json' }),
      ...options.headers,
    },
    ...(hasBody && { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
  });
  const text = await response.text();
  const body: unknown = text === '' ? {} : JSON.parse(text);
  return { status: response.status, headers: response.headers, body };
}

/** A request through node:http, for what fetch will not send (a Connection header, a length with no body). */
function rawCall(url: string, options: { method: string; headers: Record<string, string> }): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const outgoing = httpRequest(url, { method: options.method, headers: options.headers });
    outgoing.on('error', reject);
    outgoing.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(response.headers)) if (typeof value === 'string') headers.set(name, value);
        const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        resolve({ status: response.statusCode ?? 0, headers, body });
        outgoing.destroy();
      });
    });
    if (options.headers['content-length'] === undefined) outgoing.end();
    else outgoing.flushHeaders();
  });
}

/** The echo of what the upstream received, from an answer the upstream made. */
function echoed(answer: Answer): Echo {
  const { body } = answer;
  assertEcho(body);
  return body;
}

function assertEcho(value: unknown): asserts value is Echo {
  if (
    typeof value !== 'object' ||
    value === null ||
    !('upstream' in value) ||
    typeof value.upstream !== 'string' ||
    !('headers' in value) ||
    typeof value.headers !== 'object'
  ) {
    throw new Error(`not an upstream's echo: ${JSON.stringify(value)}`);
  }
}

/** Asserts a gateway-made error: status and code from GATEWAY_ERRORS, the JSON shape, the request id. */
function expectGatewayError(answer: Answer, responseType: string, status?: number, message?: string): void {
  const entry = GATEWAY_ERRORS.find((error) => error.responseType === responseType);
  if (entry === undefined) throw new Error(`no GATEWAY_ERRORS entry ${responseType}`);
  const requestId = answer.headers.get(GATEWAY_HEADERS.requestId);
  expect({ status: answer.status, contentType: answer.headers.get('content-type'), body: answer.body }).toEqual({
    status: status ?? entry.status,
    contentType: 'application/json',
    body: { error: { code: entry.code, message: message ?? expect.any(String), requestId } },
  });
  expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
}

beforeAll(async () => {
  [issuer, downIssuer, product, productB, order] = await Promise.all([
    TestIssuer.start(),
    TestIssuer.start(),
    EchoUpstream.start('product-a'),
    EchoUpstream.start('product-b'),
    EchoUpstream.start('order'),
  ]);
  refused = await refusingUrl();
  handler = createAuthorizerHandler(testConfig([issuer]), { logger: new MemoryLogger() });
  fullToken = await issuer.sign({ sub: 'alice', scope: ALL_SCOPES });
});
beforeEach(() => {
  clock = T0;
  instances = { [SERVICES.product]: [product.url], [SERVICES.order]: [order.url] };
  product.delayMs = 0;
  for (const upstream of [product, productB, order]) upstream.received.length = 0;
});
afterAll(async () => {
  await Promise.all(open.map((gateway) => gateway.close()));
  await Promise.all([issuer, downIssuer, product, productB, order].map((closable) => closable.close()));
});

describe('routing', () => {
  it('serves under the stage: apiUrl is the stage URL', async () => {
    const { gateway } = await startGateway();
    expect(gateway.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(gateway.apiUrl).toBe(`${gateway.url}/${STAGE}/`);
  });

  it('sends a route with a path parameter to its service: method, path without the stage, query and headers as sent', async () => {
    const { gateway } = await startGateway();
    const answer = await call(gateway, 'GET', '/products/p%201?limit=5&tag=a&tag=b', { headers: { 'x-client': 'yes' } });
    expect(answer.status).toBe(200);
    const seen = echoed(answer);
    expect(seen).toMatchObject({ upstream: 'product-a', method: 'GET', url: '/products/p%201?limit=5&tag=a&tag=b', body: '' });
    expect(seen.headers).toMatchObject({ 'x-client': 'yes', authorization: `Bearer ${fullToken}`, host: new URL(product.url).host });
  });

  it('sends a body route to its service with the body and its type', async () => {
    const { gateway } = await startGateway();
    const seen = echoed(await call(gateway, 'POST', '/orders', { body: VALID_ORDER }));
    expect(seen).toMatchObject({ upstream: 'order', method: 'POST', url: '/orders', body: JSON.stringify(VALID_ORDER) });
    expect(seen.headers['content-type']).toBe('application/json');
    expect(seen.headers['content-length']).toBe(String(JSON.stringify(VALID_ORDER).length));
  });

  it("streams the service's status and headers back, with the gateway's request id", async () => {
    const { gateway } = await startGateway();
    const answer = await call(gateway, 'POST', '/orders', { body: VALID_ORDER, headers: { [ECHO_STATUS_HEADER]: '201' } });
    expect(answer.status).toBe(201);
    expect(answer.headers.get('x-upstream')).toBe('order');
    expect(answer.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(answer.headers.get(GATEWAY_HEADERS.requestId)).toBe(echoed(answer).headers[GATEWAY_HEADERS.requestId]);
  });

  it('passes a service error through as the service made it', async () => {
    const { gateway } = await startGateway();
    const answer = await call(gateway, 'GET', '/products/p-1', { headers: { [ECHO_STATUS_HEADER]: '404' } });
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({ upstream: 'product-a' });
  });

  it.each([
    ['an unknown path', 'GET', '/nope'],
    ['a path below a route', 'GET', '/products/p-1/extra'],
    ['the stage root', 'GET', '/'],
    ['a known path with a method it lacks', 'DELETE', '/products/p-1'],
    ['a known path with OPTIONS (no CORS)', 'OPTIONS', '/orders'],
  ])('answers %s as a missing route, without calling the authorizer or a service', async (_name, method, path) => {
    const counted = counting(handler);
    const { gateway } = await startGateway({ authorizer: counted.handler });
    const answer = await call(gateway, method, path);
    expectGatewayError(answer, 'MISSING_AUTHENTICATION_TOKEN', 404, 'Missing Authentication Token');
    expect(counted.events).toHaveLength(0);
    expect(product.received).toHaveLength(0);
  });

  it('answers a path outside the stage as a missing route', async () => {
    const { gateway } = await startGateway();
    const response = await fetch(`${gateway.url}/v2/products`, { headers: { authorization: `Bearer ${fullToken}`, [API_KEY_HEADER]: PRO_KEY } });
    const body: unknown = await response.json();
    expectGatewayError({ status: response.status, headers: response.headers, body }, 'MISSING_AUTHENTICATION_TOKEN', 404);
  });
});

describe('authorizer', () => {
  it('gives the handler a REQUEST event for the concrete path, with headers as received and the request id', async () => {
    const counted = counting(handler);
    const { gateway } = await startGateway({ authorizer: counted.handler });
    const answer = await call(gateway, 'GET', '/products/p-9?limit=2', { headers: { 'X-Mixed-Case': 'v' } });
    expect(answer.status).toBe(200);
    expect(counted.events).toHaveLength(1);
    const [event] = counted.events;
    expect(event).toMatchObject({
      type: 'REQUEST',
      methodArn: `arn:aws:execute-api:local:000000000000:local/${STAGE}/GET/products/p-9`,
      resource: '/products/{id}',
      path: '/products/p-9',
      httpMethod: 'GET',
      pathParameters: { id: 'p-9' },
      queryStringParameters: { limit: '2' },
      requestContext: { requestId: answer.headers.get(GATEWAY_HEADERS.requestId), stage: STAGE, resourcePath: '/products/{id}' },
    });
    expect(event.headers?.authorization).toBe(`Bearer ${fullToken}`);
    expect(event.multiValueHeaders?.authorization).toEqual([`Bearer ${fullToken}`]);
  });

  it('answers 401 without calling the handler when there is no Authorization header, or an empty one', async () => {
    const counted = counting(handler);
    const { gateway } = await startGateway({ authorizer: counted.handler });
    expectGatewayError(await call(gateway, 'GET', '/products', { token: null }), 'UNAUTHORIZED', 401, 'Unauthorized');
    expectGatewayError(await call(gateway, 'GET', '/products', { token: null, headers: { authorization: '' } }), 'UNAUTHORIZED', 401);
    expect(counted.events).toHaveLength(0);
    expect(product.received).toHaveLength(0);
  });

  it.each([
    ['a token that is not a JWT', async () => 'not-a-jwt'],
    ['a token of an untrusted issuer', async () => downIssuer.sign({ iss: issuer.issuer })],
    ['an expired token', async () => issuer.sign({}, { expiresIn: -3600 })],
  ])('answers 401 to %s, after asking the handler, and caches nothing', async (_name, makeToken) => {
    const counted = counting(handler);
    const { gateway } = await startGateway({ authorizer: counted.handler });
    const token = await makeToken();
    expectGatewayError(await call(gateway, 'GET', '/products', { token }), 'UNAUTHORIZED', 401, 'Unauthorized');
    expectGatewayError(await call(gateway, 'GET', '/products', { token }), 'UNAUTHORIZED', 401);
    expect(counted.events).toHaveLength(2);
    expect(product.received).toHaveLength(0);
  });

  it('answers 403 to a valid token without the scope of the route, and the service sees nothing', async () => {
    const { gateway } = await startGateway();
    const token = await issuer.sign({ scope: SCOPES.productsRead });
    expectGatewayError(
      await call(gateway, 'POST', '/orders', { token, body: VALID_ORDER }),
      'ACCESS_DENIED',
      403,
      'User is not authorized to access this resource',
    );
    expect(order.received).toHaveLength(0);
    expect((await call(gateway, 'GET', '/products', { token })).status).toBe(200);
  });

  it('answers 500 AUTHORIZER_FAILURE when the handler fails (keys unreachable), and does not cache the failure', async () => {
    downIssuer.mode = 'down';
    const counted = counting(createAuthorizerHandler(testConfig([downIssuer]), { logger: new MemoryLogger() }));
    const { gateway, lines } = await startGateway({ authorizer: counted.handler });
    const token = await downIssuer.sign({ scope: ALL_SCOPES });
    expectGatewayError(await call(gateway, 'GET', '/products', { token }), 'AUTHORIZER_FAILURE', 500);
    expectGatewayError(await call(gateway, 'GET', '/products', { token }), 'AUTHORIZER_FAILURE', 500);
    expect(counted.events).toHaveLength(2);
    expect(lines[0]).toMatchObject({ status: 500, code: 'AUTHORIZER_FAILURE', detail: 'Authorizer failed: JWKS_UNAVAILABLE' });
    downIssuer.mode = 'ok';
  });

  it('answers 500 when the handler returns a policy API Gateway would refuse', async () => {
    const broken: AuthorizerHandler = async () =>
      ({ principalId: 'alice', policyDocument: { Version: '2012-10-17', Statement: [] } }) satisfies APIGatewayAuthorizerResult;
    const { gateway } = await startGateway({ authorizer: broken });
    expectGatewayError(await call(gateway, 'GET', '/products'), 'AUTHORIZER_CONFIGURATION_ERROR', 500);
  });
});

describe('authorizer result cache', () => {
  it('reuses a result within the TTL for every route, and asks again after it', async () => {
    const counted = counting(handler);
    const { gateway, lines } = await startGateway({ authorizer: counted.handler, authorizerCacheTtlSeconds: 60 });
    const token = await issuer.sign({ scope: SCOPES.productsRead });

    expect((await call(gateway, 'GET', '/products', { token })).status).toBe(200);
    expect((await call(gateway, 'GET', '/products/p-1', { token })).status).toBe(200);
    expect(counted.events).toHaveLength(1);

    // The cached policy was built for GET /products, and still denies what the scopes do not permit.
    expectGatewayError(await call(gateway, 'POST', '/orders', { token, body: VALID_ORDER }), 'ACCESS_DENIED', 403);
    expect(counted.events).toHaveLength(1);
    expect(lines.map((line) => line.authorizer)).toEqual(['authorizer', 'cache', 'cache']);

    clock = T0 + 60_000;
    expect((await call(gateway, 'GET', '/products', { token })).status).toBe(200);
    expect(counted.events).toHaveLength(2);
  });

  it('keys the cache by the Authorization value: another token is asked about', async () => {
    const counted = counting(handler);
    const { gateway } = await startGateway({ authorizer: counted.handler });
    await call(gateway, 'GET', '/products', { token: await issuer.sign({ sub: 'alice', scope: SCOPES.productsRead }) });
    const bob = await call(gateway, 'GET', '/products', { token: await issuer.sign({ sub: 'bob', scope: SCOPES.productsRead }) });
    expect(counted.events).toHaveLength(2);
    expect(echoed(bob).headers[GATEWAY_HEADERS.userId]).toBe('bob');
  });

  it('asks the handler on every request with a TTL of 0', async () => {
    const counted = counting(handler);
    const { gateway } = await startGateway({ authorizer: counted.handler, authorizerCacheTtlSeconds: 0 });
    await call(gateway, 'GET', '/products');
    await call(gateway, 'GET', '/products');
    expect(counted.events).toHaveLength(2);
  });
});

describe('API keys', () => {
  it.each([
    ['no API key', null],
    ['an unknown API key', 'not-a-key-of-any-tier'],
  ])('answers 403 INVALID_API_KEY to %s, after the authorizer, and the service sees nothing', async (_name, apiKey) => {
    const { gateway } = await startGateway();
    expectGatewayError(await call(gateway, 'GET', '/products', { apiKey }), 'INVALID_API_KEY', 403, 'Forbidden');
    expect(product.received).toHaveLength(0);
  });

  it('checks the token before the key: a request with neither is a 401', async () => {
    const { gateway } = await startGateway();
    expectGatewayError(await call(gateway, 'GET', '/products', { token: null, apiKey: null }), 'UNAUTHORIZED', 401);
  });

  it('passes the key on to the service, as HTTP_PROXY does', async () => {
    const { gateway } = await startGateway();
    expect(echoed(await call(gateway, 'GET', '/products')).headers[API_KEY_HEADER]).toBe(PRO_KEY);
  });
});

describe('throttling and quotas', () => {
  it("answers 429 THROTTLED once a tier's burst is spent, and passes again after the refill", async () => {
    const { gateway } = await startGateway();
    const statuses: number[] = [];
    for (let index = 0; index < 3; index += 1) statuses.push((await call(gateway, 'GET', '/products', { apiKey: TINY_KEY })).status);
    expect(statuses).toEqual([200, 200, 429]);
    expectGatewayError(await call(gateway, 'GET', '/products', { apiKey: TINY_KEY }), 'THROTTLED', 429, 'Too Many Requests');
    expect(product.received).toHaveLength(2);
    // Another key's bucket is its own.
    expect((await call(gateway, 'GET', '/products')).status).toBe(200);

    clock = T0 + 999;
    expect((await call(gateway, 'GET', '/products', { apiKey: TINY_KEY })).status).toBe(429);
    clock = T0 + 1000;
    expect((await call(gateway, 'GET', '/products', { apiKey: TINY_KEY })).status).toBe(200);
  });

  it('answers 429 QUOTA_EXCEEDED past the quota, until the next period starts (UTC)', async () => {
    const { gateway } = await startGateway();
    for (let index = 0; index < 3; index += 1) expect((await call(gateway, 'GET', '/products', { apiKey: QUOTA_KEY })).status).toBe(200);
    expectGatewayError(await call(gateway, 'GET', '/products', { apiKey: QUOTA_KEY }), 'QUOTA_EXCEEDED', 429, 'Limit Exceeded');
    clock = Date.UTC(2030, 0, 16) - 1;
    expect((await call(gateway, 'GET', '/products', { apiKey: QUOTA_KEY })).status).toBe(429);
    clock = Date.UTC(2030, 0, 16);
    expect((await call(gateway, 'GET', '/products', { apiKey: QUOTA_KEY })).status).toBe(200);
  });

  it("throttles POST /orders on the spec's own limit (burst 100) while other routes still pass", async () => {
    const route = GATEHOUSE_ROUTES.find((candidate) => candidate.method === 'POST' && candidate.path === '/orders');
    const burst = route?.throttle?.burstLimit ?? 0;
    expect(burst).toBe(100);
    const { gateway } = await startGateway();
    let passed = 0;
    for (let batch = 0; batch < burst / 20; batch += 1) {
      const answers = await Promise.all(Array.from({ length: 20 }, () => call(gateway, 'POST', '/orders', { body: VALID_ORDER })));
      passed += answers.filter((answer) => answer.status === 200).length;
    }
    expect(passed).toBe(burst);
    expectGatewayError(await call(gateway, 'POST', '/orders', { body: VALID_ORDER }), 'THROTTLED', 429);
    expect((await call(gateway, 'GET', '/orders')).status).toBe(200);
    expect(order.received).toHaveLength(burst + 1);
  });

  it('throttles the whole stage across keys', async () => {
    const { gateway } = await startGateway({ stageThrottle: { rateLimit: 1, burstLimit: 1 } });
    expect((await call(gateway, 'GET', '/products')).status).toBe(200);
    expectGatewayError(await call(gateway, 'GET', '/products', { apiKey: QUOTA_KEY }), 'THROTTLED', 429);
  });
});

describe('body validation', () => {
  it.each([
    ['a body that breaks the schema', { items: [] }],
    ['a body with an unknown field', { ...VALID_ORDER, coupon: 'FREE' }],
    ['malformed JSON', '{"items": ['],
    ['no body at all', ''],
  ])('answers 400 VALIDATION_FAILED to %s before the service is reached', async (_name, body) => {
    const { gateway } = await startGateway();
    const answer = await call(gateway, 'POST', '/orders', { body });
    expectGatewayError(answer, 'BAD_REQUEST_BODY', 400, 'Invalid request body');
    expect(order.received).toHaveLength(0);
  });

  it('validates only after the authorizer: an invalid body without a token is a 401', async () => {
    const { gateway } = await startGateway();
    expectGatewayError(await call(gateway, 'POST', '/orders', { token: null, body: { items: [] } }), 'UNAUTHORIZED', 401);
  });

  it('answers 413 to a body over 10 MB, before anything else', async () => {
    const { gateway } = await startGateway();
    // Headers only: the gateway answers on the declared length, without reading 10 MB.
    const answer = await rawCall(`${gateway.apiUrl}orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(MAX_BODY_BYTES + 1) },
    });
    expectGatewayError(answer, 'REQUEST_TOO_LARGE', 413);
  });
});

describe('identity headers', () => {
  it("overrides the client's x-user-id, x-user-scopes and x-request-id with the token's and the gateway's", async () => {
    const { gateway } = await startGateway();
    const token = await issuer.sign({ sub: 'alice', scope: `${SCOPES.productsRead} ${SCOPES.ordersRead}` });
    const answer = await call(gateway, 'GET', '/orders', {
      token,
      headers: { [GATEWAY_HEADERS.userId]: 'mallory', [GATEWAY_HEADERS.userScopes]: ALL_SCOPES, [GATEWAY_HEADERS.requestId]: 'spoofed' },
    });
    const seen = echoed(answer);
    expect(seen.headers[GATEWAY_HEADERS.userId]).toBe('alice');
    expect(seen.headers[GATEWAY_HEADERS.userScopes]).toBe(`${SCOPES.productsRead} ${SCOPES.ordersRead}`);
    expect(seen.headers[GATEWAY_HEADERS.requestId]).toBe(answer.headers.get(GATEWAY_HEADERS.requestId));
    expect(seen.headers[GATEWAY_HEADERS.requestId]).not.toBe('spoofed');
  });

  it('gives every response a fresh request id, errors included', async () => {
    const { gateway } = await startGateway();
    const answers = [await call(gateway, 'GET', '/products'), await call(gateway, 'GET', '/nope'), await call(gateway, 'GET', '/products', { token: null })];
    const ids = answers.map((answer) => answer.headers.get(GATEWAY_HEADERS.requestId));
    expect(ids.every((id) => id !== null && /^[0-9a-f-]{36}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(3);
  });

  it('drops hop-by-hop headers, and those the Connection header names, on the way to the service', async () => {
    const { gateway } = await startGateway();
    const answer = await rawCall(`${gateway.apiUrl}products`, {
      method: 'GET',
      headers: { authorization: `Bearer ${fullToken}`, [API_KEY_HEADER]: PRO_KEY, connection: 'keep-alive, x-hop', 'x-hop': 'a', 'x-kept': 'b' },
    });
    const seen = echoed(answer);
    expect(seen.headers['x-hop']).toBeUndefined();
    expect(seen.headers['x-kept']).toBe('b');
    expect(seen.headers.connection).not.toContain('x-hop');
  });
});

describe('integration', () => {
  it('answers 504 GATEWAY_TIMEOUT when the service is slower than the integration timeout', async () => {
    const { gateway } = await startGateway({ integrationTimeoutMs: 200 });
    product.delayMs = 5_000;
    const started = Date.now();
    expectGatewayError(await call(gateway, 'GET', '/products'), 'INTEGRATION_TIMEOUT', 504, 'Endpoint request timed out');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('answers 504 when finding the instances takes longer than the integration timeout', async () => {
    let release: () => void = () => undefined;
    const hanging = new Promise<readonly string[]>((resolve) => {
      release = () => resolve([]);
    });
    const { gateway } = await startGateway({ integrationTimeoutMs: 100, resolveService: async () => hanging });
    expectGatewayError(await call(gateway, 'GET', '/products'), 'INTEGRATION_TIMEOUT', 504);
    release();
  });

  it('round-robins over the instances', async () => {
    instances[SERVICES.product] = [product.url, productB.url];
    const { gateway } = await startGateway();
    const served: string[] = [];
    for (let index = 0; index < 4; index += 1) served.push(echoed(await call(gateway, 'GET', '/products')).upstream);
    expect(served.sort()).toEqual(['product-a', 'product-a', 'product-b', 'product-b']);
  });

  it('retries on the next instance when the first refuses the connection', async () => {
    instances[SERVICES.product] = [refused, product.url];
    const { gateway, lines } = await startGateway();
    const answers = [await call(gateway, 'GET', '/products'), await call(gateway, 'GET', '/products')];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect(product.received).toHaveLength(2);
    expect(lines.map((line) => line.attempts).sort()).toEqual([1, 2]);
  });

  it(`answers ${UPSTREAM_FAILURE_STATUS} when no instance can be reached, or there is none`, async () => {
    instances[SERVICES.product] = [refused];
    const { gateway, lines } = await startGateway();
    expectGatewayError(await call(gateway, 'GET', '/products'), 'DEFAULT_5XX', UPSTREAM_FAILURE_STATUS, 'Internal server error');
    expect(lines[0]).toMatchObject({ attempts: 2, detail: 'ECONNREFUSED' });
    instances[SERVICES.product] = [];
    expectGatewayError(await call(gateway, 'GET', '/products'), 'DEFAULT_5XX', UPSTREAM_FAILURE_STATUS);
  });

  it(`answers ${UPSTREAM_FAILURE_STATUS} when the instances cannot be resolved`, async () => {
    const { gateway, lines } = await startGateway({ resolveService: async () => Promise.reject(new Error('registry down')) });
    expectGatewayError(await call(gateway, 'GET', '/products'), 'DEFAULT_5XX', UPSTREAM_FAILURE_STATUS);
    expect(lines[0].detail).toMatch(/registry down/);
  });
});

describe('log lines', () => {
  it('writes one line per request with ids, route and outcome, and never the token or the key', async () => {
    const { gateway, lines } = await startGateway();
    const ok = await call(gateway, 'GET', '/products/p-1');
    await call(gateway, 'GET', '/products', { apiKey: 'unknown-key-abcdefghijklmnop' });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      requestId: ok.headers.get(GATEWAY_HEADERS.requestId),
      method: 'GET',
      path: `/${STAGE}/products/p-1`,
      route: 'GET /products/{id}',
      principal: 'alice',
      tier: 'pro',
      status: 200,
      upstreamStatus: 200,
      upstream: product.url,
    });
    expect(lines[1]).toMatchObject({ status: 403, code: 'INVALID_API_KEY' });
    const text = JSON.stringify(lines);
    expect(text).not.toContain(fullToken.split('.')[2]);
    expect(text).not.toContain(PRO_KEY);
    expect(text).not.toContain('unknown-key-abcdefghijklmnop');
  });
});

describe('start', () => {
  it.each([
    ['a bad stage name', { stageName: 'v1/x' }, /stageName must be/],
    ['an integration timeout over 29 s', { integrationTimeoutMs: 30_000 }, /integrationTimeoutMs must be whole milliseconds from 50 to 29000/],
    ['a cache TTL over an hour', { authorizerCacheTtlSeconds: 7200 }, /authorizerCacheTtlSeconds/],
    ['no tiers', { tiers: [] }, /at least one usage plan tier/],
    ['an invalid route spec', { routes: [] }, /at least one route/],
  ])('refuses %s', async (_name, overrides, message) => {
    await expect(startGateway(overrides)).rejects.toThrow(message);
  });

  it('fails with EADDRINUSE on a port in use', async () => {
    const { gateway } = await startGateway();
    const port = Number(new URL(gateway.url).port);
    await expect(startGateway({ port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('closes twice without complaint', async () => {
    const { gateway } = await startGateway();
    await gateway.close();
    await expect(gateway.close()).resolves.toBeUndefined();
  });
});
