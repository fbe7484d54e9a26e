/**
 * The app's configuration: one typed object, read from the `gatehouse` key of the CDK context
 * (cdk.json, or `-c gatehouse='{...}'`) and validated before anything is built.
 *
 * Pure (no aws-cdk-lib at run time): the CDK app (bin/gatehouse.ts) and `npm start` (local/start.ts)
 * read the same config through it, and {@link gatewaySpecOf} gives both the same gateway spec.
 */
import * as fs from 'node:fs';
import type { JwtAlgorithm, UserIdFormat } from './auth/authorizer-contract';
import type { JwtIssuer } from './auth/jwt-authorizer';
import type { MonitoringSettings } from './monitoring/monitoring-settings';
import { assertMonitoringSettings } from './monitoring/monitoring-settings';
import type { ApiKeySource, GatewayCorsSpec, GatewaySpec, UsagePlanTier } from './routes/gateway-spec';
import {
  GatewaySpecError,
  resolveGatewaySpec,
  validateApiKeySource,
  validateCors,
  validateAuthorizerCacheTtlSeconds,
  validateIntegrationTimeoutMs,
  validateNamespace,
  validateStageName,
  validateThrottle,
  validateTiers,
} from './routes/gateway-spec';

/** The context key that holds {@link GatehouseConfig}. */
export const CONFIG_CONTEXT_KEY = 'gatehouse';

/** Authorizer settings of the app. */
export interface AuthorizerSettings {
  /** @default - 300 */
  readonly resultsCacheTtlSeconds?: number;
  /** @default - 30 */
  readonly clockToleranceSeconds?: number;
  /** @default - RS256 and ES256 */
  readonly algorithms?: readonly JwtAlgorithm[];
  /** @default - not checked */
  readonly tokenType?: string;
  /** @default - none */
  readonly usageIdentifierClaim?: string;
  /** @default - 'subject' with one issuer, 'issuer-qualified' with several (see JwtAuthorizerProps.userIds) */
  readonly userIds?: UserIdFormat;
}

/** The user pool the stack makes when `issuers` is empty or absent. */
export interface CognitoSettings {
  /** @default - 'gatehouse': scopes are `gatehouse/<scope>` */
  readonly resourceServerIdentifier?: string;
  /** @default - 60 (5 to 1440) */
  readonly accessTokenValidityMinutes?: number;
  /** @default - `gatehouse-{account}-{unique suffix}` */
  readonly domainPrefix?: string;
}

/** Gateway settings of the app. */
export interface GatewaySettings {
  /** @default - 500 requests per second, bursts of 1000 */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  /** @default - basic and pro (DEFAULT_TIERS, lib/routes/gateway-spec.ts) */
  readonly tiers?: readonly UsagePlanTier[];
  /** @default - 'HEADER' */
  readonly apiKeySource?: ApiKeySource;
  /**
   * How long a service has to answer before the gateway answers 504, in milliseconds (50 to 29000).
   * @default - 10000
   */
  readonly integrationTimeoutMs?: number;
  /** @default - true: a WAF web ACL whose per-IP limit is the fastest tier's rate for five minutes (at least 2000) */
  readonly waf?: boolean | { readonly rateLimitPerFiveMinutes: number };
  /** @default - no CORS */
  readonly cors?: GatewayCorsSpec;
  /** @default - true: the stack sets API Gateway's account-wide CloudWatch Logs role (see README) */
  readonly accountLoggingRole?: boolean;
  /** @default - only the execute-api URL */
  readonly domain?: { readonly domainName: string; readonly certificateArn: string; readonly basePath?: string };
}

/** Service settings of the app (both services). */
export interface ServiceSettings {
  /** @default - 2 */
  readonly desiredCount?: number;
  /** @default - 4 */
  readonly maxCapacity?: number;
  /** @default - 256 */
  readonly cpu?: number;
  /** @default - 512 */
  readonly memoryLimitMiB?: number;
}

/** Everything the Gatehouse app is configured with. */
export interface GatehouseConfig {
  /**
   * The identity providers whose tokens the API accepts, each with `audience` (OIDC: Auth0, Okta,
   * Entra ID, Keycloak) or `clientIds` (a Cognito user pool of your own), and optionally `scopePrefix`.
   * @default - none: the stack makes a Cognito user pool, resource server and machine client (see `cognito`)
   */
  readonly issuers?: readonly JwtIssuer[];
  /** @default - the GatehouseUserPool defaults; only used when `issuers` is empty or absent */
  readonly cognito?: CognitoSettings;
  /** @default - the JwtAuthorizer defaults */
  readonly authorizer?: AuthorizerSettings;
  /**
   * The API stage, the first path segment of its URL.
   * @default - 'v1'
   */
  readonly stageName?: string;
  /** @default - the MicroservicesGateway defaults */
  readonly gateway?: GatewaySettings;
  /** @default - two tasks of 0.25 vCPU and 512 MiB each, up to four */
  readonly services?: ServiceSettings;
  /**
   * NAT gateways of the VPC (1 or 2).
   * @default - 1
   */
  readonly natGateways?: number;
  /**
   * The Cloud Map namespace the services register in; unique in the account and region.
   * @default - `{stack name}.local` (`gatehouse.local` for the stack `Gatehouse`)
   */
  readonly namespace?: string;
  /**
   * Alarms (to an SNS topic) and a dashboard.
   * @default - on, with a new encrypted topic and the default thresholds (README, "Operations")
   */
  readonly monitoring?: MonitoringSettings;
}

/** Reads and checks the configuration's shape; ranges and rules are checked by the constructs it feeds. */
export function readGatehouseConfig(value: unknown): GatehouseConfig {
  if (value === undefined) {
    throw new Error(`${WHERE} is missing: set it in cdk.json (see README, "Configuration") or pass -c ${CONFIG_CONTEXT_KEY}='{}'`);
  }
  const config = typeof value === 'string' ? parseJson(value) : value;
  assertGatehouseConfig(config);
  return config;
}

/**
 * Reads the configuration from a cdk.json file's context, as the CDK app reads it from there: what
 * `npm start` runs with (its `--config` flag names another file).
 * @throws Error naming the file when it cannot be read or is not JSON, and what readGatehouseConfig throws.
 */
export function readGatehouseConfigFile(file: string): GatehouseConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not JSON`);
  }
  const context = isRecord(json) && isRecord(json.context) ? json.context : {};
  return readGatehouseConfig(context[CONFIG_CONTEXT_KEY]);
}

/**
 * The gateway spec the configuration describes, every left-out setting at its default: the one both
 * the CDK gateway and the local gateway render.
 */
export function gatewaySpecOf(config: GatehouseConfig): GatewaySpec {
  const gateway = config.gateway ?? {};
  return resolveGatewaySpec({
    ...(config.stageName !== undefined && { stageName: config.stageName }),
    ...(gateway.throttle !== undefined && { throttle: gateway.throttle }),
    ...(gateway.tiers !== undefined && { tiers: gateway.tiers }),
    ...(gateway.apiKeySource !== undefined && { apiKeySource: gateway.apiKeySource }),
    ...(gateway.integrationTimeoutMs !== undefined && { integrationTimeoutMs: gateway.integrationTimeoutMs }),
    ...(config.authorizer?.resultsCacheTtlSeconds !== undefined && { authorizerCacheTtlSeconds: config.authorizer.resultsCacheTtlSeconds }),
    ...(config.namespace !== undefined && { namespace: config.namespace }),
    ...(gateway.cors !== undefined && { cors: gateway.cors }),
  });
}

const WHERE = `context "${CONFIG_CONTEXT_KEY}"`;

function assertGatehouseConfig(config: unknown): asserts config is GatehouseConfig {
  if (!isRecord(config)) throw new Error(`${WHERE} must be an object`);
  const { issuers, authorizer, stageName } = config;
  if (issuers !== undefined && !Array.isArray(issuers))
    throw new Error(`${WHERE}: issuers must be a list (or left out, for a Cognito user pool the stack makes)`);
  const strings = (value: unknown): boolean => Array.isArray(value) && value.every((entry) => typeof entry === 'string');
  (issuers ?? []).forEach((issuer: unknown, index) => {
    const valid =
      isRecord(issuer) &&
      typeof issuer.issuer === 'string' &&
      (issuer.audience === undefined || typeof issuer.audience === 'string' || strings(issuer.audience)) &&
      (issuer.clientIds === undefined || strings(issuer.clientIds)) &&
      (issuer.audience === undefined) !== (issuer.clientIds === undefined) &&
      (issuer.scopePrefix === undefined || typeof issuer.scopePrefix === 'string') &&
      (issuer.jwksUri === undefined || typeof issuer.jwksUri === 'string');
    if (!valid) {
      throw new Error(
        `${WHERE}: issuers[${index}] must be { "issuer": string, "audience": string | string[] or "clientIds": string[] (one of them), "scopePrefix"?: string, "jwksUri"?: string }`,
      );
    }
  });
  if (config.cognito !== undefined) {
    assertNumbers(config.cognito, 'cognito', ['accessTokenValidityMinutes']);
    for (const field of ['resourceServerIdentifier', 'domainPrefix'] as const) {
      const value = (config.cognito as Record<string, unknown>)[field];
      if (value !== undefined && typeof value !== 'string') throw new Error(`${WHERE}: cognito.${field} must be a string, got ${JSON.stringify(value)}`);
    }
  }
  if (authorizer !== undefined) {
    if (!isRecord(authorizer)) throw new Error(`${WHERE}: authorizer must be an object`);
    for (const field of ['resultsCacheTtlSeconds', 'clockToleranceSeconds'] as const) {
      if (authorizer[field] !== undefined && typeof authorizer[field] !== 'number') {
        throw new Error(`${WHERE}: authorizer.${field} must be a number of seconds, got ${JSON.stringify(authorizer[field])}`);
      }
    }
    for (const field of ['tokenType', 'usageIdentifierClaim', 'userIds'] as const) {
      if (authorizer[field] !== undefined && typeof authorizer[field] !== 'string') {
        throw new Error(`${WHERE}: authorizer.${field} must be a string, got ${JSON.stringify(authorizer[field])}`);
      }
    }
    if (authorizer.algorithms !== undefined && !(Array.isArray(authorizer.algorithms) && authorizer.algorithms.every((entry) => typeof entry === 'string'))) {
      throw new Error(`${WHERE}: authorizer.algorithms must be a list of algorithm names`);
    }
  }
  if (stageName !== undefined) specRule('', () => validateStageName(stageName));
  if (authorizer?.resultsCacheTtlSeconds !== undefined) {
    specRule('', () => validateAuthorizerCacheTtlSeconds(authorizer.resultsCacheTtlSeconds), [
      'authorizerCacheTtlSeconds',
      'authorizer.resultsCacheTtlSeconds',
    ]);
  }
  assertGatewaySettings(config.gateway);
  if (isRecord(config.gateway) && config.gateway.apiKeySource === 'AUTHORIZER' && !(isRecord(authorizer) && authorizer.usageIdentifierClaim !== undefined)) {
    throw new Error(
      `${WHERE}: gateway.apiKeySource "AUTHORIZER" needs authorizer.usageIdentifierClaim, the claim that holds each client's API key: without it every request is refused`,
    );
  }
  assertNumbers(config.services, 'services', ['desiredCount', 'maxCapacity', 'cpu', 'memoryLimitMiB']);
  if (config.natGateways !== undefined && typeof config.natGateways !== 'number')
    throw new Error(`${WHERE}: natGateways must be a number, got ${JSON.stringify(config.natGateways)}`);
  if (config.namespace !== undefined) specRule('', () => validateNamespace(config.namespace));
  assertMonitoringSettings(config.monitoring, WHERE);
}

function assertGatewaySettings(gateway: unknown): void {
  if (gateway === undefined) return;
  if (!isRecord(gateway)) throw new Error(`${WHERE}: gateway must be an object`);
  if (gateway.throttle !== undefined) specRule('gateway.', () => validateThrottle('throttle', gateway.throttle));
  if (gateway.tiers !== undefined) specRule('gateway.', () => validateTiers(gateway.tiers));
  if (gateway.apiKeySource !== undefined) specRule('gateway.', () => validateApiKeySource(gateway.apiKeySource));
  if (gateway.integrationTimeoutMs !== undefined) specRule('gateway.', () => validateIntegrationTimeoutMs(gateway.integrationTimeoutMs));
  if (gateway.accountLoggingRole !== undefined && typeof gateway.accountLoggingRole !== 'boolean') {
    throw new Error(`${WHERE}: gateway.accountLoggingRole must be true or false, got ${JSON.stringify(gateway.accountLoggingRole)}`);
  }
  if (gateway.waf !== undefined && typeof gateway.waf !== 'boolean') assertNumbers(gateway.waf, 'gateway.waf', ['rateLimitPerFiveMinutes']);
  if (gateway.cors !== undefined) specRule('gateway.', () => validateCors(gateway.cors));
  if (
    gateway.domain !== undefined &&
    !(isRecord(gateway.domain) && typeof gateway.domain.domainName === 'string' && typeof gateway.domain.certificateArn === 'string')
  ) {
    throw new Error(`${WHERE}: gateway.domain must be { "domainName": string, "certificateArn": string, "basePath"?: string }`);
  }
}

/** Runs one of the gateway spec's rules, its message placed in the config (`context "gatehouse": gateway.tiers...`). */
function specRule(prefix: string, rule: () => void, rename?: readonly [string, string]): void {
  try {
    rule();
  } catch (error) {
    if (error instanceof GatewaySpecError) {
      const message = rename === undefined ? error.message : error.message.replace(rename[0], rename[1]);
      throw new Error(`${WHERE}: ${prefix}${message}`);
    }
    throw error;
  }
}

/** Checks that each named field of `value`, when present, is a number. */
function assertNumbers(value: unknown, name: string, fields: readonly string[]): void {
  if (value === undefined) return;
  if (!isRecord(value)) throw new Error(`${WHERE}: ${name} must be an object`);
  for (const field of fields) {
    if (value[field] !== undefined && typeof value[field] !== 'number')
      throw new Error(`${WHERE}: ${name}.${field} must be a number, got ${JSON.stringify(value[field])}`);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${WHERE} is a string that is not JSON`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
