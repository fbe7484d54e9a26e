/** The gateway spec: its defaults, its rules (API Gateway's), and the config reader that feeds it to both renderers. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gatewaySpecOf, readGatehouseConfig, readGatehouseConfigFile } from '../../lib/config';
import {
  corsErrorOrigin,
  corsPreflightHeaders,
  DEFAULT_TIERS,
  GATEWAY_DEFAULTS,
  GatewaySpecError,
  resolveGatewaySpec,
  serviceBudgetMs,
} from '../../lib/routes/gateway-spec';
import type { GatewaySpecInput } from '../../lib/routes/gateway-spec';

describe('resolveGatewaySpec', () => {
  it('gives every left-out setting its default', () => {
    expect(resolveGatewaySpec()).toEqual({
      stageName: 'v1',
      throttle: { rateLimit: 500, burstLimit: 1000 },
      tiers: DEFAULT_TIERS,
      apiKeySource: 'HEADER',
      integrationTimeoutMs: 10_000,
      authorizerCacheTtlSeconds: 300,
    });
    expect(DEFAULT_TIERS.map((tier) => [tier.name, tier.quota?.period])).toEqual([
      ['basic', 'DAY'],
      ['pro', 'MONTH'],
    ]);
  });

  it.each(['v1', 'v2-beta', 'prod_eu', 'A'.repeat(128)])(
    'takes the stage name %s (API Gateway: letters, digits, hyphens, underscores, up to 128)',
    (stageName) => {
      expect(resolveGatewaySpec({ stageName }).stageName).toBe(stageName);
    },
  );

  it.each<[string, GatewaySpecInput, RegExp]>([
    ['a stage name with a dot', { stageName: 'v1.0' }, /stageName must be 1 to 128 letters, digits, hyphens or underscores, got "v1.0"/],
    ['an empty stage name', { stageName: '' }, /stageName must be 1 to 128/],
    ['a stage name of 129 characters', { stageName: 'a'.repeat(129) }, /stageName must be 1 to 128/],
    ['a negative stage rate', { throttle: { rateLimit: -1, burstLimit: 1 } }, /throttle.rateLimit must be requests per second >= 0, got -1/],
    ['a fractional burst', { throttle: { rateLimit: 1, burstLimit: 1.5 } }, /throttle.burstLimit must be a whole number of requests >= 0, got 1.5/],
    ['no tiers', { tiers: [] }, /tiers must list at least one usage plan tier/],
    ['a tier twice', { tiers: [DEFAULT_TIERS[0], DEFAULT_TIERS[0]] }, /tiers: basic is listed twice/],
    ['a tier named with a hyphen', { tiers: [{ name: 'gold-1', rateLimit: 1, burstLimit: 1 }] }, /tiers\[0\].name must be 1 to 32 letters and digits/],
    [
      'a yearly quota',
      { tiers: [{ name: 'gold', rateLimit: 1, burstLimit: 1, quota: { limit: 5, period: 'YEAR' as never } }] },
      /tiers.gold.quota.period must be one of DAY, WEEK, MONTH, got "YEAR"/,
    ],
    [
      'a zero quota',
      { tiers: [{ name: 'gold', rateLimit: 1, burstLimit: 1, quota: { limit: 0, period: 'DAY' } }] },
      /tiers.gold.quota.limit must be a whole number of requests > 0, got 0/,
    ],
    ['an API key source of cookies', { apiKeySource: 'COOKIE' as never }, /apiKeySource must be "HEADER" or "AUTHORIZER", got "COOKIE"/],
    ['a 30 s integration timeout', { integrationTimeoutMs: 30_000 }, /integrationTimeoutMs must be whole milliseconds from 50 to 29000, got 30000/],
    ['a 10 ms integration timeout', { integrationTimeoutMs: 10 }, /integrationTimeoutMs must be whole milliseconds from 50 to 29000, got 10/],
    ['an authorizer cache of two hours', { authorizerCacheTtlSeconds: 7200 }, /authorizerCacheTtlSeconds must be whole seconds from 0 to 3600, got 7200/],
    ['CORS without an origin', { cors: { allowOrigins: [] } }, /cors must be \{ "allowOrigins": string\[\] \} with at least one origin/],
    ['CORS mixing * with an origin', { cors: { allowOrigins: ['*', 'https://a.example.com'] } }, /cors.allowOrigins may hold "\*" only alone/],
    ['a CORS max age of 0', { cors: { allowOrigins: ['https://a.example.com'], maxAgeSeconds: 0 } }, /cors.maxAgeSeconds must be whole seconds > 0, got 0/],
    ['a namespace of one label', { namespace: 'local' }, /namespace must be a DNS name such as "gatehouse.local", got "local"/],
  ])('refuses %s, naming the setting, the value and the rule', (_name, input, message) => {
    expect(() => resolveGatewaySpec(input)).toThrow(message);
    expect(() => resolveGatewaySpec(input)).toThrow(GatewaySpecError);
  });
});

describe('CORS answers, as API Gateway gives them', () => {
  const cors = { allowOrigins: ['https://a.example.com', 'https://b.example.com'] };

  it("answers a preflight with the request's origin when it is allowed, else the first, varying by origin", () => {
    expect(corsPreflightHeaders(cors, 'https://b.example.com')).toEqual({
      'Access-Control-Allow-Headers': 'Content-Type,Authorization,X-Api-Key,Idempotency-Key',
      'Access-Control-Allow-Origin': 'https://b.example.com',
      Vary: 'Origin',
      'Access-Control-Allow-Methods': 'GET,POST,PUT,PATCH,DELETE,HEAD',
      'Access-Control-Max-Age': '3600',
    });
    expect(corsPreflightHeaders(cors, 'https://evil.example.com')['Access-Control-Allow-Origin']).toBe('https://a.example.com');
    expect(corsPreflightHeaders({ allowOrigins: ['*'] }, undefined)).not.toHaveProperty('Vary');
  });

  it("puts the origin on the gateway's own answers only when there is one", () => {
    expect(corsErrorOrigin(cors)).toBeUndefined();
    expect(corsErrorOrigin({ allowOrigins: ['https://a.example.com'] })).toBe('https://a.example.com');
    expect(corsErrorOrigin(undefined)).toBeUndefined();
  });
});

describe('the config reader both the app and npm start use', () => {
  let folder: string;
  beforeAll(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-config-'));
  });
  afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const file = path.join(folder, name);
    fs.writeFileSync(file, text);
    return file;
  };

  it("reads the gatehouse context of a cdk.json into the gateway spec, with the authorizer's cache TTL and the namespace", () => {
    const file = write(
      'cdk.json',
      JSON.stringify({
        app: 'npx tsx bin/gatehouse.ts',
        context: {
          gatehouse: {
            stageName: 'v2-beta',
            namespace: 'shop.internal',
            authorizer: { resultsCacheTtlSeconds: 0, usageIdentifierClaim: 'plan' },
            gateway: {
              throttle: { rateLimit: 9, burstLimit: 3 },
              tiers: [{ name: 'gold', rateLimit: 2, burstLimit: 4 }],
              integrationTimeoutMs: 800,
              apiKeySource: 'AUTHORIZER',
            },
          },
        },
      }),
    );
    expect(gatewaySpecOf(readGatehouseConfigFile(file))).toEqual({
      stageName: 'v2-beta',
      throttle: { rateLimit: 9, burstLimit: 3 },
      tiers: [{ name: 'gold', rateLimit: 2, burstLimit: 4 }],
      apiKeySource: 'AUTHORIZER',
      integrationTimeoutMs: 800,
      authorizerCacheTtlSeconds: 0,
      namespace: 'shop.internal',
    });
  });

  it("reads the project's own cdk.json: the defaults, as deployed", () => {
    const spec = gatewaySpecOf(readGatehouseConfigFile(path.join(__dirname, '..', '..', 'cdk.json')));
    expect({ ...spec, namespace: spec.namespace ?? GATEWAY_DEFAULTS.namespace }).toEqual(GATEWAY_DEFAULTS);
  });

  it.each<[string, string, RegExp]>([
    ['a file that is not JSON', '{ nope', /cdk-bad.json is not JSON/],
    ['a file without the gatehouse context', '{"context":{}}', /context "gatehouse" is missing/],
    [
      'a tier the app would refuse',
      '{"context":{"gatehouse":{"gateway":{"tiers":[{"name":"gold","rateLimit":1}]}}}}',
      /context "gatehouse": gateway.tiers.gold.burstLimit must be a whole number/,
    ],
  ])('refuses %s, as the app would', (_name, text, message) => {
    expect(() => readGatehouseConfigFile(write('cdk-bad.json', text))).toThrow(message);
  });

  it('refuses apiKeySource AUTHORIZER without the claim that carries the key', () => {
    expect(() => readGatehouseConfig({ gateway: { apiKeySource: 'AUTHORIZER' } })).toThrow(
      /gateway.apiKeySource "AUTHORIZER" needs authorizer.usageIdentifierClaim/,
    );
    expect(gatewaySpecOf(readGatehouseConfig({ gateway: { apiKeySource: 'AUTHORIZER' }, authorizer: { usageIdentifierClaim: 'plan' } })).apiKeySource).toBe(
      'AUTHORIZER',
    );
  });

  it('names a file it cannot read', () => {
    expect(() => readGatehouseConfigFile(path.join(folder, 'absent.json'))).toThrow(/cannot read .*absent.json/);
  });

  it('puts the spec rule in the config key that holds it', () => {
    expect(() => readGatehouseConfig({ authorizer: { resultsCacheTtlSeconds: 4000 } })).toThrow(
      /context "gatehouse": authorizer.resultsCacheTtlSeconds must be whole seconds from 0 to 3600, got 4000/,
    );
  });
});

describe('serviceBudgetMs', () => {
  it('leaves a fifth of the integration timeout (at least 500 ms) for the answer, and never goes under 100 ms', () => {
    expect(serviceBudgetMs(GATEWAY_DEFAULTS.integrationTimeoutMs)).toBe(8_000);
    expect(serviceBudgetMs(29_000)).toBe(23_200);
    expect(serviceBudgetMs(2_000)).toBe(1_500);
    expect(serviceBudgetMs(300)).toBe(100);
  });
});
