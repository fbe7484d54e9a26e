/**
 * Every check a request passes before the integration, in the order the local gateway runs them:
 * 1. the route (`/{stage}/...` against the spec),
 * 2. the authorizer (cached per Authorization value) and its policy for this method ARN,
 * 3. the API key (`x-api-key`, or the authorizer's `usageIdentifierKey` with `apiKeySource: AUTHORIZER`; one of a tier's keys),
 * 4. the stage throttle, the route's throttle, the key's tier throttle and its quota,
 * 5. the body against the route's schema.
 * The result is a decision, not an HTTP answer: the edge writes it. No node:http here.
 */
import type { AuthorizerHandler } from '../../lambda/authorizer/handler';
import { AUTHORIZER_CONTEXT_KEYS } from '../../lib/auth/authorizer-contract';
import type { ApiKeySource } from '../../lib/routes/gateway-spec';
import type { RouteSpec, RouteThrottle } from '../../lib/routes/route-spec';
import { routeKey } from '../../lib/routes/route-spec';
import type { LocalResponseType } from './answers';
import type { AuthorizerSource } from './authorization';
import { LocalAuthorizer } from './authorization';
import { headerValues } from './authorizer-event';
import { BodyValidator } from './body-validation';
import type { ForwardedIdentity } from './proxy-headers';
import { API_KEY_HEADER } from './proxy-headers';
import { RouteTable } from './routing';
import type { LocalTier } from './usage-plans';
import { UsagePlans } from './usage-plans';

/** A request as the gateway received it. */
export interface ReceivedRequest {
  readonly requestId: string;
  readonly method: string;
  /** The path as received, percent-encoded, without the query: `/v1/products/p-1`. */
  readonly rawPath: string;
  /** The query string, without the `?`. */
  readonly query: string;
  /** Header names and values, alternating, as Node's `rawHeaders` gives them. */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  readonly sourceIp: string;
}

/** Facts about a request for its log line: never a token, a key or a body. */
export interface GateLog {
  route?: string;
  authorizer?: AuthorizerSource;
  principal?: string;
  tier?: string;
  detail?: string;
}

/** What the checks decided. */
export type GateDecision =
  | {
      readonly kind: 'pass';
      readonly route: RouteSpec;
      /** The route's path with the parameters as received, for the service. */
      readonly upstreamPath: string;
      readonly identity: ForwardedIdentity;
    }
  | { readonly kind: 'refuse'; readonly responseType: LocalResponseType };

/** What the checks need. */
export interface GatekeeperOptions {
  readonly routes: readonly RouteSpec[];
  readonly stageName: string;
  readonly tiers: readonly LocalTier[];
  readonly stageThrottle: RouteThrottle;
  readonly authorizer: AuthorizerHandler;
  readonly authorizerCacheTtlSeconds: number;
  /** Where the API key is read: the `x-api-key` header, or the authorizer's `usageIdentifierKey`. */
  readonly apiKeySource: ApiKeySource;
  /** Milliseconds since the epoch, for buckets, quotas and the authorizer cache. */
  readonly now: () => number;
}

/** The checks of the local gateway, with the state they keep (cache, buckets, quotas). */
export class Gatekeeper {
  private readonly routes: RouteTable;
  private readonly authorizer: LocalAuthorizer;
  private readonly plans: UsagePlans;
  private readonly bodies: BodyValidator;
  private readonly stagePrefix: string;

  /** @throws Error naming the option and the rule, for routes, tiers, throttles or a TTL API Gateway would refuse. */
  constructor(private readonly options: GatekeeperOptions) {
    this.routes = new RouteTable(options.routes);
    this.bodies = new BodyValidator(options.routes);
    this.plans = new UsagePlans(options.tiers, options.stageThrottle);
    this.authorizer = new LocalAuthorizer(options.authorizer, options.authorizerCacheTtlSeconds);
    this.stagePrefix = `/${options.stageName}`;
  }

  /** Runs the checks in order; the first that fails decides. `log` collects what they learnt. */
  async check(request: ReceivedRequest, log: GateLog): Promise<GateDecision> {
    const refuse = (responseType: LocalResponseType, detail?: string): GateDecision => {
      if (detail !== undefined) log.detail = detail;
      return { kind: 'refuse', responseType };
    };

    const path = this.pathInStage(request.rawPath);
    // A path outside the stage or without a resource, and a method the resource lacks, all get
    // API Gateway's MissingAuthenticationToken answer.
    if (path === undefined) return refuse('MISSING_AUTHENTICATION_TOKEN', 'not under the stage');
    const match = this.routes.match(request.method, path);
    if (match.kind === 'no-resource') return refuse('MISSING_AUTHENTICATION_TOKEN', 'no such resource');
    if (match.kind === 'no-method') return refuse('MISSING_AUTHENTICATION_TOKEN', `${match.resourcePath} has no ${request.method} method`);
    const { route } = match;
    log.route = routeKey(route);

    const now = this.options.now();
    const authorization = await this.authorizer.authorize(
      {
        requestId: request.requestId,
        stageName: this.options.stageName,
        method: request.method,
        resourcePath: route.path,
        path,
        pathParameters: match.pathParameters,
        rawHeaders: request.rawHeaders,
        query: request.query,
        sourceIp: request.sourceIp,
        receivedAtMs: now,
      },
      now,
    );
    log.authorizer = authorization.source;
    switch (authorization.kind) {
      case 'unauthorized':
        return refuse('UNAUTHORIZED');
      case 'failed':
        return refuse(authorization.responseType, authorization.detail);
      case 'denied':
        log.principal = authorization.principalId;
        return refuse('ACCESS_DENIED', authorization.decision);
      case 'allowed':
        log.principal = authorization.principalId;
    }

    // With AUTHORIZER, API Gateway takes the key the authorizer returned and ignores x-api-key, so the
    // client's tier follows its token (JwtAuthorizerProps.usageIdentifierClaim).
    const keys =
      this.options.apiKeySource === 'AUTHORIZER'
        ? authorization.usageIdentifierKey === undefined
          ? []
          : [authorization.usageIdentifierKey]
        : headerValues(request.rawHeaders, API_KEY_HEADER);
    const tier = keys.length === 1 ? this.plans.tierOf(keys[0]) : undefined;
    if (tier === undefined) return refuse('INVALID_API_KEY', keys.length === 0 ? 'no API key' : keys.length > 1 ? 'several API keys' : 'unknown API key');
    log.tier = tier.name;

    const admission = this.plans.admit(
      { routeKey: routeKey(route), routeThrottle: route.throttle, routeCeiling: route.ceiling, apiKey: keys[0] },
      this.options.now(),
    );
    if (admission !== 'ADMITTED') return refuse(admission);

    const body = this.bodies.check(route, request.body);
    if (!body.valid) return refuse('BAD_REQUEST_BODY', body.detail);

    const scopes = authorization.context[AUTHORIZER_CONTEXT_KEYS.scopes];
    return {
      kind: 'pass',
      route,
      upstreamPath: match.concretePath,
      identity: { requestId: request.requestId, userId: authorization.principalId, scopes: scopes === undefined ? undefined : String(scopes) },
    };
  }

  /** The path after the stage (`/` for the stage itself), or undefined for a path outside it. */
  private pathInStage(rawPath: string): string | undefined {
    if (rawPath === this.stagePrefix) return '/';
    return rawPath.startsWith(`${this.stagePrefix}/`) ? rawPath.slice(this.stagePrefix.length) : undefined;
  }
}
