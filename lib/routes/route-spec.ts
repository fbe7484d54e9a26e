/**
 * The route spec: routes, their owning service, required scopes, body schemas and throttles as data.
 *
 * One spec, several renderers (DESIGN.md): the CDK gateway renders it into API Gateway resources, the
 * authorizer receives its scope table to build policies, and the local gateway serves it. This module is
 * pure data and functions: runtime code imports it, so it must never import aws-cdk-lib.
 */
import { isValidRoutePath, parseRoutePath, policyPathPattern, resourcePathParts, routePathShape } from './route-path';

/** HTTP methods a route may use. CORS preflight (OPTIONS) belongs to the gateway, not to a route. */
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;

/** An HTTP method a route may use. */
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** The JSON Schema (draft-04) keywords that API Gateway models support and our schemas use. */
export interface JsonSchema {
  readonly $schema?: string;
  readonly title?: string;
  readonly description?: string;
  readonly type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly minProperties?: number;
  readonly maxProperties?: number;
  readonly items?: JsonSchema;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly uniqueItems?: boolean;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly enum?: readonly (string | number | boolean | null)[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly format?: string;
}

/** Steady-state rate and burst for one route, as API Gateway method throttling defines them. */
export interface RouteThrottle {
  /** Requests per second, steady state. */
  readonly rateLimit: number;
  /** Token-bucket size: requests that may arrive at once. */
  readonly burstLimit: number;
}

/** One route of the API. */
export interface RouteSpec {
  /** The HTTP method. */
  readonly method: HttpMethod;
  /** The path, with `{name}` for a path parameter: `/products/{id}`. */
  readonly path: string;
  /** The name of the service that serves this route. */
  readonly service: string;
  /**
   * OAuth scopes that grant this route: a token holding any one of them may call it.
   * An empty list means any valid token may call it.
   */
  readonly scopes: readonly string[];
  /**
   * JSON Schema (draft-04) that the request body must satisfy.
   * @default - the body is not validated
   */
  readonly requestSchema?: JsonSchema;
  /**
   * Each client's own limit on this route: per API key, in every usage plan's per-method throttle
   * (never above the plan's own rate and burst), so that one client cannot use up another's share.
   * @default - the usage plan's limits only
   */
  readonly throttle?: RouteThrottle;
  /**
   * All clients together on this route: the stage's method throttle, a ceiling that protects the
   * service. At least `throttle`.
   * @default - the stage throttle only
   */
  readonly ceiling?: RouteThrottle;
  /**
   * Request headers the route's service reads, beyond the gateway's own (the token, the API key): the
   * OpenAPI document lists them, so that a generated client sends them. The gateway passes every
   * header through; the service checks its own.
   * @default - none
   */
  readonly headers?: readonly RouteHeader[];
  /**
   * One line about the route, for docs and API Gateway.
   * @default - none
   */
  readonly summary?: string;
}

/** A request header a route's service reads. */
export interface RouteHeader {
  /** Its name, lower-case (HTTP header names are case-insensitive; Node hands them over lower-cased). */
  readonly name: string;
  /** Whether the service refuses a request without it. */
  readonly required: boolean;
  /** What it is for, for the docs. */
  readonly description: string;
  /** The JSON Schema of its value. @default - any string */
  readonly schema?: JsonSchema;
}

// RFC 9110 section 5.1: field-name = token; lower-case here, as Node hands header names over.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

// RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** `GET /products/{id}`: how a route is named in messages and maps. */
export function routeKey(route: Pick<RouteSpec, 'method' | 'path'>): string {
  return `${route.method} ${route.path}`;
}

/**
 * The resource part of the route's `execute-api` ARN pattern, after `{apiId}/{stage}/`:
 * `GET/products/*` for `GET /products/{id}`. Path parameters become `*`.
 */
export function routePolicyResource(route: Pick<RouteSpec, 'method' | 'path'>): string {
  return `${route.method}${policyPathPattern(route.path)}`;
}

/** Whether a token holding `scopes` may call `route`. */
export function isRoutePermitted(route: Pick<RouteSpec, 'scopes'>, scopes: ReadonlySet<string>): boolean {
  return route.scopes.length === 0 || route.scopes.some((scope) => scopes.has(scope));
}

/**
 * Checks a route spec and throws an Error that names the route and the rule it breaks.
 *
 * Beyond the shape of each route, it rejects specs whose routes an authorizer policy could not tell
 * apart: IAM's `*` also matches `/`, so the policy resource of `GET /a/{id}` (`GET/a/*`) also covers
 * `GET /a/{id}/b`. If the second route needs scopes the first does not, a cached policy for a token
 * allowed the first would let it call the second.
 */
export function validateRoutes(routes: readonly RouteSpec[]): void {
  if (routes.length === 0) {
    throw new Error('routes must list at least one route, got none');
  }
  const byKey = new Map<string, RouteSpec>();
  const variableAt = new Map<string, string>();
  for (const route of routes) {
    validateRoute(route);
    const key = `${route.method} ${routePathShape(route.path)}`;
    const existing = byKey.get(key);
    if (existing) {
      throw new Error(`routes: ${routeKey(route)} duplicates ${routeKey(existing)}; each method and path may appear once`);
    }
    byKey.set(key, route);
    checkSiblingVariables(route, variableAt);
  }
  for (const wide of routes) {
    for (const narrow of routes) {
      if (wide !== narrow && policyCovers(wide, narrow) && grantsMore(wide, narrow)) {
        throw new Error(
          `routes: the policy resource ${routePolicyResource(wide)} of ${routeKey(wide)} also matches ${routeKey(narrow)}, ` +
            `which needs other scopes; give ${routeKey(narrow)} the scopes of ${routeKey(wide)} (or fewer) or change the paths, ` +
            'because a cached authorizer policy cannot tell the two routes apart',
        );
      }
    }
  }
}

function validateRoute(route: RouteSpec): void {
  const name = `routes: ${String(route.method)} ${String(route.path)}`;
  if (!(HTTP_METHODS as readonly string[]).includes(route.method)) {
    throw new Error(`${name}: method must be one of ${HTTP_METHODS.join(', ')}, got ${JSON.stringify(route.method)}`);
  }
  if (typeof route.path !== 'string' || !route.path.startsWith('/')) {
    throw new Error(`${name}: path must start with /, got ${JSON.stringify(route.path)}`);
  }
  if (!isValidRoutePath(route.path)) {
    throw new Error(
      `${name}: path segments must be literal (letters, digits, . _ ~ -) or a {parameter}, with no empty or trailing segment, got ${JSON.stringify(route.path)}`,
    );
  }
  if (typeof route.service !== 'string' || route.service.length === 0) {
    throw new Error(`${name}: service must name the service that serves the route`);
  }
  if (!Array.isArray(route.scopes)) {
    throw new Error(`${name}: scopes must be a list (empty for any valid token)`);
  }
  for (const scope of route.scopes) {
    if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) {
      throw new Error(`${name}: scope ${JSON.stringify(scope)} is not a valid OAuth scope (RFC 6749, section 3.3)`);
    }
  }
  for (const field of ['throttle', 'ceiling'] as const) {
    const limit = route[field];
    if (limit === undefined) continue;
    const { rateLimit, burstLimit } = limit;
    if (!(typeof rateLimit === 'number' && rateLimit >= 0 && Number.isFinite(rateLimit))) {
      throw new Error(`${name}: ${field}.rateLimit must be a number of requests per second >= 0, got ${String(rateLimit)}`);
    }
    if (!(Number.isInteger(burstLimit) && burstLimit >= 0)) {
      throw new Error(`${name}: ${field}.burstLimit must be a whole number of requests >= 0, got ${String(burstLimit)}`);
    }
  }
  const headerNames = new Set<string>();
  for (const header of route.headers ?? []) {
    if (typeof header.name !== 'string' || !HEADER_NAME.test(header.name)) {
      throw new Error(`${name}: header name must be a lower-case HTTP field name (RFC 9110, section 5.1), got ${JSON.stringify(header.name)}`);
    }
    if (headerNames.has(header.name)) throw new Error(`${name}: header ${header.name} is listed twice`);
    headerNames.add(header.name);
  }
  if (
    route.throttle !== undefined &&
    route.ceiling !== undefined &&
    (route.ceiling.rateLimit < route.throttle.rateLimit || route.ceiling.burstLimit < route.throttle.burstLimit)
  ) {
    throw new Error(
      `${name}: ceiling (all clients, ${route.ceiling.rateLimit}/s burst ${route.ceiling.burstLimit}) must be at least throttle (one client, ${route.throttle.rateLimit}/s burst ${route.throttle.burstLimit})`,
    );
  }
}

/** A route's per-client throttle within a tier: never above the tier's own rate and burst. */
export function perClientThrottle(route: Pick<RouteSpec, 'throttle'>, tier: RouteThrottle): RouteThrottle | undefined {
  if (route.throttle === undefined) return undefined;
  return { rateLimit: Math.min(route.throttle.rateLimit, tier.rateLimit), burstLimit: Math.min(route.throttle.burstLimit, tier.burstLimit) };
}

/** API Gateway rejects sibling resources whose path variables have different names. */
function checkSiblingVariables(route: RouteSpec, variableAt: Map<string, string>): void {
  const parts = resourcePathParts(route.path);
  parseRoutePath(route.path).forEach((segment, index) => {
    if (segment.kind !== 'param') return;
    const parent = `/${parts.slice(0, index).join('/')}`;
    const variable = parts[index];
    const seen = variableAt.get(parent);
    if (seen !== undefined && seen !== variable) {
      throw new Error(
        `routes: ${routeKey(route)} uses ${variable} under ${parent} where another route uses ${seen}; API Gateway needs one name per path variable`,
      );
    }
    variableAt.set(parent, variable);
  });
}

/** Whether some request that API Gateway routes to `narrow` matches the policy resource of `wide`. */
function policyCovers(wide: RouteSpec, narrow: RouteSpec): boolean {
  if (wide.method !== narrow.method) return false;
  const pattern = new RegExp(
    `^${routePolicyResource(wide)
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  // A path parameter of `narrow` stands for a value no literal segment of `wide` can equal.
  return pattern.test(`${narrow.method}${routePathShape(narrow.path)}`);
}

/** Whether some scope set grants `wide` but not `narrow`. */
function grantsMore(wide: RouteSpec, narrow: RouteSpec): boolean {
  if (narrow.scopes.length === 0) return false;
  if (wide.scopes.length === 0) return true;
  return wide.scopes.some((scope) => !narrow.scopes.includes(scope));
}
