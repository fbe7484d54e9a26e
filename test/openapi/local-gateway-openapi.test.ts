/**
 * The local gateway serves the OpenAPI document of its routes at `GET /{stage}/openapi.json`, with no
 * token and no API key, while every route still needs both.
 */
import Ajv2020 from 'ajv/dist/2020';
import { buildOpenApiDocument, ERROR_BODY_SCHEMA } from '../../lib/openapi/openapi';
import { GATEHOUSE_ROUTES } from '../../lib/routes/gatehouse-routes';
import { GATEWAY_HEADERS } from '../../lib/routes/headers';
import { LocalGateway } from '../../local/gateway';
import type { AuthorizerHandler } from '../../lambda/authorizer/handler';
import { validateOpenApi } from './validator';

const STAGE = 'v1';
let gateway: LocalGateway | undefined;
let authorizerCalls = 0;

beforeAll(async () => {
  // An authorizer that refuses everything and counts: the document must never reach it.
  const authorizer: AuthorizerHandler = async () => {
    authorizerCalls += 1;
    throw new Error('Unauthorized');
  };
  gateway = await LocalGateway.start({
    routes: GATEHOUSE_ROUTES,
    stageName: STAGE,
    tiers: [{ name: 'basic', rateLimit: 10, burstLimit: 10, apiKeys: ['basic-key-0123456789abcdefghij'] }],
    stageThrottle: { rateLimit: 100, burstLimit: 100 },
    authorizer,
    authorizerCacheTtlSeconds: 0,
    resolveService: async () => [],
  });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
});

describe('GET /{stage}/openapi.json on the local gateway', () => {
  it('answers the document of its routes, its server the stage on this gateway, without token or key', async () => {
    const response = await fetch(`${gateway!.apiUrl}openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get(GATEWAY_HEADERS.requestId)).toMatch(/^[0-9a-f-]{36}$/);
    const document = (await response.json()) as Record<string, unknown>;
    expect(document).toEqual(buildOpenApiDocument(GATEHOUSE_ROUTES, { stageName: STAGE, servers: [{ url: `/${STAGE}`, description: 'This gateway' }] }));
    expect(authorizerCalls).toBe(0);
    expect((await validateOpenApi(document)).valid).toBe(true);
  }, 60_000);

  it('answers HEAD with no body, and ignores a query string', async () => {
    const head = await fetch(`${gateway!.apiUrl}openapi.json`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect((await fetch(`${gateway!.apiUrl}openapi.json?v=2`)).status).toBe(200);
  });

  it('is only there: another stage, another method, and the routes still need a key and a token', async () => {
    expect((await fetch(`${gateway!.url}/v2/openapi.json`)).status).toBe(404);
    expect((await fetch(`${gateway!.apiUrl}openapi.json`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).not.toBe(
      200,
    );
    const route = await fetch(`${gateway!.apiUrl}products`);
    expect([401, 403]).toContain(route.status);
    // The local gateway's own error answers have the document's error body too.
    const validate = new Ajv2020({ strict: true }).compile(ERROR_BODY_SCHEMA);
    expect(validate(await route.json())).toBe(true);
  });
});
