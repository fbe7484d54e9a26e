/**
 * One gateway spec, two renderers: a config with a non-default stage, stage throttle, tiers, integration
 * timeout, authorizer cache TTL and API key source is rendered by the CDK stack (its template read with
 * aws-cdk-lib/assertions) and run by the local gateway (its limits measured with requests on a clock the
 * test moves); what the template says API Gateway will enforce is what the local gateway enforces.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { createAuthorizerHandler } from '../../lambda/authorizer/handler';
import type { AuthorizerHandler } from '../../lambda/authorizer/handler';
import { gatewaySpecOf, readGatehouseConfig } from '../../lib/config';
import { GatewayStack } from '../../lib/gateway-stack';
import { GATEHOUSE_ROUTES, SCOPES, SERVICES } from '../../lib/routes/gatehouse-routes';
import type { GatewaySpec, QuotaPeriod } from '../../lib/routes/gateway-spec';
import { LocalGateway, localGatewayOptionsOf } from '../../local/gateway';
import type { LocalTier } from '../../local/gateway';
import { MemoryLogger, testConfig } from '../support/authorizer';
import { projectApp } from '../support/cdk';
import { TestIssuer } from '../support/test-issuer';
import { EchoUpstream } from '../local-gateway/upstreams';

// A Tuesday: the next week (from Sunday, UTC) starts in the same month.
const T0 = Date.UTC(2030, 0, 15, 12);
const DAY_MS = 86_400_000;
const CLAIM = 'plan';
const CONFIG = {
  issuers: [{ issuer: 'https://issuer.example.com', audience: 'api' }],
  stageName: 'v2-beta',
  authorizer: { resultsCacheTtlSeconds: 60, usageIdentifierClaim: CLAIM },
  gateway: {
    throttle: { rateLimit: 4, burstLimit: 3 },
    tiers: [
      { name: 'gold', rateLimit: 5, burstLimit: 2 },
      { name: 'free', rateLimit: 2, burstLimit: 2, quota: { limit: 3, period: 'WEEK' } },
    ],
    integrationTimeoutMs: 300,
    apiKeySource: 'AUTHORIZER',
    cors: { allowOrigins: ['https://app.example.com'], maxAgeSeconds: 600 },
  },
};
const ORIGIN = 'https://app.example.com';
/** Each resource of the routes once, its parameters filled in. */
const RESOURCES = [...new Set(GATEHOUSE_ROUTES.map((route) => route.path.replace(/\{[^}]+\}/g, 'p-1')))];
const KEYS: Record<string, string> = { gold: 'gold-key-0123456789abcdefghij', free: 'free-key-0123456789abcdefghij' };

/** What a gateway enforces, in the terms of the spec. */
interface Enforced {
  readonly stageName: string;
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  readonly tiers: readonly {
    readonly name: string;
    readonly rateLimit: number;
    readonly burstLimit: number;
    readonly quota?: { limit: number; period: string };
  }[];
  readonly integrationTimeoutMs: number;
  readonly authorizerCacheTtlSeconds: number;
  readonly apiKeySource: string;
  /** The preflight answer of every route's resource, and the origin on the gateway's own (error) answers. */
  readonly cors: { readonly resources: number; readonly preflight: { status: number; headers: Record<string, string> }; readonly errorOrigin?: string };
}

let spec: GatewaySpec;
let deployed: Enforced;
let issuer: TestIssuer;
let product: EchoUpstream;
let handler: AuthorizerHandler;
const open: LocalGateway[] = [];

beforeAll(async () => {
  const config = readGatehouseConfig(CONFIG);
  spec = gatewaySpecOf(config);
  deployed = fromTemplate(Template.fromStack(new GatewayStack(projectApp({ bundle: false }), 'Gatehouse', { config })));
  [issuer, product] = await Promise.all([TestIssuer.start(), EchoUpstream.start('product')]);
  handler = createAuthorizerHandler(testConfig([issuer], { usageIdentifierClaim: CLAIM }), { logger: new MemoryLogger() });
}, 120_000);
afterAll(async () => {
  await Promise.all(open.map((gateway) => gateway.close()));
  await Promise.all([issuer?.close(), product?.close()]);
});

/** The settings API Gateway gets from the template. */
function fromTemplate(template: Template): Enforced {
  const only = <T>(type: string): T => {
    const found = Object.values(template.findResources(type));
    expect(found).toHaveLength(1);
    return (found[0] as { Properties: T }).Properties;
  };
  const stage = only<{
    StageName: string;
    MethodSettings: { ResourcePath: string; HttpMethod: string; ThrottlingRateLimit: number; ThrottlingBurstLimit: number }[];
  }>('AWS::ApiGateway::Stage');
  const all = stage.MethodSettings.find((setting) => setting.ResourcePath === '/*' && setting.HttpMethod === '*');
  const timeouts = new Set(
    Object.values(template.findResources('AWS::ApiGateway::Method'))
      .map((method) => (method as { Properties: { Integration?: { Type: string; TimeoutInMillis?: number } } }).Properties.Integration)
      .filter((integration) => integration?.Type === 'HTTP_PROXY')
      .map((integration) => integration?.TimeoutInMillis),
  );
  expect(timeouts.size).toBe(1);
  const plans = Object.values(template.findResources('AWS::ApiGateway::UsagePlan')).map(
    (plan) =>
      (
        plan as {
          Properties: { Description: string; Throttle: { RateLimit: number; BurstLimit: number }; Quota?: { Limit: number; Period: string } };
        }
      ).Properties,
  );
  return {
    stageName: stage.StageName,
    throttle: { rateLimit: Number(all?.ThrottlingRateLimit), burstLimit: Number(all?.ThrottlingBurstLimit) },
    tiers: plans.map((plan) => ({
      name: plan.Description.replace(/^Gatehouse (\w+) tier$/, '$1'),
      rateLimit: plan.Throttle.RateLimit,
      burstLimit: plan.Throttle.BurstLimit,
      ...(plan.Quota !== undefined && { quota: { limit: plan.Quota.Limit, period: plan.Quota.Period } }),
    })),
    integrationTimeoutMs: Number([...timeouts][0]),
    authorizerCacheTtlSeconds: only<{ AuthorizerResultTtlInSeconds: number }>('AWS::ApiGateway::Authorizer').AuthorizerResultTtlInSeconds,
    apiKeySource: only<{ ApiKeySourceType: string }>('AWS::ApiGateway::RestApi').ApiKeySourceType,
    cors: corsOf(template),
  };
}

/** The OPTIONS methods' mock answers (one, the same on every resource) and the gateway responses' origin header. */
function corsOf(template: Template): Enforced['cors'] {
  type Preflight = { Integration: { IntegrationResponses: { StatusCode: string; ResponseParameters: Record<string, string> }[] } };
  const preflights = Object.values(template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'OPTIONS' } })).map((method) => {
    const [answer] = (method as { Properties: Preflight }).Properties.Integration.IntegrationResponses;
    const headers = Object.fromEntries(
      Object.entries(answer.ResponseParameters).map(([name, value]) => [name.replace('method.response.header.', ''), value.replace(/^'(.*)'$/, '$1')]),
    );
    return JSON.stringify({ status: Number(answer.StatusCode), headers });
  });
  expect(new Set(preflights).size).toBe(1);
  const origins = new Set(
    Object.values(template.findResources('AWS::ApiGateway::GatewayResponse')).map(
      (response) =>
        (response as { Properties: { ResponseParameters: Record<string, string> } }).Properties.ResponseParameters[
          'gatewayresponse.header.Access-Control-Allow-Origin'
        ],
    ),
  );
  expect(origins.size).toBe(1);
  const [origin] = origins;
  return {
    resources: preflights.length,
    preflight: JSON.parse(preflights[0]) as Enforced['cors']['preflight'],
    ...(origin !== undefined && { errorOrigin: origin.replace(/^'(.*)'$/, '$1') }),
  };
}

/** A local gateway from the spec, on a clock the probe moves, with a fresh state (buckets, quotas, cache). */
async function localGateway(): Promise<{
  url: string;
  call: (tier: string, options?: { apiKeyHeader?: string; stage?: string }) => Promise<Line>;
  advance: (ms: number) => void;
}> {
  let clock = T0;
  const lines: Line[] = [];
  const tiers: LocalTier[] = spec.tiers.map((tier) => ({ ...tier, apiKeys: [KEYS[tier.name]] }));
  const gateway = await LocalGateway.start({
    ...localGatewayOptionsOf(spec),
    routes: GATEHOUSE_ROUTES,
    tiers,
    authorizer: handler,
    resolveService: async (service) => (service === SERVICES.product ? [product.url] : []),
    log: (fields) => lines.push(fields as unknown as Line),
    now: () => clock,
  });
  open.push(gateway);
  const tokens = new Map<string, string>();
  const origin = new URL(gateway.apiUrl).origin;
  return {
    url: gateway.apiUrl,
    advance: (ms) => {
      clock += ms;
    },
    call: async (tier, options = {}) => {
      if (!tokens.has(tier)) tokens.set(tier, await issuer.sign({ sub: `client-${tier}`, scope: SCOPES.productsRead, [CLAIM]: KEYS[tier] }));
      const response = await fetch(`${origin}/${options.stage ?? spec.stageName}/products`, {
        headers: { authorization: `Bearer ${tokens.get(tier)}`, ...(options.apiKeyHeader !== undefined && { 'x-api-key': options.apiKeyHeader }) },
      });
      await response.arrayBuffer();
      const line = lines.at(-1) as Line;
      expect(line.status).toBe(response.status);
      return line;
    },
  };
}

/** A request's log line: its status, and what the gateway's checks found. */
interface Line {
  readonly status: number;
  readonly code?: string;
  readonly tier?: string;
  readonly authorizer?: string;
  readonly ms: number;
}

/** Requests admitted at one instant, until one is refused. */
async function burst(call: () => Promise<Line>, max = 50): Promise<number> {
  for (let admitted = 0; admitted < max; admitted += 1) if ((await call()).status !== 200) return admitted;
  return max;
}

/** The rate, from how long the clock must move after a burst for one more request to pass (10 ms steps). */
async function rate(call: () => Promise<Line>, advance: (ms: number) => void): Promise<number> {
  for (let waited = 10; waited <= 5_000; waited += 10) {
    advance(10);
    if ((await call()).status === 200) return 1000 / waited;
  }
  throw new Error('no request passed within 5 s');
}

/** What the local gateway enforces, measured. */
async function measure(): Promise<Enforced> {
  // The stage: served under the spec's stage, not under the default one.
  const stageProbe = await localGateway();
  // (Refused before the authorizer, with the local gateway's answer for a path outside the API.)
  const outside = await stageProbe.call('gold', { stage: 'v1' });
  expect([outside.status, outside.authorizer]).toEqual([expect.any(Number), undefined]);
  expect(outside.status).toBeGreaterThanOrEqual(400);
  const stageName = (await stageProbe.call('gold')).status === 200 ? spec.stageName : 'none';

  // The API key source: the key is the token's claim; an x-api-key header of another tier changes nothing.
  const sourceProbe = await localGateway();
  const sourced = await sourceProbe.call('free', { apiKeyHeader: KEYS.gold });
  const apiKeySource = sourced.status === 200 && sourced.tier === 'free' ? 'AUTHORIZER' : 'HEADER';

  // The stage throttle: every tier together at one instant, then the rate, with the faster tier.
  const stageThrottle = await localGateway();
  const stageBurst = (await burst(() => stageThrottle.call('gold'))) + (await burst(() => stageThrottle.call('free')));
  const stageRate = await rate(() => stageThrottle.call('gold'), stageThrottle.advance);

  const tiers: Enforced['tiers'][number][] = [];
  for (const name of Object.keys(KEYS)) {
    const probe = await localGateway();
    const tierBurst = await burst(() => probe.call(name));
    const tierRate = await rate(() => probe.call(name), probe.advance);
    // The quota: requests a second apart (within every throttle) until one is refused for the quota.
    let used = tierBurst + 1;
    let line = await probe.call(name);
    for (; line.code !== 'QUOTA_EXCEEDED' && used < 100; line = await probe.call(name)) {
      if (line.status === 200) used += 1;
      probe.advance(1000);
    }
    let quota: { limit: number; period: QuotaPeriod } | undefined;
    if (line.code === 'QUOTA_EXCEEDED') {
      probe.advance(DAY_MS);
      const nextDay = await probe.call(name);
      probe.advance(6 * DAY_MS);
      const nextWeek = await probe.call(name);
      quota = { limit: used, period: nextDay.status === 200 ? 'DAY' : nextWeek.status === 200 ? 'WEEK' : 'MONTH' };
    }
    tiers.push({ name, rateLimit: tierRate, burstLimit: tierBurst, ...(quota !== undefined && { quota }) });
  }

  // The authorizer cache: a result is reused until its TTL, in whole seconds, runs out.
  const cacheProbe = await localGateway();
  await cacheProbe.call('gold');
  let ttl = 0;
  do {
    cacheProbe.advance(1000);
    ttl += 1;
  } while ((await cacheProbe.call('gold')).authorizer === 'cache' && ttl < 3600);

  // The integration timeout: how long a service that answers after 5 s (under the default 10 s) is waited for.
  const timeoutProbe = await localGateway();
  product.delayMs = 5_000;
  let timedOut: Line;
  try {
    timedOut = await timeoutProbe.call('gold');
  } finally {
    product.delayMs = 0;
  }

  return {
    stageName,
    throttle: { rateLimit: stageRate, burstLimit: stageBurst },
    tiers,
    integrationTimeoutMs: timedOut.status === 504 ? timedOut.ms : Number.NaN,
    authorizerCacheTtlSeconds: ttl,
    apiKeySource,
    cors: await measureCors(),
  };
}

/** The local gateway's answers to a browser: a preflight on each resource, and a refusal's origin header. */
async function measureCors(): Promise<Enforced['cors']> {
  const started = await localGateway();
  const origin = new URL(started.url).origin;
  const answers = await Promise.all(
    RESOURCES.map(async (resource) => {
      const response = await fetch(`${origin}/${spec.stageName}${resource}`, {
        method: 'OPTIONS',
        headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
      });
      await response.arrayBuffer();
      const headers = Object.fromEntries(
        ['Access-Control-Allow-Headers', 'Access-Control-Allow-Origin', 'Vary', 'Access-Control-Allow-Methods', 'Access-Control-Max-Age'].flatMap((name) => {
          const value = response.headers.get(name);
          return value === null ? [] : [[name, value]];
        }),
      );
      return JSON.stringify({ status: response.status, headers });
    }),
  );
  expect(new Set(answers).size).toBe(1);
  // A request without a token: the gateway's own 401, with the origin header when one origin is allowed.
  const refused = await fetch(`${origin}/${spec.stageName}/products`, { headers: { origin: ORIGIN } });
  await refused.arrayBuffer();
  expect(refused.status).toBe(401);
  const errorOrigin = refused.headers.get('access-control-allow-origin');
  return {
    resources: answers.length,
    preflight: JSON.parse(answers[0]) as Enforced['cors']['preflight'],
    ...(errorOrigin !== null && { errorOrigin }),
  };
}

it('renders the config as the spec says: the template holds every non-default setting', () => {
  expect(deployed).toEqual({
    stageName: 'v2-beta',
    throttle: { rateLimit: 4, burstLimit: 3 },
    tiers: [
      { name: 'gold', rateLimit: 5, burstLimit: 2 },
      { name: 'free', rateLimit: 2, burstLimit: 2, quota: { limit: 3, period: 'WEEK' } },
    ],
    integrationTimeoutMs: 300,
    authorizerCacheTtlSeconds: 60,
    apiKeySource: 'AUTHORIZER',
    cors: {
      resources: RESOURCES.length,
      preflight: {
        status: 204,
        headers: {
          'Access-Control-Allow-Headers': 'Content-Type,Authorization,X-Api-Key,Idempotency-Key',
          'Access-Control-Allow-Origin': ORIGIN,
          Vary: 'Origin',
          'Access-Control-Allow-Methods': 'GET,POST,PUT,PATCH,DELETE,HEAD',
          'Access-Control-Max-Age': '600',
        },
      },
      errorOrigin: ORIGIN,
    },
  });
});

it('enforces locally what the template makes API Gateway enforce', async () => {
  const { integrationTimeoutMs, ...local } = await measure();
  const { integrationTimeoutMs: deployedTimeoutMs, ...template } = deployed;
  expect({ ...local, tiers: [...local.tiers].sort((a, b) => a.name.localeCompare(b.name)) }).toEqual({
    ...template,
    tiers: [...template.tiers].sort((a, b) => a.name.localeCompare(b.name)),
  });
  // The 504 came once the timeout had passed, and long before the service's 5 s (a loaded machine may add to the wait).
  expect(integrationTimeoutMs).toBeGreaterThanOrEqual(deployedTimeoutMs - 1);
  expect(integrationTimeoutMs).toBeLessThan(deployedTimeoutMs + 3_000);
}, 60_000);
