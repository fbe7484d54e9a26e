/**
 * The authorizer's contract: its configuration's shape, defaults, validation, how it travels in the
 * Lambda environment, and the context keys it hands the integration. The JwtAuthorizer construct
 * writes the configuration and the handler (lambda/authorizer) reads it, both through this module, so
 * the variable name and format are declared once. It lives in lib/ so that the constructs need not
 * import from lambda/ (the function depends on the library, never the reverse), and it is pure: no
 * aws-cdk-lib, since the function's bundle includes it.
 */
import type { RouteSpec } from '../routes/route-spec';
import { isRoutePermitted, routePolicyResource, validateRoutes } from '../routes/route-spec';

/** Name of the environment variable that carries the encoded configuration. */
export const AUTHORIZER_CONFIG_ENV = 'GATEHOUSE_AUTHORIZER_CONFIG';

/** Lambda caps all environment variables of a function at 4 KB together. */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;

/**
 * The log code of the authorizer's "the issuer's keys could not be had" (JwksUnavailableError), which
 * an alarm counts (lib/monitoring/log-codes.ts).
 */
export const JWKS_UNAVAILABLE_CODE = 'JWKS_UNAVAILABLE';

/** Tokens larger than this are rejected before any parsing. */
export const MAX_TOKEN_BYTES = 8192;

/** Keys of the context that the authorizer hands to the integration (`$context.authorizer.<key>`). */
export const AUTHORIZER_CONTEXT_KEYS = {
  /** The token's scopes, space-separated. */
  scopes: 'scopes',
  /** The OAuth client the token was issued to (`client_id` or `azp`), when the token names one. */
  clientId: 'clientId',
  /** The token's issuer: with several issuers, a user is (issuer, sub), since each issuer picks its own subs. */
  issuer: 'issuer',
} as const;

/** Asymmetric JWS algorithms the authorizer can be configured to accept. Symmetric ones never. */
export const SUPPORTED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

/** A JWS algorithm the authorizer accepts. */
export type JwtAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

/**
 * An identity provider whose tokens the authorizer trusts. Exactly one of `audience` (OIDC and OAuth
 * issuers: Auth0, Okta, Entra ID, Keycloak) and `clientIds` (Cognito user pool access tokens, which
 * carry `client_id` and `token_use` but no `aud`).
 */
export interface TrustedIssuer {
  /** The exact `iss` value of its tokens. */
  readonly issuer: string;
  /** Accepted `aud` values: a token must name at least one. Absent: `clientIds` instead. */
  readonly audience?: readonly string[];
  /**
   * Cognito access tokens: `client_id` must be one of these app client ids, and `token_use` must be
   * `access` (an ID token says `id` and is refused). Absent: `audience` instead.
   */
  readonly clientIds?: readonly string[];
  /**
   * Only scopes that start with this prefix count, and they count without it: Cognito names a resource
   * server's scopes `<identifier>/<scope>`, so `gatehouse/orders:read` is the route spec's `orders:read`.
   * Absent: scopes count as they are.
   */
  readonly scopePrefix?: string;
  /** Where its signing keys are published (a JWKS document). */
  readonly jwksUri: string;
}

/**
 * What the authorizer hands the services as the caller (principalId, then x-user-id): the token's `sub`
 * as it is (`subject`), or `sub` qualified by its issuer as `{iss}#{sub}` (`issuer-qualified`), so that
 * two issuers' users with the same `sub` are two customers. Several issuers require `issuer-qualified`.
 */
export type UserIdFormat = 'subject' | 'issuer-qualified';

/** Which policy resources (`GET/products/*`) each scope grants; `any` lists routes open to every valid token. */
export interface ScopeTable {
  readonly any: readonly string[];
  readonly byScope: Readonly<Record<string, readonly string[]>>;
}

/** How the JWKS of each issuer is fetched and cached. */
export interface JwksSettings {
  /** Abort a JWKS fetch after this many milliseconds. */
  readonly timeoutMs: number;
  /** After a fetch, an unknown `kid` triggers no new fetch for this many milliseconds. */
  readonly cooldownMs: number;
  /** Refetch a JWKS that is older than this many milliseconds. */
  readonly cacheMaxAgeMs: number;
}

/** Everything the authorizer handler needs. */
export interface AuthorizerConfig {
  readonly issuers: readonly TrustedIssuer[];
  readonly algorithms: readonly JwtAlgorithm[];
  readonly clockToleranceSeconds: number;
  /** Required `typ` header, such as `at+jwt` (RFC 9068); absent: not checked. */
  readonly tokenType?: string;
  /** Claim whose value becomes the usage plan API key (`apiKeySource: AUTHORIZER`); absent: none. */
  readonly usageIdentifierClaim?: string;
  /** The form of the caller id; absent: `subject` with one issuer, `issuer-qualified` with several (see defaultUserIdFormat). */
  readonly userIds?: UserIdFormat;
  readonly scopeTable: ScopeTable;
  readonly jwks: JwksSettings;
}

/** Separates the issuer from the subject in an issuer-qualified user id: `{iss}#{sub}`. */
export const USER_ID_SEPARATOR = '#';

/** The user id format a configuration gets when it names none: qualified as soon as there are two issuers. */
export function defaultUserIdFormat(config: Pick<AuthorizerConfig, 'issuers' | 'userIds'>): UserIdFormat {
  return config.userIds ?? (config.issuers.length > 1 ? 'issuer-qualified' : 'subject');
}

/**
 * The caller id the services see (x-user-id): stable for a given (issuer, sub), distinct across issuers
 * when qualified. `{iss}#{sub}` splits back at the first `#`, since an issuer has none.
 */
export function userIdOf(format: UserIdFormat, issuer: string, subject: string): string {
  return format === 'subject' ? subject : `${issuer}${USER_ID_SEPARATOR}${subject}`;
}

/** Defaults that the construct documents and the handler applies. */
export const AUTHORIZER_DEFAULTS = {
  algorithms: ['RS256', 'ES256'] as readonly JwtAlgorithm[],
  clockToleranceSeconds: 30,
  jwks: { timeoutMs: 3_000, cooldownMs: 30_000, cacheMaxAgeMs: 600_000 } as JwksSettings,
} as const;

/** Upper bound on clock tolerance: more would keep expired tokens alive for minutes. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;

/** The scope table for a route spec: the part of it that the authorizer needs, and no more. */
export function buildScopeTable(routes: readonly RouteSpec[]): ScopeTable {
  validateRoutes(routes);
  const any = new Set<string>();
  const byScope = new Map<string, Set<string>>();
  for (const route of routes) {
    const resource = routePolicyResource(route);
    if (route.scopes.length === 0) any.add(resource);
    for (const scope of route.scopes) {
      const resources = byScope.get(scope) ?? new Set<string>();
      resources.add(resource);
      byScope.set(scope, resources);
    }
  }
  return {
    any: [...any],
    byScope: Object.fromEntries([...byScope].map(([scope, resources]) => [scope, [...resources]])),
  };
}

/** The routes of `routes` that a token with `scopes` may call, as policy resources. For tests and tools. */
export function permittedResources(routes: readonly RouteSpec[], scopes: readonly string[]): string[] {
  const held = new Set(scopes);
  return routes.filter((route) => isRoutePermitted(route, held)).map(routePolicyResource);
}

/** Options of {@link assertAuthorizerConfig}. */
export interface ConfigCheckOptions {
  /** Reject `http:` JWKS URIs even on loopback (true for a deployed authorizer). */
  readonly requireHttps?: boolean;
}

/** Throws an Error naming the field and the rule when `value` is not a valid {@link AuthorizerConfig}. */
export function assertAuthorizerConfig(value: unknown, options: ConfigCheckOptions = {}): asserts value is AuthorizerConfig {
  assertObject(value, 'authorizer config');
  const { issuers, algorithms, clockToleranceSeconds, tokenType, usageIdentifierClaim, userIds, scopeTable, jwks } = value;

  if (!Array.isArray(issuers) || issuers.length === 0) {
    throw new Error('issuers must list at least one trusted issuer, got none');
  }
  const seen = new Set<string>();
  issuers.forEach((entry: unknown, index) => {
    assertIssuer(entry, `issuers[${index}]`, options);
    if (seen.has(entry.issuer)) throw new Error(`issuers[${index}].issuer ${entry.issuer} is listed twice`);
    seen.add(entry.issuer);
  });

  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw new Error(`algorithms must list at least one of ${SUPPORTED_ALGORITHMS.join(', ')}, got none`);
  }
  for (const algorithm of algorithms) {
    if (!(SUPPORTED_ALGORITHMS as readonly unknown[]).includes(algorithm)) {
      throw new Error(`algorithms: ${JSON.stringify(algorithm)} is not allowed; use asymmetric ones: ${SUPPORTED_ALGORITHMS.join(', ')}`);
    }
  }
  if (
    !(typeof clockToleranceSeconds === 'number' && Number.isInteger(clockToleranceSeconds)) ||
    clockToleranceSeconds < 0 ||
    clockToleranceSeconds > MAX_CLOCK_TOLERANCE_SECONDS
  ) {
    throw new Error(`clockTolerance must be whole seconds from 0 to ${MAX_CLOCK_TOLERANCE_SECONDS}, got ${String(clockToleranceSeconds)}`);
  }
  if (tokenType !== undefined && !(typeof tokenType === 'string' && tokenType.length > 0)) {
    throw new Error(`tokenType must be a non-empty string such as "at+jwt", got ${JSON.stringify(tokenType)}`);
  }
  if (usageIdentifierClaim !== undefined && !(typeof usageIdentifierClaim === 'string' && usageIdentifierClaim.length > 0)) {
    throw new Error(`usageIdentifierClaim must name a claim, got ${JSON.stringify(usageIdentifierClaim)}`);
  }
  if (userIds !== undefined && userIds !== 'subject' && userIds !== 'issuer-qualified') {
    throw new Error(`userIds must be "subject" or "issuer-qualified", got ${JSON.stringify(userIds)}`);
  }
  if (userIds === 'subject' && issuers.length > 1) {
    throw new Error(
      `userIds must be "issuer-qualified" with ${issuers.length} issuers: each issuer picks its own subs, and with "subject" two issuers' users with the same sub would be one customer`,
    );
  }
  assertScopeTable(scopeTable);
  assertObject(jwks, 'jwks');
  assertDuration(jwks.timeoutMs, 'jwks.timeoutMs', 1, 29_000);
  assertDuration(jwks.cooldownMs, 'jwks.cooldownMs', 0, 3_600_000);
  assertDuration(jwks.cacheMaxAgeMs, 'jwks.cacheMaxAgeMs', 1_000, 86_400_000);
}

/** The environment variable value for a configuration (validated first). */
export function encodeAuthorizerConfig(config: AuthorizerConfig, options: ConfigCheckOptions = {}): string {
  assertAuthorizerConfig(config, options);
  return JSON.stringify(config);
}

/**
 * The configuration an environment variable value carries (see {@link AUTHORIZER_CONFIG_ENV}), validated;
 * throws naming what is wrong. `undefined` or empty: the variable is not set.
 */
export function decodeAuthorizerConfig(raw: string | undefined): AuthorizerConfig {
  if (raw === undefined || raw === '') {
    throw new Error(`${AUTHORIZER_CONFIG_ENV} is not set: the authorizer has no issuers or routes to check tokens against`);
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new Error(`${AUTHORIZER_CONFIG_ENV} is not valid JSON`, { cause: error });
  }
  assertAuthorizerConfig(value);
  return value;
}

function assertObject(value: unknown, name: string): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${name} must be an object`);
  }
}

function assertIssuer(value: unknown, name: string, options: ConfigCheckOptions): asserts value is TrustedIssuer {
  assertObject(value, name);
  const { issuer, audience, clientIds, scopePrefix, jwksUri } = value;
  if (typeof issuer !== 'string' || issuer.length === 0) {
    throw new Error(`${name}.issuer must be the exact iss value of the issuer's tokens, got ${JSON.stringify(issuer)}`);
  }
  // An issuer identifier has no fragment (OpenID Connect Discovery 1.0, section 3): `#` separates it from sub in a qualified user id.
  if (issuer.includes(USER_ID_SEPARATOR))
    throw new Error(`${name}.issuer must not contain "${USER_ID_SEPARATOR}" (an issuer URL has no fragment), got ${issuer}`);
  const isNameList = (list: unknown): boolean => Array.isArray(list) && list.length > 0 && list.every((entry) => typeof entry === 'string' && entry.length > 0);
  if ((audience === undefined) === (clientIds === undefined)) {
    throw new Error(`${name} must have exactly one of audience (tokens with aud) and clientIds (Cognito access tokens) for ${issuer}`);
  }
  if (audience !== undefined && !isNameList(audience)) throw new Error(`${name}.audience must list at least one non-empty audience for ${issuer}`);
  if (clientIds !== undefined && !isNameList(clientIds)) throw new Error(`${name}.clientIds must list at least one non-empty app client id for ${issuer}`);
  if (scopePrefix !== undefined && !(typeof scopePrefix === 'string' && scopePrefix.length > 0)) {
    throw new Error(`${name}.scopePrefix must be a non-empty string such as "gatehouse/", got ${JSON.stringify(scopePrefix)}`);
  }
  if (typeof jwksUri !== 'string') {
    throw new Error(`${name}.jwksUri must be the URL of ${issuer}'s JWKS`);
  }
  let url: URL;
  try {
    url = new URL(jwksUri);
  } catch {
    throw new Error(`${name}.jwksUri must be a URL, got ${JSON.stringify(jwksUri)}`);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback && options.requireHttps !== true)) {
    throw new Error(`${name}.jwksUri must use https (keys fetched in the clear could be swapped), got ${jwksUri}`);
  }
}

function assertScopeTable(value: unknown): asserts value is ScopeTable {
  assertObject(value, 'scopeTable');
  const isResourceList = (list: unknown): boolean => Array.isArray(list) && list.every((entry) => typeof entry === 'string' && entry.length > 0);
  if (!isResourceList(value.any)) throw new Error('scopeTable.any must be a list of policy resources');
  assertObject(value.byScope, 'scopeTable.byScope');
  for (const [scope, resources] of Object.entries(value.byScope)) {
    if (!isResourceList(resources)) throw new Error(`scopeTable.byScope[${JSON.stringify(scope)}] must be a list of policy resources`);
  }
}

function assertDuration(value: unknown, name: string, min: number, max: number): asserts value is number {
  if (!(typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max)) {
    throw new Error(`${name} must be whole milliseconds from ${min} to ${max}, got ${String(value)}`);
  }
}
