/**
 * The gateway spec: every setting of the gateway other than its routes (stage, throttles, usage-plan
 * tiers, integration timeout, authorizer cache TTL, where the API key comes from, the Cloud Map
 * namespace), with its defaults and its validation, written once.
 *
 * Beside the route spec and like it, pure data and functions: the CDK gateway converts it into API
 * Gateway resources (lib/gateway/microservices-gateway.ts), the local gateway and `npm start` use it as
 * it is (local/). It must never import aws-cdk-lib. A new gateway setting goes here first, with its
 * default and its rule, and then into both renderers.
 */
import type { RouteThrottle } from './route-spec';

/** The periods a usage plan quota can count over (API Gateway's `Period`). */
export const QUOTA_PERIODS = ['DAY', 'WEEK', 'MONTH'] as const;

/** A quota period. */
export type QuotaPeriod = (typeof QUOTA_PERIODS)[number];

/** Requests per API key per period. */
export interface Quota {
  /** Requests per period, per API key. */
  readonly limit: number;
  /** The period the requests are counted over, from its start in UTC. */
  readonly period: QuotaPeriod;
}

/** A usage plan tier: the throttle and quota of every API key in it. */
export interface UsagePlanTier {
  /** The tier's name, also the name of its API key. */
  readonly name: string;
  /** Steady requests per second, per API key. */
  readonly rateLimit: number;
  /** Requests that may arrive at once, per API key. */
  readonly burstLimit: number;
  /**
   * Requests per period, per API key.
   * @default - no quota
   */
  readonly quota?: Quota;
}

/** Where API Gateway reads a request's API key. */
export const API_KEY_SOURCES = ['HEADER', 'AUTHORIZER'] as const;

/**
 * `HEADER`: the `x-api-key` header; `AUTHORIZER`: the authorizer's `usageIdentifierKey`, so that a
 * client's tier follows its token (JwtAuthorizerProps.usageIdentifierClaim).
 */
export type ApiKeySource = (typeof API_KEY_SOURCES)[number];

/** CORS for browser clients: the preflight answer of every route's resource, and the origin on the gateway's own answers. */
export interface GatewayCorsSpec {
  /** Origins allowed to call the API, such as `https://app.example.com`; `*` alone for any. */
  readonly allowOrigins: readonly string[];
  /**
   * How long browsers may cache a preflight answer, in seconds.
   * @default - 3600
   */
  readonly maxAgeSeconds?: number;
}

/** The request headers a preflight allows: the ones a Gatehouse client sends. */
export const CORS_ALLOW_HEADERS = ['Content-Type', 'Authorization', 'X-Api-Key', 'Idempotency-Key'] as const;

/** The methods a preflight allows: every method a route may have. */
export const CORS_ALLOW_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;

/** How long browsers may cache a preflight answer when the spec says nothing, in seconds. */
export const DEFAULT_CORS_MAX_AGE_SECONDS = 3600;

/**
 * The headers of a preflight answer (status 204), as API Gateway's mock integration for CORS gives
 * them (aws-cdk-lib's `addCorsPreflight`): the first allowed origin, or the request's own when it is
 * one of the others; `Vary: Origin` unless any origin is allowed.
 */
export function corsPreflightHeaders(cors: GatewayCorsSpec, requestOrigin: string | undefined): Record<string, string> {
  const [first, ...others] = cors.allowOrigins;
  const origin = requestOrigin !== undefined && others.includes(requestOrigin) ? requestOrigin : first;
  return {
    'Access-Control-Allow-Headers': CORS_ALLOW_HEADERS.join(','),
    'Access-Control-Allow-Origin': origin,
    ...(first !== '*' && { Vary: 'Origin' }),
    'Access-Control-Allow-Methods': CORS_ALLOW_METHODS.join(','),
    'Access-Control-Max-Age': String(cors.maxAgeSeconds ?? DEFAULT_CORS_MAX_AGE_SECONDS),
  };
}

/**
 * The `Access-Control-Allow-Origin` of the gateway's own answers (errors): the origin when exactly one
 * is allowed, since a gateway response's headers are fixed values; none otherwise.
 */
export function corsErrorOrigin(cors: GatewayCorsSpec | undefined): string | undefined {
  return cors?.allowOrigins.length === 1 ? cors.allowOrigins[0] : undefined;
}

/** Every gateway setting, resolved: what both renderers render. */
export interface GatewaySpec {
  /** The stage: the first path segment of the API's URL. */
  readonly stageName: string;
  /** Throttle of the whole stage, above every usage plan. */
  readonly throttle: RouteThrottle;
  /** Usage plan tiers; one API key per tier. */
  readonly tiers: readonly UsagePlanTier[];
  /** Where a request's API key is read. */
  readonly apiKeySource: ApiKeySource;
  /** How long a service has to answer before the gateway answers 504, in milliseconds. */
  readonly integrationTimeoutMs: number;
  /** How long an authorizer result is cached per Authorization value, in seconds; 0 turns the cache off. */
  readonly authorizerCacheTtlSeconds: number;
  /**
   * The Cloud Map namespace the services register in.
   * @default - the deploying stack's `{stack name}.local`; GATEWAY_DEFAULTS.namespace locally
   */
  readonly namespace?: string;
  /**
   * CORS for browsers.
   * @default - no CORS: no preflight answers, no CORS headers
   */
  readonly cors?: GatewayCorsSpec;
}

/** Gatehouse's default tiers. */
export const DEFAULT_TIERS: readonly UsagePlanTier[] = [
  { name: 'basic', rateLimit: 10, burstLimit: 20, quota: { limit: 10_000, period: 'DAY' } },
  { name: 'pro', rateLimit: 100, burstLimit: 200, quota: { limit: 1_000_000, period: 'MONTH' } },
];

/** The default of every gateway setting. */
export const GATEWAY_DEFAULTS = {
  stageName: 'v1',
  throttle: { rateLimit: 500, burstLimit: 1000 },
  tiers: DEFAULT_TIERS,
  apiKeySource: 'HEADER',
  integrationTimeoutMs: 10_000,
  authorizerCacheTtlSeconds: 300,
  /** The namespace of the stack `Gatehouse` (`{stack name}.local`), and of `npm start`. */
  namespace: 'gatehouse.local',
} as const satisfies Required<Omit<GatewaySpec, 'cors'>>;

/**
 * How long a service may spend on one request so that its answer, an error included, reaches the
 * gateway before the integration timeout ends it with a 504: the timeout less a fifth of it (at least
 * 500 ms) for the answer's way back, and never under 100 ms. 8 s for the default 10 s. The order service
 * takes it as its request budget (`REQUEST_DEADLINE_MS`); below a timeout of about 3 s its four round
 * trips no longer fit and orders answer 503.
 */
export function serviceBudgetMs(integrationTimeoutMs: number): number {
  return Math.max(100, integrationTimeoutMs - Math.max(500, Math.round(integrationTimeoutMs / 5)));
}

/** API Gateway's bounds on an integration timeout (REST APIs, without a quota increase). */
export const INTEGRATION_TIMEOUT_MS = { min: 50, max: 29_000 } as const;

/** API Gateway's upper bound on the authorizer result TTL, in seconds. */
export const MAX_AUTHORIZER_CACHE_TTL_SECONDS = 3600;

/**
 * API Gateway's stage name rule: "Stage names can only contain alphanumeric characters, hyphens, and
 * underscores. Maximum length is 128 characters." (API Gateway API reference, CreateStage.stageName).
 */
export const STAGE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** A tier's name is its API key's and its usage plan's construct id: letters and digits. */
const TIER_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9]{0,31}$/;

/** A DNS name of two or more labels, such as `gatehouse.local` (Cloud Map private namespaces). */
const NAMESPACE_PATTERN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;

/**
 * The settings as given, any of them left out: what the app's config and the constructs' props hold.
 * Values that are not yet known (CDK tokens) are for the CDK renderer to check.
 */
export type GatewaySpecInput = { readonly [K in keyof GatewaySpec]?: GatewaySpec[K] };

/**
 * The spec with every left-out setting at its default, checked.
 * @throws GatewaySpecError naming the setting, the value and the rule.
 */
export function resolveGatewaySpec(input: GatewaySpecInput = {}): GatewaySpec {
  const spec: GatewaySpec = {
    stageName: input.stageName ?? GATEWAY_DEFAULTS.stageName,
    throttle: input.throttle ?? GATEWAY_DEFAULTS.throttle,
    tiers: input.tiers ?? GATEWAY_DEFAULTS.tiers,
    apiKeySource: input.apiKeySource ?? GATEWAY_DEFAULTS.apiKeySource,
    integrationTimeoutMs: input.integrationTimeoutMs ?? GATEWAY_DEFAULTS.integrationTimeoutMs,
    authorizerCacheTtlSeconds: input.authorizerCacheTtlSeconds ?? GATEWAY_DEFAULTS.authorizerCacheTtlSeconds,
    ...(input.namespace !== undefined && { namespace: input.namespace }),
    ...(input.cors !== undefined && { cors: input.cors }),
  };
  validateGatewaySpec(spec);
  return spec;
}

/** A gateway setting that API Gateway (or Cloud Map) would refuse. */
export class GatewaySpecError extends Error {
  /** Machine-readable: always `INVALID_GATEWAY_SETTING`. */
  readonly code = 'INVALID_GATEWAY_SETTING';
  constructor(message: string) {
    super(message);
    this.name = 'GatewaySpecError';
  }
}

/** Checks every setting of a resolved spec. @throws GatewaySpecError */
export function validateGatewaySpec(spec: GatewaySpec): void {
  validateStageName(spec.stageName);
  validateThrottle('throttle', spec.throttle);
  validateTiers(spec.tiers);
  validateApiKeySource(spec.apiKeySource);
  validateIntegrationTimeoutMs(spec.integrationTimeoutMs);
  validateAuthorizerCacheTtlSeconds(spec.authorizerCacheTtlSeconds);
  if (spec.namespace !== undefined) validateNamespace(spec.namespace);
  if (spec.cors !== undefined) validateCors(spec.cors);
}

/** @throws GatewaySpecError unless CORS names at least one origin (`*` only alone) and a whole, non-negative max age. */
export function validateCors(cors: unknown): asserts cors is GatewayCorsSpec {
  const origins = isRecord(cors) ? cors.allowOrigins : undefined;
  if (!(Array.isArray(origins) && origins.length > 0 && origins.every((origin) => typeof origin === 'string' && origin.length > 0))) {
    throw new GatewaySpecError(`cors must be { "allowOrigins": string[] } with at least one origin, got ${JSON.stringify(cors)}`);
  }
  if (origins.includes('*') && origins.length > 1) {
    throw new GatewaySpecError(`cors.allowOrigins may hold "*" only alone, got ${JSON.stringify(origins)}`);
  }
  const maxAge = (cors as Record<string, unknown>).maxAgeSeconds;
  if (maxAge !== undefined && !(Number.isInteger(maxAge) && (maxAge as number) > 0)) {
    throw new GatewaySpecError(`cors.maxAgeSeconds must be whole seconds > 0, got ${JSON.stringify(maxAge)}`);
  }
}

/** @throws GatewaySpecError unless the stage name is one API Gateway takes ({@link STAGE_NAME_PATTERN}). */
export function validateStageName(stageName: unknown): asserts stageName is string {
  if (!(typeof stageName === 'string' && STAGE_NAME_PATTERN.test(stageName))) {
    throw new GatewaySpecError(`stageName must be 1 to 128 letters, digits, hyphens or underscores, got ${JSON.stringify(stageName)}`);
  }
}

/** @throws GatewaySpecError unless rate and burst are limits API Gateway takes. */
export function validateThrottle(name: string, throttle: unknown): asserts throttle is RouteThrottle {
  if (!isRecord(throttle)) throw new GatewaySpecError(`${name} must be { "rateLimit": number, "burstLimit": number }, got ${JSON.stringify(throttle)}`);
  const { rateLimit, burstLimit } = throttle;
  if (!(typeof rateLimit === 'number' && Number.isFinite(rateLimit) && rateLimit >= 0)) {
    throw new GatewaySpecError(`${name}.rateLimit must be requests per second >= 0, got ${JSON.stringify(rateLimit)}`);
  }
  if (!(Number.isInteger(burstLimit) && (burstLimit as number) >= 0)) {
    throw new GatewaySpecError(`${name}.burstLimit must be a whole number of requests >= 0, got ${JSON.stringify(burstLimit)}`);
  }
}

/** @throws GatewaySpecError unless the tiers are at least one, uniquely and validly named, with valid limits and quotas. */
export function validateTiers(tiers: unknown): asserts tiers is readonly UsagePlanTier[] {
  if (!Array.isArray(tiers)) throw new GatewaySpecError(`tiers must be a list of usage plan tiers, got ${JSON.stringify(tiers)}`);
  if (tiers.length === 0) throw new GatewaySpecError('tiers must list at least one usage plan tier: every route needs an API key');
  const names = new Set<string>();
  tiers.forEach((tier: unknown, index) => {
    if (!isRecord(tier)) throw new GatewaySpecError(`tiers[${index}] must be an object, got ${JSON.stringify(tier)}`);
    if (!(typeof tier.name === 'string' && TIER_NAME_PATTERN.test(tier.name))) {
      throw new GatewaySpecError(`tiers[${index}].name must be 1 to 32 letters and digits, starting with a letter, got ${JSON.stringify(tier.name)}`);
    }
    if (names.has(tier.name)) throw new GatewaySpecError(`tiers: ${tier.name} is listed twice`);
    names.add(tier.name);
    validateThrottle(`tiers.${tier.name}`, tier);
    if (tier.quota === undefined) return;
    if (!isRecord(tier.quota)) throw new GatewaySpecError(`tiers.${tier.name}.quota must be { "limit": number, "period": "DAY" | "WEEK" | "MONTH" }`);
    const { limit, period } = tier.quota;
    if (!(Number.isInteger(limit) && (limit as number) > 0)) {
      throw new GatewaySpecError(`tiers.${tier.name}.quota.limit must be a whole number of requests > 0, got ${JSON.stringify(limit)}`);
    }
    if (!QUOTA_PERIODS.includes(period as QuotaPeriod)) {
      throw new GatewaySpecError(`tiers.${tier.name}.quota.period must be one of ${QUOTA_PERIODS.join(', ')}, got ${JSON.stringify(period)}`);
    }
  });
}

/** @throws GatewaySpecError unless the source is `HEADER` or `AUTHORIZER`. */
export function validateApiKeySource(source: unknown): asserts source is ApiKeySource {
  if (!API_KEY_SOURCES.includes(source as ApiKeySource)) {
    throw new GatewaySpecError(`apiKeySource must be "HEADER" or "AUTHORIZER", got ${JSON.stringify(source)}`);
  }
}

/** @throws GatewaySpecError unless the timeout is whole milliseconds within API Gateway's bounds. */
export function validateIntegrationTimeoutMs(ms: unknown): asserts ms is number {
  if (!(Number.isInteger(ms) && (ms as number) >= INTEGRATION_TIMEOUT_MS.min && (ms as number) <= INTEGRATION_TIMEOUT_MS.max)) {
    throw new GatewaySpecError(
      `integrationTimeoutMs must be whole milliseconds from ${INTEGRATION_TIMEOUT_MS.min} to ${INTEGRATION_TIMEOUT_MS.max}, got ${JSON.stringify(ms)}`,
    );
  }
}

/** @throws GatewaySpecError unless the TTL is whole seconds from 0 to 3600, as API Gateway requires. */
export function validateAuthorizerCacheTtlSeconds(seconds: unknown): asserts seconds is number {
  if (!(Number.isInteger(seconds) && (seconds as number) >= 0 && (seconds as number) <= MAX_AUTHORIZER_CACHE_TTL_SECONDS)) {
    throw new GatewaySpecError(`authorizerCacheTtlSeconds must be whole seconds from 0 to ${MAX_AUTHORIZER_CACHE_TTL_SECONDS}, got ${JSON.stringify(seconds)}`);
  }
}

/** @throws GatewaySpecError unless the namespace is a DNS name of two or more labels. */
export function validateNamespace(namespace: unknown): asserts namespace is string {
  if (!(typeof namespace === 'string' && NAMESPACE_PATTERN.test(namespace))) {
    throw new GatewaySpecError(`namespace must be a DNS name such as "gatehouse.local", got ${JSON.stringify(namespace)}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
