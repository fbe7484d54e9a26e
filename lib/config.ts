/**
 * The app's configuration: one typed object, read from the `gatehouse` key of the CDK context
 * (cdk.json, or `-c gatehouse='{...}'`) and validated before anything is built.
 */
import type { JwtAlgorithm } from '../lambda/authorizer/config';
import type { JwtIssuer } from './auth/jwt-authorizer';

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
}

/** Everything the Gatehouse app is configured with. */
export interface GatehouseConfig {
  /** The identity providers whose tokens the API accepts. */
  readonly issuers: readonly JwtIssuer[];
  /** @default - the JwtAuthorizer defaults */
  readonly authorizer?: AuthorizerSettings;
  /**
   * The API stage, the first path segment of its URL.
   * @default - 'v1'
   */
  readonly stageName?: string;
}

/** Reads and checks the configuration's shape; ranges and rules are checked by the constructs it feeds. */
export function readGatehouseConfig(value: unknown): GatehouseConfig {
  if (value === undefined) {
    throw new Error(`${WHERE} is missing: set it in cdk.json (see README, "Configuration") or pass -c ${CONFIG_CONTEXT_KEY}='{"issuers":[...]}'`);
  }
  const config = typeof value === 'string' ? parseJson(value) : value;
  assertGatehouseConfig(config);
  return config;
}

const WHERE = `context "${CONFIG_CONTEXT_KEY}"`;

function assertGatehouseConfig(config: unknown): asserts config is GatehouseConfig {
  if (!isRecord(config)) throw new Error(`${WHERE} must be an object`);
  const { issuers, authorizer, stageName } = config;
  if (!Array.isArray(issuers) || issuers.length === 0) throw new Error(`${WHERE}: issuers must list at least one issuer`);
  issuers.forEach((issuer: unknown, index) => {
    const valid =
      isRecord(issuer) &&
      typeof issuer.issuer === 'string' &&
      (typeof issuer.audience === 'string' || (Array.isArray(issuer.audience) && issuer.audience.every((entry) => typeof entry === 'string'))) &&
      (issuer.jwksUri === undefined || typeof issuer.jwksUri === 'string');
    if (!valid) throw new Error(`${WHERE}: issuers[${index}] must be { "issuer": string, "audience": string | string[], "jwksUri"?: string }`);
  });
  if (authorizer !== undefined) {
    if (!isRecord(authorizer)) throw new Error(`${WHERE}: authorizer must be an object`);
    for (const field of ['resultsCacheTtlSeconds', 'clockToleranceSeconds'] as const) {
      if (authorizer[field] !== undefined && typeof authorizer[field] !== 'number') {
        throw new Error(`${WHERE}: authorizer.${field} must be a number of seconds, got ${JSON.stringify(authorizer[field])}`);
      }
    }
    for (const field of ['tokenType', 'usageIdentifierClaim'] as const) {
      if (authorizer[field] !== undefined && typeof authorizer[field] !== 'string') {
        throw new Error(`${WHERE}: authorizer.${field} must be a string, got ${JSON.stringify(authorizer[field])}`);
      }
    }
    if (authorizer.algorithms !== undefined && !(Array.isArray(authorizer.algorithms) && authorizer.algorithms.every((entry) => typeof entry === 'string'))) {
      throw new Error(`${WHERE}: authorizer.algorithms must be a list of algorithm names`);
    }
  }
  if (stageName !== undefined && !(typeof stageName === 'string' && /^[A-Za-z0-9_]{1,128}$/.test(stageName))) {
    throw new Error(`${WHERE}: stageName must be 1 to 128 letters, digits or underscores, got ${JSON.stringify(stageName)}`);
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
