import { Duration, Lazy, Token, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { AuthorizerConfig, JwtAlgorithm, TrustedIssuer, UserIdFormat } from './authorizer-contract';
import {
  assertAuthorizerConfig,
  AUTHORIZER_CONFIG_ENV,
  AUTHORIZER_DEFAULTS,
  buildScopeTable,
  encodeAuthorizerConfig,
  LAMBDA_ENVIRONMENT_LIMIT_BYTES,
} from './authorizer-contract';
import { MAX_AUTHORIZER_CACHE_TTL_SECONDS } from '../routes/gateway-spec';
import type { RouteSpec } from '../routes/route-spec';
import { validateRoutes } from '../routes/route-spec';
import { authorizerCode } from './authorizer-code';

/**
 * An identity provider whose JWTs the authorizer accepts: exactly one of `audience` (Auth0, Okta,
 * Entra ID, Keycloak: tokens name the API in `aud`) and `clientIds` (Cognito user pool access tokens,
 * which have no `aud`).
 */
export interface JwtIssuer {
  /** The exact `iss` of its tokens, such as `https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf`. */
  readonly issuer: string;
  /**
   * The audience, or audiences, a token must name in `aud` (an API identifier).
   * @default - none: `clientIds` instead
   */
  readonly audience?: string | readonly string[];
  /**
   * Cognito: the app client ids whose access tokens are accepted. A token's `client_id` must be one of
   * them and its `token_use` must be `access`; ID tokens are refused.
   * @default - none: `audience` instead
   */
  readonly clientIds?: readonly string[];
  /**
   * A prefix every scope of this issuer carries, taken off before the route spec's scopes are matched:
   * Cognito's resource server scopes are `<identifier>/<scope>`, so `gatehouse/` for the identifier `gatehouse`.
   * @default - none: scopes are matched as they are
   */
  readonly scopePrefix?: string;
  /**
   * The URL of the issuer's JWKS.
   * @default - `${issuer}/.well-known/jwks.json`, where Cognito and Auth0 publish theirs
   */
  readonly jwksUri?: string;
}

/** Props of {@link JwtAuthorizer}. */
export interface JwtAuthorizerProps {
  /** The issuers to trust: at least one. */
  readonly issuers: readonly JwtIssuer[];
  /**
   * The API's routes: a token is allowed the routes its scopes permit. A MicroservicesGateway adds
   * the routes it renders with {@link JwtAuthorizer.addRoutes}, so pass them here only when you wire
   * the authorizer to a REST API of your own.
   * @default - none until `addRoutes`; synth fails if there are still none
   */
  readonly routes?: readonly RouteSpec[];
  /**
   * Signature algorithms to accept (asymmetric only).
   * @default - RS256 and ES256
   */
  readonly algorithms?: readonly JwtAlgorithm[];
  /**
   * Leeway for `exp`, `nbf` and `iat` against the Lambda's clock, in whole seconds up to 5 minutes.
   * @default - Duration.seconds(30)
   */
  readonly clockTolerance?: Duration;
  /**
   * The caller id the services get in x-user-id: the token's `sub` (`subject`), or `{iss}#{sub}`
   * (`issuer-qualified`), distinct per issuer. Choose `issuer-qualified` from the start if you may
   * trust a second issuer later: switching changes every stored customer id.
   * @default - 'subject' with one issuer, 'issuer-qualified' with several ('subject' is refused then)
   */
  readonly userIds?: UserIdFormat;
  /**
   * The `typ` header a token must carry, such as `at+jwt` for RFC 9068 access tokens.
   * @default - the typ header is not checked
   */
  readonly tokenType?: string;
  /**
   * The claim whose value API Gateway uses as the caller's API key when the REST API's
   * `apiKeySource` is AUTHORIZER, so that a client's usage plan follows its identity.
   * @default - none: API keys come from the `x-api-key` header
   */
  readonly usageIdentifierClaim?: string;
  /**
   * How long API Gateway caches the policy for a token; `Duration.seconds(0)` disables the cache.
   * A token stays usable for up to this long after it expires or its keys are revoked.
   * @default - Duration.minutes(5)
   */
  readonly resultsCacheTtl?: Duration;
  /**
   * How long one JWKS fetch may take before the request fails closed (5xx). Less than 10 seconds.
   * @default - Duration.seconds(3)
   */
  readonly jwksFetchTimeout?: Duration;
  /**
   * After a JWKS fetch, tokens with an unknown `kid` are rejected without another fetch for this long.
   * @default - Duration.seconds(30)
   */
  readonly jwksCooldown?: Duration;
  /**
   * Cached keys are refetched when older than this.
   * @default - Duration.minutes(10)
   */
  readonly jwksCacheMaxAge?: Duration;
  /**
   * Memory of the function, in MB. CPU grows with memory, and signature checks are CPU-bound.
   * @default - 512
   */
  readonly memorySize?: number;
  /**
   * How long the function's logs are kept.
   * @default - logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

const FUNCTION_TIMEOUT = Duration.seconds(10);
const MAX_RESULTS_CACHE_TTL_SECONDS = MAX_AUTHORIZER_CACHE_TTL_SECONDS;

/**
 * A JWT authorizer for a REST API: a Lambda function that verifies tokens with jose against the
 * trusted issuers' JWKS and answers with a policy listing every route the token's scopes permit,
 * and the REQUEST authorizer that API Gateway calls it through (identity: the Authorization header).
 *
 * Use `authorizer` on a method, or as the API's default method option.
 */
export class JwtAuthorizer extends Construct {
  /** The authorizer function. */
  public readonly handler: nodejs.NodejsFunction;
  /** The API Gateway authorizer. */
  public readonly authorizer: apigateway.RequestAuthorizer;
  /** The function's log group. */
  public readonly logGroup: logs.LogGroup;
  private readonly settings: Omit<AuthorizerConfig, 'scopeTable'>;
  private readonly routes: RouteSpec[] = [];

  constructor(scope: Construct, id: string, props: JwtAuthorizerProps) {
    super(scope, id);
    const resultsCacheTtl = props.resultsCacheTtl ?? Duration.minutes(5);
    const jwksFetchTimeout = props.jwksFetchTimeout ?? Duration.millis(AUTHORIZER_DEFAULTS.jwks.timeoutMs);
    validateDurations(resultsCacheTtl, jwksFetchTimeout);

    this.settings = {
      issuers: props.issuers.map((entry, index) => ({
        issuer: entry.issuer,
        ...(entry.audience !== undefined && { audience: typeof entry.audience === 'string' ? [entry.audience] : [...entry.audience] }),
        ...(entry.clientIds !== undefined && { clientIds: [...entry.clientIds] }),
        ...(entry.scopePrefix !== undefined && { scopePrefix: entry.scopePrefix }),
        jwksUri: entry.jwksUri ?? defaultJwksUri(entry.issuer, index),
      })),
      ...(props.userIds !== undefined && { userIds: props.userIds }),
      algorithms: props.algorithms ?? AUTHORIZER_DEFAULTS.algorithms,
      clockToleranceSeconds: wholeSeconds('clockTolerance', props.clockTolerance ?? Duration.seconds(AUTHORIZER_DEFAULTS.clockToleranceSeconds)),
      ...(props.tokenType !== undefined && { tokenType: props.tokenType }),
      ...(props.usageIdentifierClaim !== undefined && { usageIdentifierClaim: props.usageIdentifierClaim }),
      jwks: {
        timeoutMs: jwksFetchTimeout.toMilliseconds(),
        cooldownMs: (props.jwksCooldown ?? Duration.millis(AUTHORIZER_DEFAULTS.jwks.cooldownMs)).toMilliseconds(),
        cacheMaxAgeMs: (props.jwksCacheMaxAge ?? Duration.millis(AUTHORIZER_DEFAULTS.jwks.cacheMaxAgeMs)).toMilliseconds(),
      },
    };
    // Everything but the routes is checked now; routes are checked as they are added.
    assertAuthorizerConfig(checkable({ ...this.settings, scopeTable: { any: [], byScope: {} } }), { requireHttps: true });
    if (props.routes !== undefined) this.addRoutes(props.routes);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });

    // A role of our own: the default one attaches the AWSLambdaBasicExecutionRole managed policy,
    // which may write to any log group in the account.
    const role = new iam.Role(this, 'ServiceRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Gatehouse JWT authorizer: writes its own logs and traces, nothing else',
    });
    this.logGroup.grantWrite(role);

    this.handler = new nodejs.NodejsFunction(this, 'Handler', {
      // Bundled from the source in this repository; the prebuilt bundle in an installed package.
      ...authorizerCode(),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: FUNCTION_TIMEOUT,
      role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      description: 'Gatehouse: verifies JWTs for API Gateway and returns per-scope route policies',
      // Lazy: routes added after this point (addRoutes) are in the table the function gets.
      environment: {
        [AUTHORIZER_CONFIG_ENV]: Lazy.string({ produce: () => this.encodedConfig() }),
        ...STATIC_ENVIRONMENT,
      },
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions; the role has nothing else on *',
    });

    this.authorizer = new apigateway.RequestAuthorizer(this, 'Resource', {
      handler: this.handler,
      identitySources: [apigateway.IdentitySource.header('Authorization')],
      resultsCacheTtl,
    });
  }

  /** The configuration the function runs with. */
  get config(): AuthorizerConfig {
    if (this.routes.length === 0) throw new Error(`${this.node.path}: the authorizer serves no routes: pass routes, or add them with addRoutes`);
    return { ...this.settings, scopeTable: buildScopeTable(this.routes) };
  }

  /**
   * Adds routes to the scope table the function checks tokens against.
   * @throws Error if the routes together are not a valid spec, or no longer fit in the function's environment.
   */
  addRoutes(routes: readonly RouteSpec[]): void {
    validateRoutes([...this.routes, ...routes]);
    this.routes.push(...routes);
    const environmentBytes = [[AUTHORIZER_CONFIG_ENV, this.encodedConfig()], ...Object.entries(STATIC_ENVIRONMENT)].reduce(
      (sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value),
      0,
    );
    if (environmentBytes > LAMBDA_ENVIRONMENT_LIMIT_BYTES) {
      throw new Error(
        `the authorizer's environment (issuers and the routes' scope table) is ${environmentBytes} bytes, over the ` +
          `${LAMBDA_ENVIRONMENT_LIMIT_BYTES} bytes Lambda allows; use fewer issuers, fewer or shorter scopes, or fewer routes per authorizer`,
      );
    }
  }

  /**
   * The configuration as the function's environment carries it. Values that are tokens (a user pool's
   * id or client id made in the same stack) are checked as placeholders here and resolved by
   * CloudFormation; the function checks the resolved configuration again when it starts.
   */
  private encodedConfig(): string {
    const config = this.config;
    encodeAuthorizerConfig(checkable(config), { requireHttps: true });
    return JSON.stringify(config);
  }
}

// Stack traces that name our source lines, not the minified bundle's.
const STATIC_ENVIRONMENT = { NODE_OPTIONS: '--enable-source-maps' } as const;

function validateDurations(resultsCacheTtl: Duration, jwksFetchTimeout: Duration): void {
  if (!resultsCacheTtl.isUnresolved()) {
    const seconds = resultsCacheTtl.toSeconds({ integral: false });
    if (seconds < 0 || seconds > MAX_RESULTS_CACHE_TTL_SECONDS || !Number.isInteger(seconds)) {
      throw new Error(`resultsCacheTtl must be whole seconds from 0 to ${MAX_RESULTS_CACHE_TTL_SECONDS}, got ${seconds}`);
    }
  }
  if (!jwksFetchTimeout.isUnresolved() && jwksFetchTimeout.toMilliseconds() >= FUNCTION_TIMEOUT.toMilliseconds()) {
    throw new Error(
      `jwksFetchTimeout must be less than the function timeout of ${FUNCTION_TIMEOUT.toSeconds()} seconds, got ${jwksFetchTimeout.toHumanString()}`,
    );
  }
}

function wholeSeconds(name: string, duration: Duration): number {
  const seconds = duration.toSeconds({ integral: false });
  if (!Number.isInteger(seconds)) throw new Error(`${name} must be whole seconds, got ${seconds}`);
  return seconds;
}

/** A copy of `config` whose unresolved issuer values are placeholders of the same shape, for the checks. */
function checkable(config: AuthorizerConfig): AuthorizerConfig {
  const placeholder = (value: string, index: number, kind: string): string =>
    Token.isUnresolved(value) ? `https://unresolved-${index}.invalid/${kind}` : value;
  const issuers: TrustedIssuer[] = config.issuers.map((entry, index) => ({
    ...entry,
    issuer: placeholder(entry.issuer, index, 'issuer'),
    jwksUri: placeholder(entry.jwksUri, index, 'jwks.json'),
    ...(entry.clientIds !== undefined && { clientIds: entry.clientIds.map((id) => (Token.isUnresolved(id) ? `client-${index}` : id)) }),
  }));
  return { ...config, issuers };
}

function defaultJwksUri(issuer: string, index: number): string {
  // A token (a user pool's provider URL) resolves to an https URL at deploy.
  if (Token.isUnresolved(issuer)) return `${issuer}/.well-known/jwks.json`;
  if (!/^https:\/\/[^/]/.test(issuer)) {
    throw new Error(`issuers[${index}].jwksUri is needed: the issuer ${JSON.stringify(issuer)} is not an https URL to derive it from`);
  }
  return `${issuer.replace(/\/+$/, '')}/.well-known/jwks.json`;
}
