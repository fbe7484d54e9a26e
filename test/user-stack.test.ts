/**
 * Gatehouse used the way another team's stack would: its own VPC, its own service, imported from the
 * package's public API and put behind the gateway with addService and addRoutes.
 */
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { GatehouseNetwork, JwtAuthorizer, Microservice, MicroservicesGateway, ServiceRegistry } from '../lib';
import type { RouteSpec } from '../lib';
import { projectApp } from './support/cdk';
import { methodsOf } from './support/templates';

const ROUTES: RouteSpec[] = [
  { method: 'GET', path: '/invoices/{id}', service: 'billing', scopes: ['invoices:read'] },
  {
    method: 'POST',
    path: '/invoices',
    service: 'billing',
    scopes: ['invoices:write'],
    requestSchema: { type: 'object', required: ['amount'], properties: { amount: { type: 'integer', minimum: 1 } } },
  },
];

describe("a team's stack", () => {
  const app = projectApp({ bundle: false });
  const stack = new Stack(app, 'Billing', { env: { account: '123456789012', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'TeamVpc', { maxAzs: 2, natGateways: 1, ipAddresses: ec2.IpAddresses.cidr('10.42.0.0/16') });
  const network = new GatehouseNetwork(stack, 'Network', { vpc });
  const registry = new ServiceRegistry(stack, 'Registry', { vpc, namespaceName: 'billing.internal' });
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
  const billing = new Microservice(stack, 'BillingService', {
    serviceName: 'billing',
    entry: path.join(__dirname, 'fixtures', 'billing', 'server.ts'),
    cluster,
    registry,
    listener: network.listener,
    listenerPriority: 90,
  });
  const authorizer = new JwtAuthorizer(stack, 'Jwt', { issuers: [{ issuer: 'https://login.example.com', audience: 'billing-api' }] });
  const gateway = new MicroservicesGateway(stack, 'Gateway', { authorizer, loadBalancer: network.loadBalancer });
  gateway.addService('billing', billing);
  gateway.addRoutes(ROUTES);
  const template = Template.fromStack(stack);

  it('uses its own VPC, and makes no other', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.42.0.0/16' });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internal',
      Subnets: Match.arrayWith([{ Ref: Match.stringLikeRegexp('^TeamVpcPrivate') }]),
    });
  });

  it("serves its routes through the gateway's VPC link to its service's ALB rule, behind the authorizer", () => {
    const methods = methodsOf(template);
    expect([...methods.keys()].sort()).toEqual(['GET /invoices/{id}', 'POST /invoices']);
    for (const method of methods.values()) {
      expect(method).toMatchObject({ AuthorizationType: 'CUSTOM', ApiKeyRequired: true });
      expect(JSON.stringify((method as { Integration: unknown }).Integration)).toContain(':80/invoices');
      expect(method).toMatchObject({ Integration: { ConnectionType: 'VPC_LINK', IntegrationTarget: { Ref: expect.stringMatching(/^NetworkLoadBalancer/) } } });
      expect(method).toMatchObject({
        Integration: { RequestParameters: expect.objectContaining({ 'integration.request.header.x-gatehouse-service': "'billing'" }) },
      });
    }
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 90,
      Conditions: [{ Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'x-gatehouse-service', Values: ['billing'] } }],
      Transforms: [{ Type: 'url-rewrite', UrlRewriteConfig: { Rewrites: [{ Regex: '^/v1(/.*)$', Replace: '$1' }] } }],
    });
    template.hasResourceProperties('AWS::ServiceDiscovery::Service', { Name: 'billing' });
  });

  it("hands the team's scopes to the authorizer", () => {
    const [fn] = Object.values(
      template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { GATEHOUSE_AUTHORIZER_CONFIG: Match.anyValue() } } } }),
    );
    expect(JSON.parse(fn.Properties.Environment.Variables.GATEHOUSE_AUTHORIZER_CONFIG)).toMatchObject({
      issuers: [{ issuer: 'https://login.example.com', audience: ['billing-api'] }],
      scopeTable: { any: [], byScope: { 'invoices:read': ['GET/invoices/*'], 'invoices:write': ['POST/invoices'] } },
    });
  });

  it('refuses a route of a service it was not given', () => {
    expect(() => gateway.addRoutes([{ method: 'GET', path: '/payments', service: 'payments', scopes: ['payments:read'] }])).toThrow(
      /names the service payments, which is not behind the gateway \(known: billing\)/,
    );
  });
});

describe("a team's service in a stack of its own, behind a gateway in another", () => {
  it('synthesizes both stacks without a cycle: the API stack imports the ALB, and holds the VPC link rules', () => {
    const app = projectApp({ bundle: false });
    const env = { account: '123456789012', region: 'eu-west-1' };
    const services = new Stack(app, 'Services', { env });
    const network = new GatehouseNetwork(services, 'Network');
    const billing = new Microservice(services, 'BillingService', {
      serviceName: 'billing',
      entry: path.join(__dirname, 'fixtures', 'billing', 'server.ts'),
      cluster: new ecs.Cluster(services, 'Cluster', { vpc: network.vpc }),
      registry: new ServiceRegistry(services, 'Registry', { vpc: network.vpc }),
      listener: network.listener,
      listenerPriority: 90,
    });
    const api = new Stack(app, 'Api', { env });
    const authorizer = new JwtAuthorizer(api, 'Jwt', { issuers: [{ issuer: 'https://login.example.com', audience: 'billing-api' }] });
    const gateway = new MicroservicesGateway(api, 'Gateway', { authorizer, loadBalancer: network.loadBalancer });
    gateway.addService('billing', billing);
    gateway.addRoutes(ROUTES);

    // cdk.json makes cross-stack references weak: a stack output read with Fn::GetStackOutput.
    const fromServices = { 'Fn::GetStackOutput': expect.objectContaining({ StackName: 'Services' }) };
    const apiTemplate = Template.fromStack(api);
    const servicesTemplate = Template.fromStack(services);
    expect(api.dependencies.map((stack) => stack.stackName)).toEqual(['Services']);
    expect(services.dependencies).toEqual([]);
    for (const method of methodsOf(apiTemplate).values()) {
      expect(method).toMatchObject({ Integration: { ConnectionType: 'VPC_LINK', IntegrationTarget: fromServices } });
    }
    apiTemplate.resourceCountIs('AWS::ApiGatewayV2::VpcLink', 1);
    apiTemplate.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 80,
      ToPort: 80,
      GroupId: { 'Fn::GetStackOutput': Match.objectLike({ StackName: 'Services' }) },
    });
    apiTemplate.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      FromPort: 80,
      ToPort: 80,
      DestinationSecurityGroupId: { 'Fn::GetStackOutput': Match.objectLike({ StackName: 'Services' }) },
    });
    servicesTemplate.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 90,
      Transforms: [{ Type: 'url-rewrite', UrlRewriteConfig: { Rewrites: [{ Regex: '^/v1(/.*)$', Replace: '$1' }] } }],
    });
  });
});
