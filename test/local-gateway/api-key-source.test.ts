/**
 * `apiKeySource: AUTHORIZER` locally, as API Gateway does it: the usage plan key is the authorizer's
 * `usageIdentifierKey` (the token's `usageIdentifierClaim`), and the `x-api-key` header is not read;
 * with `HEADER` it is the other way round.
 */
import { createAuthorizerHandler } from '../../lambda/authorizer/handler';
import type { AuthorizerHandler } from '../../lambda/authorizer/handler';
import { GATEHOUSE_ROUTES, SCOPES, SERVICES } from '../../lib/routes/gatehouse-routes';
import type { ApiKeySource } from '../../lib/routes/gateway-spec';
import { LocalGateway } from '../../local/gateway';
import type { LocalTier } from '../../local/gateway';
import { MemoryLogger, testConfig } from '../support/authorizer';
import { TestIssuer } from '../support/test-issuer';
import { EchoUpstream } from './upstreams';

const CLAIM = 'plan';
const GOLD_KEY = 'gold-key-0123456789abcdefghij';
const FREE_KEY = 'free-key-0123456789abcdefghij';
const TIERS: readonly LocalTier[] = [
  { name: 'gold', rateLimit: 100, burstLimit: 100, apiKeys: [GOLD_KEY] },
  { name: 'free', rateLimit: 100, burstLimit: 100, apiKeys: [FREE_KEY] },
];

let issuer: TestIssuer;
let product: EchoUpstream;
let handler: AuthorizerHandler;
const open: LocalGateway[] = [];

beforeAll(async () => {
  [issuer, product] = await Promise.all([TestIssuer.start(), EchoUpstream.start('product')]);
  handler = createAuthorizerHandler(testConfig([issuer], { usageIdentifierClaim: CLAIM }), { logger: new MemoryLogger() });
}, 60_000);
afterAll(async () => {
  await Promise.all(open.map((gateway) => gateway.close()));
  await Promise.all([issuer?.close(), product?.close()]);
});

async function gatewayReading(
  apiKeySource: ApiKeySource,
): Promise<(claims: Record<string, string>, apiKey?: string) => Promise<{ status: number; tier?: string; code?: string }>> {
  const lines: Record<string, unknown>[] = [];
  const gateway = await LocalGateway.start({
    routes: GATEHOUSE_ROUTES,
    stageName: 'v1',
    tiers: TIERS,
    stageThrottle: { rateLimit: 1000, burstLimit: 1000 },
    apiKeySource,
    authorizer: handler,
    authorizerCacheTtlSeconds: 300,
    resolveService: async (service) => (service === SERVICES.product ? [product.url] : []),
    log: (fields) => lines.push(fields),
  });
  open.push(gateway);
  return async (claims, apiKey) => {
    const token = await issuer.sign({ sub: 'client', scope: SCOPES.productsRead, ...claims });
    const response = await fetch(`${gateway.apiUrl}products`, {
      headers: { authorization: `Bearer ${token}`, ...(apiKey !== undefined && { 'x-api-key': apiKey }) },
    });
    await response.arrayBuffer();
    const line = lines.at(-1) as { tier?: string; code?: string };
    return { status: response.status, ...(line.tier !== undefined && { tier: line.tier }), ...(line.code !== undefined && { code: line.code }) };
  };
}

describe('apiKeySource AUTHORIZER', () => {
  it("meters the client in the tier of its token's key, whatever x-api-key says", async () => {
    const call = await gatewayReading('AUTHORIZER');
    expect(await call({ [CLAIM]: FREE_KEY })).toEqual({ status: 200, tier: 'free' });
    expect(await call({ [CLAIM]: GOLD_KEY }, FREE_KEY)).toEqual({ status: 200, tier: 'gold' });
  });

  it('publishes an OpenAPI document that asks for no x-api-key, as the deployed API does', async () => {
    await gatewayReading('AUTHORIZER');
    const gateway = open.at(-1) as LocalGateway;
    const document = await (await fetch(`${gateway.apiUrl}openapi.json`)).json();
    expect(JSON.stringify(document)).not.toContain('x-api-key');
  });

  it('refuses a token without the claim, even with a valid x-api-key, and a token whose key no tier has', async () => {
    const call = await gatewayReading('AUTHORIZER');
    expect(await call({}, GOLD_KEY)).toMatchObject({ status: 403, code: 'INVALID_API_KEY' });
    expect(await call({ [CLAIM]: 'no-such-key' })).toMatchObject({ status: 403, code: 'INVALID_API_KEY' });
  });
});

describe('apiKeySource HEADER', () => {
  it('publishes an OpenAPI document that asks for x-api-key', async () => {
    await gatewayReading('HEADER');
    const gateway = open.at(-1) as LocalGateway;
    expect(JSON.stringify(await (await fetch(`${gateway.apiUrl}openapi.json`)).json())).toContain('x-api-key');
  });

  it("reads x-api-key and never the token's claim", async () => {
    const call = await gatewayReading('HEADER');
    expect(await call({ [CLAIM]: GOLD_KEY }, FREE_KEY)).toEqual({ status: 200, tier: 'free' });
    expect(await call({ [CLAIM]: GOLD_KEY })).toMatchObject({ status: 403, code: 'INVALID_API_KEY' });
  });
});
