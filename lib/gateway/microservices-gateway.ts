import { Duration, Lazy, Names, Token, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { AUTHORIZER_CONTEXT_KEYS } from '../auth/authorizer-contract';
import type { JwtAuthorizer } from '../auth/jwt-authorizer';
import { SERVICES_LISTENER_PORT, withoutDefaultEgress } from '../network/gatehouse-network';
import { GATEWAY_HEADERS } from '../routes/headers';
import type { GatewaySpec, UsagePlanTier } from '../routes/gateway-spec';
import {
  CORS_ALLOW_HEADERS,
  CORS_ALLOW_METHODS,
  corsErrorOrigin,
  DEFAULT_CORS_MAX_AGE_SECONDS,
  GATEWAY_DEFAULTS,
  INTEGRATION_TIMEOUT_MS,
  validateCors,
  validateStageName,
  validateThrottle,
  validateTiers,
} from '../routes/gateway-spec';
import { operationIdOf, pathParameterNames, resourcePathParts } from '../routes/route-path';
import type { RouteSpec, RouteThrottle } from '../routes/route-spec';
import { perClientThrottle, routeKey, validateRoutes } from '../routes/route-spec';
import { toApiGatewaySchema } from './api-schema';
import { GATEWAY_ERRORS, gatewayErrorTemplate } from './gateway-errors';

/**
 * Where the gateway sends a service's routes: the ALB rule that matches `x-gatehouse-service:
 * {serviceName}` (a Microservice is one).
 */
export interface GatewayTarget {
  /** The value of the `x-gatehouse-service` header that the service's ALB rule matches. */
  readonly serviceName: string;
  /**
   * The service's ALB listener rule: the gateway adds the rewrite that takes the stage off the path
   * (see {@link stagePrefixRewrite}).
   * @default - none: the service's own rule must take care of the stage prefix
   */
  readonly listenerRule?: elbv2.ApplicationListenerRule;
}

/**
 * The ALB URL rewrite that removes a leading `/{stageName}` from the path. AWS's guide to REST API
 * private integrations says API Gateway includes the stage in the path it sends to the load balancer
 * ("Private integrations for REST APIs in API Gateway", Considerations). With this rewrite on each
 * service's rule the service sees exactly the route's path whether the stage is there or not: a path
 * without the prefix does not match, and an ALB sends an unmatched request unchanged.
 */
export function stagePrefixRewrite(stageName: string): { readonly regex: string; readonly replace: string } {
  return { regex: `^/${stageName}(/.*)$`, replace: '$1' };
}

/**
 * The CDK props of a gateway spec (lib/routes/gateway-spec.ts): its stage, throttle, tiers, API key
 * source and integration timeout. The authorizer cache TTL goes to the JwtAuthorizer
 * (`resultsCacheTtl`), the namespace to the ServiceRegistry.
 */
export function gatewayPropsOf(
  spec: GatewaySpec,
): Required<Pick<MicroservicesGatewayProps, 'stageName' | 'throttle' | 'tiers' | 'apiKeySource' | 'integrationTimeout'>> &
  Pick<MicroservicesGatewayProps, 'cors'> {
  return {
    stageName: spec.stageName,
    throttle: spec.throttle,
    tiers: spec.tiers,
    apiKeySource: apigateway.ApiKeySourceType[spec.apiKeySource],
    integrationTimeout: Duration.millis(spec.integrationTimeoutMs),
    ...(spec.cors !== undefined && {
      cors: {
        allowOrigins: spec.cors.allowOrigins,
        ...(spec.cors.maxAgeSeconds !== undefined && { maxAge: Duration.seconds(spec.cors.maxAgeSeconds) }),
      },
    }),
  };
}

/** CORS for browser clients. */
export interface GatewayCors {
  /** Origins allowed to call the API, such as `https://app.example.com`. */
  readonly allowOrigins: readonly string[];
  /**
   * How long browsers may cache a preflight answer.
   * @default - Duration.hours(1)
   */
  readonly maxAge?: Duration;
}

/** A custom domain for the API. */
export interface GatewayDomain {
  /** Such as `api.example.com`. */
  readonly domainName: string;
  /** An ACM certificate for it, in the API's region. */
  readonly certificate: acm.ICertificate;
  /**
   * The path under the domain that maps to the stage.
   * @default - the domain's root
   */
  readonly basePath?: string;
}

/** The web ACL in front of the API. */
export interface GatewayWaf {
  /**
   * Requests one client IP may send in five minutes before it is blocked (AWS minimum: 10). Never
   * below what the fastest tier may send in five minutes, or WAF would block a paying client long
   * before its usage plan does.
   * @default - wafRateLimitFor(tiers): the fastest tier's rate for five minutes, at least 2000
   */
  readonly rateLimitPerFiveMinutes?: number;
}

/** WAF's rate-based rules count requests over a five-minute window. */
const WAF_WINDOW_SECONDS = 300;

/** The per-IP WAF limit that lets the fastest tier run at its sustained rate for the whole window. */
export function wafRateLimitFor(tiers: readonly UsagePlanTier[]): number {
  const fastest = Math.max(...tiers.map((tier) => tier.rateLimit));
  return Math.max(2000, Math.ceil(fastest * WAF_WINDOW_SECONDS));
}

/** Props of {@link MicroservicesGateway}. */
export interface MicroservicesGatewayProps {
  /** The JWT authorizer of every route; the gateway adds its routes to the authorizer's scope table. */
  readonly authorizer: JwtAuthorizer;
  /**
   * The internal ALB in front of the services (GatehouseNetwork.loadBalancer): every integration's
   * target. Its VPC is where the VPC link's network interfaces go.
   */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /**
   * The port of the ALB listener that holds the services' rules.
   * @default - SERVICES_LISTENER_PORT (80)
   */
  readonly listenerPort?: number;
  /**
   * The subnets of the VPC link's network interfaces.
   * @default - the load balancer VPC's private subnets with egress
   */
  readonly vpcLinkSubnets?: ec2.SubnetSelection;
  /**
   * The services behind the gateway, by the name routes use.
   * @default - none; add them with `addService`
   */
  readonly services?: Readonly<Record<string, GatewayTarget>>;
  /**
   * The routes to serve.
   * @default - none; add them with `addRoutes`
   */
  readonly routes?: readonly RouteSpec[];
  /**
   * The stage: the first path segment of the API's URL.
   * @default - 'v1'
   */
  readonly stageName?: string;
  /**
   * Throttle of the whole stage, above every usage plan.
   * @default - 500 requests per second, bursts of 1000
   */
  readonly throttle?: RouteThrottle;
  /**
   * Usage plan tiers; the gateway makes one API key per tier.
   * @default - DEFAULT_TIERS (lib/routes/gateway-spec.ts): basic (10/s, burst 20, 10,000 a day) and pro (100/s, burst 200, 1,000,000 a month)
   */
  readonly tiers?: readonly UsagePlanTier[];
  /**
   * Where API Gateway reads a request's API key: the `x-api-key` header, or the authorizer's
   * `usageIdentifierKey` (see JwtAuthorizerProps.usageIdentifierClaim).
   * @default - apigateway.ApiKeySourceType.HEADER
   */
  readonly apiKeySource?: apigateway.ApiKeySourceType;
  /**
   * CORS for browsers.
   * @default - no CORS: no preflight routes, no CORS headers
   */
  readonly cors?: GatewayCors;
  /**
   * A WAF web ACL with AWS's common and known-bad-inputs rule sets and a per-IP rate rule; `false` for none.
   * @default - on, 2000 requests per IP per five minutes
   */
  readonly waf?: GatewayWaf | false;
  /**
   * A custom domain.
   * @default - only the execute-api URL
   */
  readonly domain?: GatewayDomain;
  /**
   * How long a service has to answer before the gateway answers 504.
   * @default - Duration.seconds(10)
   */
  readonly integrationTimeout?: Duration;
  /**
   * How long access logs are kept.
   * @default - logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Whether the stack sets API Gateway's account-level CloudWatch Logs role (AWS::ApiGateway::Account),
   * which the stage's execution logs need. It is one setting per account and region, shared by every
   * API there: turn it off when another stack or your platform team already sets it (a stage with
   * logging fails to deploy if nobody has).
   * @default - true
   */
  readonly accountLoggingRole?: boolean;
}

/**
 * The single entry point: a regional REST API that renders the route spec. Every route is an
 * HTTP_PROXY integration over a VPC link (v2) to the internal ALB, behind the JWT authorizer and
 * an API key, with its body validated against the route's schema; the integration sets the identity
 * headers from the authorizer, overriding whatever the client sent. Usage plans meter each key; access
 * logs, error logs, tracing, metrics and JSON error bodies come with it; WAF, CORS and a custom domain
 * are options.
 */
export class MicroservicesGateway extends Construct {
  /** The REST API. */
  public readonly api: apigateway.RestApi;
  /** The VPC link (v2) to the ALB. */
  public readonly vpcLink: apigwv2.VpcLink;
  /** The VPC link's security group: out to the ALB's listener only. */
  public readonly vpcLinkSecurityGroup: ec2.SecurityGroup;
  /** The access log group. */
  public readonly accessLogs: logs.LogGroup;
  /** Usage plans, by tier name. */
  public readonly usagePlans: Readonly<Record<string, apigateway.UsagePlan>>;
  /** API keys, by tier name. */
  public readonly apiKeys: Readonly<Record<string, apigateway.IApiKey>>;
  /** The web ACL, when there is one. */
  public readonly webAcl?: wafv2.CfnWebACL;
  /** The custom domain, when there is one. */
  public readonly domainName?: apigateway.DomainName;

  private readonly authorizer: JwtAuthorizer;
  private readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  private readonly listenerPort: number;
  private readonly stageName: string;
  private readonly services = new Map<string, GatewayTarget>();
  private readonly routes: RouteSpec[] = [];
  private readonly cors?: GatewayCors;
  private readonly integrationTimeout: Duration;
  private readonly preflighted = new Set<apigateway.IResource>();
  private validators?: { body: apigateway.RequestValidator; params: apigateway.RequestValidator };

  constructor(scope: Construct, id: string, props: MicroservicesGatewayProps) {
    super(scope, id);
    const throttle = props.throttle ?? GATEWAY_DEFAULTS.throttle;
    const tiers = props.tiers ?? GATEWAY_DEFAULTS.tiers;
    this.integrationTimeout = props.integrationTimeout ?? Duration.millis(GATEWAY_DEFAULTS.integrationTimeoutMs);
    this.authorizer = props.authorizer;
    this.loadBalancer = props.loadBalancer;
    this.listenerPort = props.listenerPort ?? SERVICES_LISTENER_PORT;
    this.stageName = props.stageName ?? GATEWAY_DEFAULTS.stageName;
    this.cors = props.cors;
    // The rules are the gateway spec's, the same the local gateway checks.
    if (!Token.isUnresolved(this.stageName)) validateStageName(this.stageName);
    validateThrottle('throttle', throttle);
    validateTiers(tiers);
    if (this.cors !== undefined) validateCors({ allowOrigins: this.cors.allowOrigins });
    validateTimeout(this.integrationTimeout);

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH });
    this.api = new apigateway.RestApi(this, 'Resource', {
      restApiName: Names.uniqueResourceName(this, { maxLength: 64 }),
      description: 'Gatehouse: the single entry point to the microservices',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      apiKeySourceType: props.apiKeySource ?? apigateway.ApiKeySourceType.HEADER,
      cloudWatchRole: props.accountLoggingRole ?? true,
      deployOptions: {
        stageName: this.stageName,
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
        tracingEnabled: true,
        metricsEnabled: true,
        // Errors only, and never request or response bodies: they hold tokens and customer data.
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
      },
    });
    this.addPerRouteThrottles();
    this.addGatewayResponses();
    ({ vpcLink: this.vpcLink, securityGroup: this.vpcLinkSecurityGroup } = this.addVpcLink(props.vpcLinkSubnets));

    const plans: Record<string, apigateway.UsagePlan> = {};
    const keys: Record<string, apigateway.IApiKey> = {};
    for (const tier of tiers) {
      const plan = this.api.addUsagePlan(`${tier.name}Plan`, {
        name: `${this.api.restApiName}-${tier.name}`,
        description: `Gatehouse ${tier.name} tier`,
        throttle: { rateLimit: tier.rateLimit, burstLimit: tier.burstLimit },
        ...(tier.quota !== undefined && { quota: { limit: tier.quota.limit, period: apigateway.Period[tier.quota.period] } }),
        apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
      });
      // API Gateway generates the key's value: no secret is written into the template.
      const key = this.api.addApiKey(`${tier.name}Key`, { description: `Gatehouse ${tier.name} tier key` });
      plan.addApiKey(key);
      this.addPerClientRouteThrottles(plan, tier);
      plans[tier.name] = plan;
      keys[tier.name] = key;
    }
    this.usagePlans = plans;
    this.apiKeys = keys;

    if (props.waf !== false) this.webAcl = this.addWebAcl(props.waf ?? {}, tiers);
    if (props.domain !== undefined) {
      this.domainName = this.api.addDomainName('Domain', {
        domainName: props.domain.domainName,
        certificate: props.domain.certificate,
        endpointType: apigateway.EndpointType.REGIONAL,
        securityPolicy: apigateway.SecurityPolicy.TLS_1_2,
        ...(props.domain.basePath !== undefined && { basePath: props.domain.basePath }),
      });
    }

    Validations.of(this.api).acknowledge(
      { id: 'AwsSolutions-COG4', reason: 'Every route uses the Gatehouse JWT Lambda authorizer, which verifies tokens of any OIDC issuer, Cognito included' },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: "API Gateway's account-level logging role; this AWS managed policy is the one AWS documents for it and is scoped to CloudWatch Logs",
      },
    );
    if (props.waf === false) {
      Validations.of(this.api).acknowledge({ id: 'AwsSolutions-APIG3', reason: 'WAF turned off by the waf prop, for a private or cost-bound deployment' });
    }

    for (const [name, target] of Object.entries(props.services ?? {})) this.addService(name, target);
    if (props.routes !== undefined) this.addRoutes(props.routes);
  }

  /** Puts a service behind the gateway under `name`, the name its routes give as `service`. */
  addService(name: string, target: GatewayTarget): void {
    if (this.services.has(name)) throw new Error(`service ${name} is already behind the gateway`);
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(target.serviceName)) {
      throw new Error(
        `service ${name}: serviceName must be 1 to 128 letters, digits, dots, hyphens or underscores (an x-gatehouse-service header value), got ${JSON.stringify(target.serviceName)}`,
      );
    }
    if (target.listenerRule !== undefined) {
      const rule = target.listenerRule.node.defaultChild as elbv2.CfnListenerRule;
      rule.transforms = [{ type: 'url-rewrite', urlRewriteConfig: { rewrites: [stagePrefixRewrite(this.stageName)] } }];
    }
    this.services.set(name, target);
  }

  /** Serves `routes`, and adds them to the authorizer's scope table. */
  addRoutes(routes: readonly RouteSpec[]): void {
    validateRoutes([...this.routes, ...routes]);
    for (const route of routes) {
      if (resourcePathParts(route.path)[0] === this.stageName) {
        throw new Error(
          `routes: ${routeKey(route)} starts with the stage name ${this.stageName}, which the ALB takes off the path (see stagePrefixRewrite); rename the stage or the route`,
        );
      }
      if (!this.services.has(route.service)) {
        throw new Error(
          `routes: ${routeKey(route)} names the service ${route.service}, which is not behind the gateway (known: ${[...this.services.keys()].join(', ') || 'none'}); add it with addService`,
        );
      }
    }
    this.authorizer.addRoutes(routes);
    for (const route of routes) this.renderRoute(route);
    this.routes.push(...routes);
  }

  private renderRoute(route: RouteSpec): void {
    const target = this.services.get(route.service) as GatewayTarget;
    const resource = this.api.root.resourceForPath(route.path);
    if (this.cors !== undefined && !this.preflighted.has(resource)) {
      resource.addCorsPreflight({
        allowOrigins: [...this.cors.allowOrigins],
        // The gateway spec's lists, which the local gateway's preflight answers with too.
        allowHeaders: [...CORS_ALLOW_HEADERS],
        allowMethods: [...CORS_ALLOW_METHODS],
        maxAge: this.cors.maxAge ?? Duration.seconds(DEFAULT_CORS_MAX_AGE_SECONDS),
      });
      this.preflighted.add(resource);
    }
    const parameters = pathParameterNames(route.path);
    const integration = new apigateway.Integration({
      type: apigateway.IntegrationType.HTTP_PROXY,
      integrationHttpMethod: route.method,
      // With a VPC link v2 the host only sets the Host header; the path is the route's, and the port picks the listener.
      uri: `http://${this.loadBalancer.loadBalancerDnsName}:${this.listenerPort}${route.path}`,
      options: {
        timeout: this.integrationTimeout,
        requestParameters: {
          ...Object.fromEntries(parameters.map((name) => [`integration.request.path.${name}`, `method.request.path.${name}`])),
          // Mapped headers replace whatever the client sent under the same names.
          [`integration.request.header.${GATEWAY_HEADERS.requestId}`]: 'context.requestId',
          [`integration.request.header.${GATEWAY_HEADERS.userId}`]: 'context.authorizer.principalId',
          [`integration.request.header.${GATEWAY_HEADERS.userScopes}`]: `context.authorizer.${AUTHORIZER_CONTEXT_KEYS.scopes}`,
          [`integration.request.header.${GATEWAY_HEADERS.service}`]: `'${target.serviceName}'`,
        },
      },
    });
    const validators = this.requestValidators();
    const method = resource.addMethod(route.method, integration, {
      authorizer: this.authorizer.authorizer,
      authorizationType: apigateway.AuthorizationType.CUSTOM,
      apiKeyRequired: true,
      operationName: operationIdOf(route),
      requestParameters: Object.fromEntries(parameters.map((name) => [`method.request.path.${name}`, true])),
      requestValidator: route.requestSchema !== undefined ? validators.body : validators.params,
      ...(route.requestSchema !== undefined && {
        requestModels: {
          'application/json': this.api.addModel(`${operationIdOf(route)}Model`, {
            contentType: 'application/json',
            modelName: operationIdOf(route),
            schema: toApiGatewaySchema(route.requestSchema),
          }),
        },
      }),
    });
    this.connectPrivately(method);
  }

  /**
   * The one place that makes a method's integration private over the VPC link v2. aws-cdk-lib 2.276's
   * Integration knows only v1 links (`apigateway.IVpcLink`, an NLB), so the L1 gets ConnectionType,
   * ConnectionId (the v2 link's id) and IntegrationTarget (the ALB's ARN, as in the put-integration
   * example of AWS's "Set up a private integration"; the CloudFormation reference describes it as the
   * "ALB or NLB listener", so if a deploy refuses the load balancer ARN, a listener's ARN goes here).
   * The deployment's hash includes them, so a change redeploys the stage.
   */
  private connectPrivately(method: apigateway.Method): void {
    const cfn = method.node.defaultChild as apigateway.CfnMethod;
    const integration = { ConnectionType: 'VPC_LINK', ConnectionId: this.vpcLink.vpcLinkId, IntegrationTarget: this.loadBalancer.loadBalancerArn };
    for (const [key, value] of Object.entries(integration)) cfn.addPropertyOverride(`Integration.${key}`, value);
    this.api.latestDeployment?.addToLogicalId({ privateIntegration: integration });
  }

  /** The VPC link v2 in the ALB's VPC, with a security group that reaches the ALB's listener and nothing else. */
  private addVpcLink(subnets: ec2.SubnetSelection | undefined): { vpcLink: apigwv2.VpcLink; securityGroup: ec2.SecurityGroup } {
    const vpc = this.loadBalancer.vpc;
    if (vpc === undefined) throw new Error('loadBalancer must know its VPC (import it with fromLookup or with a vpc): the VPC link goes in its subnets');
    const securityGroup = withoutDefaultEgress(
      new ec2.SecurityGroup(this, 'VpcLinkSecurityGroup', {
        vpc,
        description: 'Gatehouse API VPC link: out to the internal ALB listener only',
        allowAllOutbound: false,
      }),
    );
    // From the link's side, so that with the ALB in another stack both rules live in this one (no cycle).
    securityGroup.connections.allowTo(this.loadBalancer, ec2.Port.tcp(this.listenerPort), 'API Gateway VPC link to the services listener');
    const vpcLink = new apigwv2.VpcLink(this, 'VpcLink', {
      vpc,
      subnets: subnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [securityGroup],
    });
    return { vpcLink, securityGroup };
  }

  private requestValidators(): { body: apigateway.RequestValidator; params: apigateway.RequestValidator } {
    this.validators ??= {
      body: this.api.addRequestValidator('BodyValidator', { validateRequestBody: true, validateRequestParameters: true }),
      params: this.api.addRequestValidator('ParamsValidator', { validateRequestBody: false, validateRequestParameters: true }),
    };
    return this.validators;
  }

  /**
   * Each route's per-client throttle, in this plan's per-method throttle (API Gateway meters it per
   * API key), read when the template is made so that routes added later are in it. The key of the map
   * is `{resource path}/{HTTP method}`, as aws-cdk-lib's ThrottlingPerMethod renders it.
   */
  private addPerClientRouteThrottles(plan: apigateway.UsagePlan, tier: UsagePlanTier): void {
    const cfn = plan.node.defaultChild as apigateway.CfnUsagePlan;
    cfn.addPropertyOverride(
      'ApiStages.0.Throttle',
      Lazy.any({
        produce: () => {
          const entries = this.routes.flatMap((route) => {
            const limit = perClientThrottle(route, tier);
            return limit === undefined ? [] : [[`${route.path}/${route.method}`, { RateLimit: limit.rateLimit, BurstLimit: limit.burstLimit }] as const];
          });
          return entries.length === 0 ? undefined : Object.fromEntries(entries);
        },
      }),
    );
  }

  /** Per-route ceilings (all clients together) go into the stage's method settings, read when the template is made. */
  private addPerRouteThrottles(): void {
    const stage = this.api.deploymentStage.node.defaultChild as apigateway.CfnStage;
    const base = stage.methodSettings;
    stage.methodSettings = Lazy.any({
      produce: () => [
        ...(Array.isArray(base) ? base : []),
        ...this.routes
          .filter((route) => route.ceiling !== undefined)
          .map((route) => ({
            // A method setting's resource path is the route's path with each / escaped as ~1, after a /.
            resourcePath: `/${route.path.replaceAll('/', '~1')}`,
            httpMethod: route.method,
            throttlingRateLimit: route.ceiling?.rateLimit,
            throttlingBurstLimit: route.ceiling?.burstLimit,
            loggingLevel: apigateway.MethodLoggingLevel.ERROR,
            dataTraceEnabled: false,
            metricsEnabled: true,
          })),
      ],
    });
  }

  /** Errors in the services' JSON shape, with the request id, and CORS headers when CORS is on. */
  private addGatewayResponses(): void {
    const origin = corsErrorOrigin(this.cors);
    for (const error of GATEWAY_ERRORS) {
      this.api.addGatewayResponse(error.responseType, {
        type: apigateway.ResponseType.of(error.responseType),
        ...(error.status !== undefined && { statusCode: String(error.status) }),
        templates: {
          'application/json': gatewayErrorTemplate(error),
        },
        responseHeaders: {
          'Content-Type': "'application/json'",
          [GATEWAY_HEADERS.requestId]: 'context.requestId',
          ...(origin !== undefined && { 'Access-Control-Allow-Origin': `'${origin}'` }),
        },
      });
    }
  }

  private addWebAcl(options: GatewayWaf, tiers: readonly UsagePlanTier[]): wafv2.CfnWebACL {
    const limit = options.rateLimitPerFiveMinutes ?? wafRateLimitFor(tiers);
    if (!Token.isUnresolved(limit)) {
      if (!(Number.isInteger(limit) && limit >= 10 && limit <= 2_000_000_000)) {
        throw new Error(`waf.rateLimitPerFiveMinutes must be a whole number from 10 to 2000000000, got ${limit}`);
      }
      const fastest = tiers.reduce((top, tier) => (tier.rateLimit > top.rateLimit ? tier : top));
      if (limit < fastest.rateLimit * WAF_WINDOW_SECONDS) {
        throw new Error(
          `waf.rateLimitPerFiveMinutes ${limit} is below the ${fastest.name} tier's ${fastest.rateLimit} requests per second for five minutes ` +
            `(${fastest.rateLimit * WAF_WINDOW_SECONDS}): WAF would block that tier's clients before their usage plan does`,
        );
      }
    }
    const metric = (name: string) => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
      metricName: `${Names.uniqueId(this).slice(-40)}${name}`,
    });
    const managed = (name: string, priority: number): wafv2.CfnWebACL.RuleProperty => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: { managedRuleGroupStatement: { vendorName: 'AWS', name } },
      visibilityConfig: metric(name),
    });
    const acl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: metric('WebAcl'),
      rules: [
        managed('AWSManagedRulesCommonRuleSet', 0),
        managed('AWSManagedRulesKnownBadInputsRuleSet', 1),
        {
          name: 'RatePerIp',
          priority: 2,
          action: { block: {} },
          statement: { rateBasedStatement: { limit, aggregateKeyType: 'IP' } },
          visibilityConfig: metric('RatePerIp'),
        },
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', { resourceArn: this.api.deploymentStage.stageArn, webAclArn: acl.attrArn });
    return acl;
  }
}

/** One JSON object per request: who, what, how it went; never a token or a body. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  time: '$context.requestTime',
  method: '$context.httpMethod',
  resource: '$context.resourcePath',
  path: '$context.path',
  status: '$context.status',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integration.latency',
  integrationStatus: '$context.integration.status',
  principal: '$context.authorizer.principalId',
  apiKeyId: '$context.identity.apiKeyId',
  authorizerError: '$context.authorizer.error',
  error: '$context.error.message',
  userAgent: '$context.identity.userAgent',
};

function validateTimeout(timeout: Duration): void {
  if (timeout.isUnresolved()) return;
  const ms = timeout.toMilliseconds();
  if (!(Number.isInteger(ms) && ms >= INTEGRATION_TIMEOUT_MS.min && ms <= INTEGRATION_TIMEOUT_MS.max)) {
    throw new Error(`integrationTimeout must be whole milliseconds from 50 ms to 29 seconds, got ${timeout.toHumanString()}`);
  }
}
