/** MicroservicesGateway: the synthesized REST API, route by route, and its usage plans, logs and options. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { JwtAuthorizer } from '../../lib/auth/jwt-authorizer';
import { GATEWAY_ERRORS } from '../../lib/gateway/gateway-errors';
import { MicroservicesGateway, stagePrefixRewrite } from '../../lib/gateway/microservices-gateway';
import { GatehouseNetwork } from '../../lib/network/gatehouse-network';
import type { MicroservicesGatewayProps } from '../../lib/gateway/microservices-gateway';
import { GATEHOUSE_ROUTES } from '../../lib/routes/gatehouse-routes';
import type { RouteSpec } from '../../lib/routes/route-spec';
import { awsSolutionsFindings } from '../support/cdk';
import { methodsOf } from '../support/templates';

const SERVICES = { product: { serviceName: 'product' }, order: { serviceName: 'order' } };
const DEFAULT_TIER = { name: 'basic', rateLimit: 10, burstLimit: 20 };

function build(props: Partial<MicroservicesGatewayProps> = {}, outdir?: string) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, ...(outdir !== undefined && { outdir }) });
  const stack = new Stack(app, 'Stack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const network = new GatehouseNetwork(stack, 'Network');
  const loadBalancer = network.loadBalancer;
  const authorizer = new JwtAuthorizer(stack, 'Jwt', { issuers: [{ issuer: 'https://issuer.example.com', audience: 'api' }] });
  const gateway = new MicroservicesGateway(stack, 'Gateway', { authorizer, loadBalancer, services: SERVICES, routes: GATEHOUSE_ROUTES, ...props });
  return { app, stack, gateway, authorizer, loadBalancer, network };
}

describe('defaults', () => {
  const { stack } = build();
  const template = Template.fromStack(stack);
  const methods = methodsOf(template);

  it('renders exactly the routes of the spec', () => {
    expect([...methods.keys()].sort()).toEqual(GATEHOUSE_ROUTES.map((route) => `${route.method} ${route.path}`).sort());
  });

  it.each(GATEHOUSE_ROUTES.map((route) => [`${route.method} ${route.path}`, route] as const))(
    '%s: authorizer, API key, validator, private integration to the ALB, identity and service headers',
    (key, route) => {
      const method = methods.get(key) as Record<string, unknown> & { RequestModels: Record<string, { Ref: string }> };
      const parameters = [...route.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
      expect(method).toMatchObject({
        AuthorizationType: 'CUSTOM',
        AuthorizerId: { Ref: expect.stringMatching(/^Jwt/) },
        ApiKeyRequired: true,
        RequestValidatorId: { Ref: expect.stringMatching(route.requestSchema ? /^GatewayBodyValidator/ : /^GatewayParamsValidator/) },
        RequestParameters: Object.fromEntries(parameters.map((name) => [`method.request.path.${name}`, true])),
        Integration: {
          Type: 'HTTP_PROXY',
          IntegrationHttpMethod: route.method,
          ConnectionType: 'VPC_LINK',
          // The v2 link's id, and the ALB as the target: the L1 override of connectPrivately.
          ConnectionId: { Ref: expect.stringMatching(/^GatewayVpcLink[0-9A-F]{8}$/) },
          IntegrationTarget: { Ref: expect.stringMatching(/^NetworkLoadBalancer/) },
          TimeoutInMillis: 10000,
          // The route's own path, on the listener's port: the Host header and the path the ALB gets.
          Uri: { 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [expect.stringMatching(/^NetworkLoadBalancer/), 'DNSName'] }, `:80${route.path}`]] },
          RequestParameters: {
            ...Object.fromEntries(parameters.map((name) => [`integration.request.path.${name}`, `method.request.path.${name}`])),
            'integration.request.header.x-request-id': 'context.requestId',
            'integration.request.header.x-user-id': 'context.authorizer.principalId',
            'integration.request.header.x-user-scopes': 'context.authorizer.scopes',
            'integration.request.header.x-gatehouse-service': `'${route.service}'`,
          },
        },
      });
      if (route.requestSchema) {
        expect(method.RequestModels).toEqual({ 'application/json': { Ref: expect.stringMatching(/Model/) } });
        const model = template.findResources('AWS::ApiGateway::Model')[method.RequestModels['application/json'].Ref].Properties;
        expect(model.Schema).toMatchObject({ $schema: 'http://json-schema.org/draft-04/schema#', type: 'object', additionalProperties: false });
        expect(model.Schema.required).toEqual(route.requestSchema.required);
      }
    },
  );

  it('validates bodies and parameters with two validators', () => {
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true, ValidateRequestParameters: true });
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: false, ValidateRequestParameters: true });
  });

  it('links over a VPC link v2 in the private subnets, with a security group that reaches only the ALB listener; no v1 link, no NLB', () => {
    template.resourceCountIs('AWS::ApiGateway::VpcLink', 0);
    template.resourceCountIs('AWS::ApiGatewayV2::VpcLink', 1);
    const link = Object.values(template.findResources('AWS::ApiGatewayV2::VpcLink'))[0].Properties as {
      SubnetIds: { Ref: string }[];
      SecurityGroupIds: { 'Fn::GetAtt': [string, string] }[];
    };
    expect(link.SubnetIds.map((subnet) => subnet.Ref).sort()).toEqual([
      expect.stringMatching(/^NetworkVpcprivateSubnet1Subnet/),
      expect.stringMatching(/^NetworkVpcprivateSubnet2Subnet/),
    ]);
    const [linkGroup] = link.SecurityGroupIds.map((group) => group['Fn::GetAtt'][0]);
    expect(linkGroup).toMatch(/^GatewayVpcLinkSecurityGroup/);
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    template.resourcePropertiesCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', { Type: 'network' }, 0);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Type: 'application', Scheme: 'internal' });
    // Out: the link's group reaches the ALB's group on the listener port, and nothing else.
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('VPC link'),
      SecurityGroupEgress: [{ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic', FromPort: 252, IpProtocol: 'icmp', ToPort: 86 }],
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: { 'Fn::GetAtt': [linkGroup, 'GroupId'] },
      DestinationSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^NetworkLoadBalancerSecurityGroup'), 'GroupId'] },
      FromPort: 80,
      ToPort: 80,
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^NetworkLoadBalancerSecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [linkGroup, 'GroupId'] },
      FromPort: 80,
      ToPort: 80,
    });
  });

  it('is regional, reading API keys from the header', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] }, ApiKeySourceType: 'HEADER' });
  });

  it('has a usage plan and a generated API key per tier, attached to the stage', () => {
    template.resourceCountIs('AWS::ApiGateway::UsagePlan', 2);
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 10, BurstLimit: 20 },
      Quota: { Limit: 10000, Period: 'DAY' },
      ApiStages: [{ ApiId: { Ref: Match.stringLikeRegexp('^Gateway') }, Stage: { Ref: Match.stringLikeRegexp('DeploymentStage') } }],
    });
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', { Throttle: { RateLimit: 100, BurstLimit: 200 }, Quota: { Limit: 1000000, Period: 'MONTH' } });
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 2);
    for (const key of Object.values(template.findResources('AWS::ApiGateway::ApiKey'))) expect(key.Properties).not.toHaveProperty('Value');
    template.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 2);
  });

  it('throttles the stage, and POST /orders for all clients at its ceiling, logs errors without bodies, traces, and logs access as JSON', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: true,
      MethodSettings: [
        {
          ResourcePath: '/*',
          HttpMethod: '*',
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          MetricsEnabled: true,
          ThrottlingRateLimit: 500,
          ThrottlingBurstLimit: 1000,
        },
        {
          ResourcePath: '/~1orders',
          HttpMethod: 'POST',
          ThrottlingRateLimit: 200,
          ThrottlingBurstLimit: 400,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          MetricsEnabled: true,
        },
      ],
      AccessLogSetting: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GatewayAccessLogs'), 'Arn'] },
        Format: Match.stringLikeRegexp('"principal":"\\$context.authorizer.principalId"'),
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('answers its own errors as JSON in the services error shape, with the request id', () => {
    for (const error of GATEWAY_ERRORS) {
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: error.responseType,
        ...(error.status !== undefined && { StatusCode: String(error.status) }),
        ResponseTemplates: { 'application/json': Match.stringLikeRegexp(`"code":"${error.code}".*"requestId":"\\$context.requestId"`) },
        ResponseParameters: Match.objectLike({ 'gatewayresponse.header.x-request-id': 'context.requestId' }),
      });
    }
  });

  it("throttles POST /orders per client in every usage plan, never above the plan itself: one client cannot use up the others' checkouts", () => {
    const plans = Object.values(template.findResources('AWS::ApiGateway::UsagePlan')).map(
      (plan) => plan.Properties as { Throttle: { RateLimit: number }; ApiStages: { Throttle?: unknown }[] },
    );
    const byRate = new Map(plans.map((plan) => [plan.Throttle.RateLimit, plan.ApiStages[0].Throttle]));
    // basic (10/s, burst 20) is below the route's 50/100; pro (100/s, burst 200) is above it.
    expect(byRate.get(10)).toEqual({ '/orders/POST': { RateLimit: 10, BurstLimit: 20 } });
    expect(byRate.get(100)).toEqual({ '/orders/POST': { RateLimit: 50, BurstLimit: 100 } });
  });

  it("puts a WAF web ACL with managed rules and a per-IP rate rule in front of the stage, at the fastest tier's five minutes", () => {
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: [
        Match.objectLike({ Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesCommonRuleSet' } } }),
        Match.objectLike({ Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesKnownBadInputsRuleSet' } } }),
        // pro: 100 requests per second for 300 seconds.
        Match.objectLike({ Action: { Block: {} }, Statement: { RateBasedStatement: { Limit: 30000, AggregateKeyType: 'IP' } } }),
      ],
    });
    template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
  });

  it('has no CORS preflight methods and no custom domain unless asked', () => {
    expect([...methods.keys()].filter((key) => key.startsWith('OPTIONS'))).toEqual([]);
    template.resourceCountIs('AWS::ApiGateway::DomainName', 0);
  });

  it('hands every route to the authorizer', () => {
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function')) as { Properties: { Environment: { Variables: Record<string, string> } } }[];
    const config = JSON.parse(fn.Properties.Environment.Variables.GATEHOUSE_AUTHORIZER_CONFIG) as { scopeTable: { byScope: Record<string, string[]> } };
    expect(Object.values(config.scopeTable.byScope).flat().sort()).toEqual([
      'GET/orders',
      'GET/orders/*',
      'GET/products',
      'GET/products/*',
      'PATCH/products/*',
      'POST/orders',
      'POST/products',
    ]);
  });
});

describe('options', () => {
  it('CORS: an unauthenticated preflight per resource, and CORS headers on gateway errors', () => {
    const template = Template.fromStack(build({ cors: { allowOrigins: ['https://app.example.com'] } }).stack);
    const methods = methodsOf(template);
    expect([...methods.keys()].filter((key) => key.startsWith('OPTIONS')).sort()).toEqual([
      'OPTIONS /orders',
      'OPTIONS /orders/{id}',
      'OPTIONS /products',
      'OPTIONS /products/{id}',
    ]);
    expect(methods.get('OPTIONS /orders')).toMatchObject({ AuthorizationType: 'NONE' });
    expect(methods.get('OPTIONS /orders')).not.toHaveProperty('ApiKeyRequired', true);
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'UNAUTHORIZED',
      ResponseParameters: Match.objectLike({ 'gatewayresponse.header.Access-Control-Allow-Origin': "'https://app.example.com'" }),
    });
  });

  it('a custom domain with TLS 1.2, tiers of its own, keys from the authorizer, no WAF, another stage and timeout', () => {
    const { stack } = build({
      domain: {
        domainName: 'api.example.com',
        certificate: acm.Certificate.fromCertificateArn(new Stack(), 'Cert', 'arn:aws:acm:eu-west-1:123456789012:certificate/abc'),
      },
      tiers: [{ name: 'partner', rateLimit: 5, burstLimit: 5 }],
      apiKeySource: apigateway.ApiKeySourceType.AUTHORIZER,
      waf: false,
      stageName: 'prod',
      integrationTimeout: Duration.seconds(3),
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGateway::DomainName', {
      DomainName: 'api.example.com',
      SecurityPolicy: 'TLS_1_2',
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
    template.resourceCountIs('AWS::ApiGateway::UsagePlan', 1);
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', { Throttle: { RateLimit: 5, BurstLimit: 5 }, Quota: Match.absent() });
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { ApiKeySourceType: 'AUTHORIZER' });
    template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'prod' });
    template.hasResourceProperties('AWS::ApiGateway::Method', { Integration: Match.objectLike({ TimeoutInMillis: 3000 }) });
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
    // The one tier (5/s) is below the route's 50/s: the per-client throttle is the tier's own.
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      ApiStages: [Match.objectLike({ Throttle: { '/orders/POST': { RateLimit: 5, BurstLimit: 5 } } })],
    });
  });

  it('derives the WAF limit from tiers of its own, and takes one that is not below the fastest', () => {
    const slow = Template.fromStack(build({ tiers: [{ name: 'partner', rateLimit: 2, burstLimit: 5 }] }).stack);
    slow.hasResourceProperties('AWS::WAFv2::WebACL', {
      Rules: Match.arrayWith([Match.objectLike({ Statement: { RateBasedStatement: { Limit: 2000, AggregateKeyType: 'IP' } } })]),
    });
    const set = Template.fromStack(build({ waf: { rateLimitPerFiveMinutes: 45000 } }).stack);
    set.hasResourceProperties('AWS::WAFv2::WebACL', {
      Rules: Match.arrayWith([Match.objectLike({ Statement: { RateBasedStatement: { Limit: 45000, AggregateKeyType: 'IP' } } })]),
    });
  });

  it("leaves API Gateway's account-wide logging role to someone else when asked", () => {
    const defaults = Template.fromStack(build().stack);
    defaults.resourceCountIs('AWS::ApiGateway::Account', 1);
    const without = Template.fromStack(build({ accountLoggingRole: false }).stack);
    without.resourceCountIs('AWS::ApiGateway::Account', 0);
    without.hasResourceProperties('AWS::ApiGateway::Stage', { MethodSettings: Match.arrayWith([Match.objectLike({ LoggingLevel: 'ERROR' })]) });
  });

  it("addService and addRoutes put another team's service behind the same gateway and authorizer", () => {
    const { stack, gateway } = build();
    gateway.addService('billing', { serviceName: 'billing-v2' });
    gateway.addRoutes([{ method: 'GET', path: '/invoices/{invoiceId}', service: 'billing', scopes: ['invoices:read'] }]);
    const template = Template.fromStack(stack);
    expect(methodsOf(template).get('GET /invoices/{invoiceId}')).toMatchObject({
      AuthorizationType: 'CUSTOM',
      Integration: {
        Uri: { 'Fn::Join': ['', ['http://', expect.anything(), ':80/invoices/{invoiceId}']] },
        RequestParameters: expect.objectContaining({ 'integration.request.header.x-gatehouse-service': "'billing-v2'" }),
      },
    });
  });

  it("takes the stage off the path on each service's ALB rule, so the service sees exactly the route's path", () => {
    const { stack, network } = build({ services: {}, routes: undefined, stageName: 'prod' });
    const group = new elbv2.ApplicationTargetGroup(stack, 'Targets', {
      vpc: network.vpc,
      port: 8080,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
    });
    const rule = new elbv2.ApplicationListenerRule(stack, 'Rule', {
      listener: network.listener,
      priority: 5,
      conditions: [elbv2.ListenerCondition.httpHeader('x-gatehouse-service', ['billing'])],
      targetGroups: [group],
    });
    const gateway = stack.node.findChild('Gateway') as MicroservicesGateway;
    gateway.addService('billing', { serviceName: 'billing', listenerRule: rule });
    gateway.addRoutes([{ method: 'GET', path: '/invoices/{invoiceId}', service: 'billing', scopes: [] }]);
    Template.fromStack(stack).hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 5,
      Transforms: [{ Type: 'url-rewrite', UrlRewriteConfig: { Rewrites: [{ Regex: '^/prod(/.*)$', Replace: '$1' }] } }],
    });
  });

  it.each([
    ['/v1/products/abc', '/products/abc'],
    ['/v1/orders?limit=5', '/orders?limit=5'],
    ['/products/abc', '/products/abc'],
    ['/v1products', '/v1products'],
  ])('the stage rewrite, applied as the ALB applies it (unmatched: unchanged), turns %s into %s', (sent, seen) => {
    const { regex, replace } = stagePrefixRewrite('v1');
    expect(sent.replace(new RegExp(regex), replace)).toBe(seen);
  });
});

describe('validation at synth', () => {
  const route: RouteSpec = { method: 'GET', path: '/things', service: 'product', scopes: ['things:read'] };
  it.each<[string, Partial<MicroservicesGatewayProps>, RegExp]>([
    [
      'a route of an unknown service',
      { routes: [{ ...route, service: 'ghost' }] },
      /routes: GET \/things names the service ghost, which is not behind the gateway \(known: product, order\)/,
    ],
    ['a duplicate route', { routes: [...GATEHOUSE_ROUTES, GATEHOUSE_ROUTES[1]] }, /routes: GET \/products\/\{id\} duplicates GET \/products\/\{id\}/],
    [
      'a tier rate without a burst',
      { tiers: [{ name: 'basic', rateLimit: 10 } as never] },
      /tiers.basic.burstLimit must be a whole number of requests >= 0, got undefined/,
    ],
    ['no tiers', { tiers: [] }, /tiers must list at least one usage plan tier/],
    ['a tier twice', { tiers: [DEFAULT_TIER, DEFAULT_TIER] }, /tiers: basic is listed twice/],
    ['a tier named with a space', { tiers: [{ ...DEFAULT_TIER, name: 'gold tier' }] }, /tiers\[0\].name must be 1 to 32 letters and digits/],
    [
      'a zero quota',
      { tiers: [{ ...DEFAULT_TIER, quota: { limit: 0, period: 'DAY' } }] },
      /tiers.basic.quota.limit must be a whole number of requests > 0, got 0/,
    ],
    ['a stage name with a dot', { stageName: 'v1.beta' }, /stageName must be 1 to 128 letters, digits, hyphens or underscores, got "v1.beta"/],
    ['a stage throttle without a burst', { throttle: { rateLimit: 10 } as never }, /throttle.burstLimit must be a whole number/],
    [
      'an integration timeout over 29 s',
      { integrationTimeout: Duration.seconds(30) },
      /integrationTimeout must be whole milliseconds from 50 ms to 29 seconds, got 30 seconds/,
    ],
    ['a WAF rate limit under AWS minimum', { waf: { rateLimitPerFiveMinutes: 5 } }, /waf.rateLimitPerFiveMinutes must be a whole number from 10/],
    [
      'a WAF rate limit under the fastest tier',
      { waf: { rateLimitPerFiveMinutes: 2000 } },
      /waf.rateLimitPerFiveMinutes 2000 is below the pro tier's 100 requests per second for five minutes \(30000\): WAF would block/,
    ],
    [
      'a route ceiling below its per-client throttle',
      { routes: [{ ...route, throttle: { rateLimit: 10, burstLimit: 10 }, ceiling: { rateLimit: 5, burstLimit: 10 } }] },
      /GET \/things: ceiling \(all clients, 5\/s burst 10\) must be at least throttle \(one client, 10\/s burst 10\)/,
    ],
    [
      'a service name that is no header value',
      { services: { ...SERVICES, product: { serviceName: 'prod uct' } } },
      /service product: serviceName must be 1 to 128 letters.*got "prod uct"/,
    ],
    [
      'a route that starts with the stage name',
      { routes: [{ ...route, path: '/v1/things' }] },
      /routes: GET \/v1\/things starts with the stage name v1, which the ALB takes off the path/,
    ],
  ])('%s', (_name, props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});
describe('cdk-nag AwsSolutions', () => {
  it('finds nothing in the gateway or the authorizer that is not fixed or acknowledged with a reason', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-gateway-nag-'));
    try {
      // Only the gateway's and the authorizer's findings are this test's (the network has its own test).
      const findings = awsSolutionsFindings(build({}, outdir).app, outdir);
      expect(findings.filter((finding) => / Stack\/(Gateway|Jwt|Network)\//.test(finding))).toEqual([]);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});
