/** MicroservicesGateway: the synthesized REST API, route by route, and its usage plans, logs and options. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { JwtAuthorizer } from '../../lib/auth/jwt-authorizer';
import { GATEWAY_ERRORS } from '../../lib/gateway/gateway-errors';
import { MicroservicesGateway } from '../../lib/gateway/microservices-gateway';
import type { MicroservicesGatewayProps } from '../../lib/gateway/microservices-gateway';
import { GATEHOUSE_ROUTES } from '../../lib/routes/gatehouse-routes';
import type { RouteSpec } from '../../lib/routes/route-spec';
import { awsSolutionsFindings } from '../support/cdk';
import { methodsOf } from '../support/templates';

const SERVICES = { product: { listenerPort: 8081 }, order: { listenerPort: 8082 } };
const DEFAULT_TIER = { name: 'basic', rateLimit: 10, burstLimit: 20 };

function build(props: Partial<MicroservicesGatewayProps> = {}, outdir?: string) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, ...(outdir !== undefined && { outdir }) });
  const stack = new Stack(app, 'Stack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
  const loadBalancer = new elbv2.NetworkLoadBalancer(stack, 'Nlb', { vpc, internetFacing: false });
  const authorizer = new JwtAuthorizer(stack, 'Jwt', { issuers: [{ issuer: 'https://issuer.example.com', audience: 'api' }] });
  const gateway = new MicroservicesGateway(stack, 'Gateway', { authorizer, loadBalancer, services: SERVICES, routes: GATEHOUSE_ROUTES, ...props });
  return { app, stack, gateway, authorizer, loadBalancer };
}

describe('defaults', () => {
  const { stack } = build();
  const template = Template.fromStack(stack);
  const methods = methodsOf(template);

  it('renders exactly the routes of the spec', () => {
    expect([...methods.keys()].sort()).toEqual(GATEHOUSE_ROUTES.map((route) => `${route.method} ${route.path}`).sort());
  });

  it.each(GATEHOUSE_ROUTES.map((route) => [`${route.method} ${route.path}`, route] as const))('%s: authorizer, API key, validator, proxy to its listener, identity headers', (key, route) => {
    const method = methods.get(key) as Record<string, unknown> & { RequestModels: Record<string, { Ref: string }> };
    const port = SERVICES[route.service as keyof typeof SERVICES].listenerPort;
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
        ConnectionId: { Ref: expect.stringMatching(/^GatewayVpcLink/) },
        TimeoutInMillis: 10000,
        Uri: { 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [expect.stringMatching(/^Nlb/), 'DNSName'] }, `:${port}${route.path}`]] },
        RequestParameters: {
          ...Object.fromEntries(parameters.map((name) => [`integration.request.path.${name}`, `method.request.path.${name}`])),
          'integration.request.header.x-request-id': 'context.requestId',
          'integration.request.header.x-user-id': 'context.authorizer.principalId',
          'integration.request.header.x-user-scopes': 'context.authorizer.scopes',
        },
      },
    });
    if (route.requestSchema) {
      expect(method.RequestModels).toEqual({ 'application/json': { Ref: expect.stringMatching(/Model/) } });
      const model = template.findResources('AWS::ApiGateway::Model')[method.RequestModels['application/json'].Ref].Properties;
      expect(model.Schema).toMatchObject({ $schema: 'http://json-schema.org/draft-04/schema#', type: 'object', additionalProperties: false });
      expect(model.Schema.required).toEqual(route.requestSchema.required);
    }
  });

  it('validates bodies and parameters with two validators', () => {
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true, ValidateRequestParameters: true });
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: false, ValidateRequestParameters: true });
  });

  it('links to the NLB and is regional, reading API keys from the header', () => {
    template.hasResourceProperties('AWS::ApiGateway::VpcLink', { TargetArns: [{ Ref: Match.stringLikeRegexp('^Nlb') }] });
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

  it('throttles the stage, and POST /orders on its own, logs errors without bodies, traces, and logs access as JSON', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: true,
      MethodSettings: [
        { ResourcePath: '/*', HttpMethod: '*', LoggingLevel: 'ERROR', DataTraceEnabled: false, MetricsEnabled: true, ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
        { ResourcePath: '/~1orders', HttpMethod: 'POST', ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100, LoggingLevel: 'ERROR', DataTraceEnabled: false, MetricsEnabled: true },
      ],
      AccessLogSetting: { DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GatewayAccessLogs'), 'Arn'] }, Format: Match.stringLikeRegexp('"principal":"\\$context.authorizer.principalId"') },
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

  it('puts a WAF web ACL with managed rules and a per-IP rate rule in front of the stage', () => {
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: [
        Match.objectLike({ Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesCommonRuleSet' } } }),
        Match.objectLike({ Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesKnownBadInputsRuleSet' } } }),
        Match.objectLike({ Action: { Block: {} }, Statement: { RateBasedStatement: { Limit: 2000, AggregateKeyType: 'IP' } } }),
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
    expect(Object.values(config.scopeTable.byScope).flat().sort()).toEqual(['GET/orders', 'GET/orders/*', 'GET/products', 'GET/products/*', 'PATCH/products/*', 'POST/orders', 'POST/products']);
  });
});

describe('options', () => {
  it('CORS: an unauthenticated preflight per resource, and CORS headers on gateway errors', () => {
    const template = Template.fromStack(build({ cors: { allowOrigins: ['https://app.example.com'] } }).stack);
    const methods = methodsOf(template);
    expect([...methods.keys()].filter((key) => key.startsWith('OPTIONS')).sort()).toEqual(['OPTIONS /orders', 'OPTIONS /orders/{id}', 'OPTIONS /products', 'OPTIONS /products/{id}']);
    expect(methods.get('OPTIONS /orders')).toMatchObject({ AuthorizationType: 'NONE' });
    expect(methods.get('OPTIONS /orders')).not.toHaveProperty('ApiKeyRequired', true);
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'UNAUTHORIZED',
      ResponseParameters: Match.objectLike({ 'gatewayresponse.header.Access-Control-Allow-Origin': "'https://app.example.com'" }),
    });
  });

  it('a custom domain with TLS 1.2, tiers of its own, keys from the authorizer, no WAF, another stage and timeout', () => {
    const { stack } = build({
      domain: { domainName: 'api.example.com', certificate: acm.Certificate.fromCertificateArn(new Stack(), 'Cert', 'arn:aws:acm:eu-west-1:123456789012:certificate/abc') },
      tiers: [{ name: 'partner', rateLimit: 5, burstLimit: 5 }],
      apiKeySource: apigateway.ApiKeySourceType.AUTHORIZER,
      waf: false,
      stageName: 'prod',
      integrationTimeout: Duration.seconds(3),
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGateway::DomainName', { DomainName: 'api.example.com', SecurityPolicy: 'TLS_1_2', EndpointConfiguration: { Types: ['REGIONAL'] } });
    template.resourceCountIs('AWS::ApiGateway::UsagePlan', 1);
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', { Throttle: { RateLimit: 5, BurstLimit: 5 }, Quota: Match.absent() });
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { ApiKeySourceType: 'AUTHORIZER' });
    template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'prod' });
    template.hasResourceProperties('AWS::ApiGateway::Method', { Integration: Match.objectLike({ TimeoutInMillis: 3000 }) });
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
  });

  it("addService and addRoutes put another team's service behind the same gateway and authorizer", () => {
    const { stack, gateway } = build();
    gateway.addService('billing', { listenerPort: 8090 });
    gateway.addRoutes([{ method: 'GET', path: '/invoices/{invoiceId}', service: 'billing', scopes: ['invoices:read'] }]);
    const template = Template.fromStack(stack);
    expect(methodsOf(template).get('GET /invoices/{invoiceId}')).toMatchObject({
      AuthorizationType: 'CUSTOM',
      Integration: { Uri: { 'Fn::Join': ['', ['http://', expect.anything(), ':8090/invoices/{invoiceId}']] } },
    });
  });
});

describe('validation at synth', () => {
  const route: RouteSpec = { method: 'GET', path: '/things', service: 'product', scopes: ['things:read'] };
  it.each<[string, Partial<MicroservicesGatewayProps>, RegExp]>([
    ['a route of an unknown service', { routes: [{ ...route, service: 'ghost' }] }, /routes: GET \/things names the service ghost, which is not behind the gateway \(known: product, order\)/],
    ['a duplicate route', { routes: [...GATEHOUSE_ROUTES, GATEHOUSE_ROUTES[1]] }, /routes: GET \/products\/\{id\} duplicates GET \/products\/\{id\}/],
    ['a tier rate without a burst', { tiers: [{ name: 'basic', rateLimit: 10 } as never] }, /tiers.basic.burstLimit must be a whole number of requests >= 0, got undefined/],
    ['no tiers', { tiers: [] }, /tiers must list at least one usage plan tier/],
    ['a tier twice', { tiers: [DEFAULT_TIER, DEFAULT_TIER] }, /tiers: basic is listed twice/],
    ['a tier named with a space', { tiers: [{ ...DEFAULT_TIER, name: 'gold tier' }] }, /tiers: name must be 1 to 32 letters and digits/],
    ['a zero quota', { tiers: [{ ...DEFAULT_TIER, quota: { limit: 0, period: apigateway.Period.DAY } }] }, /tiers.basic.quota.limit must be a whole number of requests > 0, got 0/],
    ['a stage throttle without a burst', { throttle: { rateLimit: 10 } as never }, /throttle.burstLimit must be a whole number/],
    ['an integration timeout over 29 s', { integrationTimeout: Duration.seconds(30) }, /integrationTimeout must be from 50 ms to 29 seconds, got 30 seconds/],
    ['a WAF rate limit under AWS minimum', { waf: { rateLimitPerFiveMinutes: 5 } }, /waf.rateLimitPerFiveMinutes must be a whole number from 10/],
    ['a listener port out of range', { services: { ...SERVICES, product: { listenerPort: 70000 } } }, /service product: listenerPort must be a port from 1 to 65535, got 70000/],
  ])('%s', (_name, props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});
describe('cdk-nag AwsSolutions', () => {
  it('finds nothing in the gateway or the authorizer that is not fixed or acknowledged with a reason', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-gateway-nag-'));
    try {
      // The bare VPC and NLB of this test have findings of their own; only ours matter here.
      const findings = awsSolutionsFindings(build({}, outdir).app, outdir);
      expect(findings.length).toBeGreaterThan(0);
      expect(findings.filter((finding) => / Stack\/(Gateway|Jwt)\//.test(finding))).toEqual([]);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});
