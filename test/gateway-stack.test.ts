/**
 * GatewayStack, the app that `cdk deploy` provisions: everything wired, every promise of the design
 * checked in the template, the routes consistent with the authorizer, and cdk-nag clean.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import type { CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { readAuthorizerConfig } from '../lambda/authorizer/config';
import { AUTHORIZER_CONFIG_ENV } from '../lib/auth/authorizer-contract';
import { PolicyBuilder } from '../lambda/authorizer/policy';
import { readGatehouseConfig } from '../lib/config';
import { LISTENER_PRIORITIES } from '../lib/gatehouse-services';
import { GatewayStack } from '../lib/gateway-stack';
import { GATEHOUSE_ROUTES, SCOPES } from '../lib/routes/gatehouse-routes';
import { isRoutePermitted, routeKey } from '../lib/routes/route-spec';
import { policyAllows } from './support/authorizer';
import { acknowledgements, awsSolutionsFindings, projectApp, projectContext } from './support/cdk';
import { methodsOf } from './support/templates';

const CONFIG = { issuers: [{ issuer: 'https://issuer.example.com', audience: 'api' }], authorizer: { resultsCacheTtlSeconds: 60 } };

function defined<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('expected a value');
  return value;
}

function synth(config: unknown = CONFIG, outdir?: string) {
  const app = projectApp({ bundle: false, ...(outdir !== undefined && { outdir }) });
  const stack = new GatewayStack(app, 'Gatehouse', { config: readGatehouseConfig(config), env: { account: '123456789012', region: 'eu-west-1' } });
  return { app, stack };
}

describe('GatewayStack', () => {
  const { stack } = synth();
  const template = Template.fromStack(stack);

  it('makes a VPC in two AZs with flow logs, one NAT gateway, and gateway endpoints for DynamoDB and S3', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.resourceCountIs('AWS::EC2::Subnet', 4);
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs' });
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 2);
  });

  it('keeps the tables on deletion, on demand, with point-in-time recovery, encryption and deletion protection', () => {
    const tables = template.findResources('AWS::DynamoDB::GlobalTable');
    expect(Object.keys(tables)).toEqual([expect.stringMatching(/^Tablesproducts/), expect.stringMatching(/^Tablesorders/)]);
    for (const table of Object.values(tables)) {
      expect(table).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
        Replicas: [expect.objectContaining({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, DeletionProtectionEnabled: true })],
      });
      // Orders are kept: nothing in either table expires (an order's item is also its idempotency record).
      expect(table.Properties).not.toHaveProperty('TimeToLiveSpecification');
    }
  });

  it('registers both services in Cloud Map, behind their own rules on the internal ALB, health-checked on /health', () => {
    template.hasResourceProperties('AWS::ServiceDiscovery::PrivateDnsNamespace', { Name: 'gatehouse.local' });
    for (const name of ['product', 'order']) template.hasResourceProperties('AWS::ServiceDiscovery::Service', { Name: name });
    const services = Object.values(template.findResources('AWS::ECS::Service'));
    expect(services).toHaveLength(2);
    for (const service of services) expect(service.Properties.ServiceRegistries).toEqual([expect.objectContaining({ RegistryArn: expect.anything() })]);
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [Match.objectLike({ Type: 'fixed-response' })],
    });
    for (const [service, priority] of Object.entries(LISTENER_PRIORITIES)) {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
        Priority: priority,
        Conditions: [{ Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'x-gatehouse-service', Values: [service] } }],
        Transforms: [{ Type: 'url-rewrite', UrlRewriteConfig: { Rewrites: [{ Regex: '^/v1(/.*)$', Replace: '$1' }] } }],
      });
    }
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::TargetGroup', 2);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetType: 'ip',
      Protocol: 'HTTP',
      HealthCheckPath: '/health',
      HealthCheckProtocol: 'HTTP',
    });
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal', Type: 'application' });
    template.resourceCountIs('AWS::ApiGateway::VpcLink', 0);
    template.resourceCountIs('AWS::ApiGatewayV2::VpcLink', 1);
    template.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
  });

  it("lets the ALB's security group out to the tasks' container port only, and in from the VPC link only", () => {
    const albGroup = Object.entries(template.findResources('AWS::EC2::SecurityGroup')).find(([id]) => /^NetworkLoadBalancerSecurityGroup/.test(id));
    if (albGroup === undefined) throw new Error('no ALB security group');
    const [albGroupId, albGroupResource] = albGroup;
    // Inline: only CDK's placeholder rule that matches no traffic, standing for "no egress".
    expect(albGroupResource.Properties.SecurityGroupEgress).toEqual([
      { CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic', FromPort: 252, IpProtocol: 'icmp', ToPort: 86 },
    ]);
    expect(albGroupResource.Properties.SecurityGroupIngress).toBeUndefined();
    const ref = { 'Fn::GetAtt': [albGroupId, 'GroupId'] };
    const egress = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress'))
      .map((rule) => rule.Properties)
      .filter((rule) => JSON.stringify(rule.GroupId) === JSON.stringify(ref));
    expect(
      egress
        .map((rule) => ({ to: rule.DestinationSecurityGroupId['Fn::GetAtt'][0], port: [rule.FromPort, rule.ToPort] }))
        .sort((a, b) => a.to.localeCompare(b.to)),
    ).toEqual([
      { to: expect.stringMatching(/^OrderServiceSecurityGroup/), port: [8080, 8080] },
      { to: expect.stringMatching(/^ProductServiceSecurityGroup/), port: [8080, 8080] },
    ]);
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'))
      .map((rule) => rule.Properties)
      .filter((rule) => JSON.stringify(rule.GroupId) === JSON.stringify(ref));
    expect(ingress.map((rule) => ({ from: rule.SourceSecurityGroupId['Fn::GetAtt'][0], port: [rule.FromPort, rule.ToPort] }))).toEqual([
      { from: expect.stringMatching(/^GatewayVpcLinkSecurityGroup/), port: [80, 80] },
    ]);
  });

  it('grants each task role its own tables only, and the order service DiscoverInstances', () => {
    const policies = Object.entries(template.findResources('AWS::IAM::Policy'));
    const statementsOf = (pattern: RegExp) =>
      policies
        .filter(([id]) => pattern.test(id))
        .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const resourcesText = (statements: { Resource: unknown }[]) => JSON.stringify(statements.map((statement) => statement.Resource));
    const product = statementsOf(/^ProductServiceTaskRole/);
    const order = statementsOf(/^OrderServiceTaskRole/);
    expect(resourcesText(product)).toMatch(/TablesproductsGlobal|Tablesproducts/);
    expect(resourcesText(product)).not.toMatch(/orders|idempotency/);
    expect(resourcesText(order)).toMatch(/Tablesorders/);
    // The orders table holds each order's idempotency record: there is no third table to grant.
    expect(resourcesText(order)).not.toMatch(/idempotency/);
    expect(resourcesText(order)).not.toMatch(/Tablesproducts/);
    expect(order.some((statement) => [statement.Action].flat().includes('servicediscovery:DiscoverInstances'))).toBe(true);
    expect(product.some((statement) => [statement.Action].flat().includes('servicediscovery:DiscoverInstances'))).toBe(false);
  });

  it('has no IAM statement on * but the ones whose actions have no resource-level permissions', () => {
    const allowedOnStar = new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'ecr:GetAuthorizationToken', 'servicediscovery:DiscoverInstances']);
    for (const [id, policy] of Object.entries(template.findResources('AWS::IAM::Policy'))) {
      for (const statement of policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]) {
        if ([statement.Resource].flat().includes('*'))
          expect({ id, actions: [statement.Action].flat().filter((action) => !allowedOnStar.has(action)) }).toEqual({ id, actions: [] });
      }
    }
  });

  it('puts every route behind the gateway over the VPC link v2 to the ALB, marked for its service, with the route path as the path', () => {
    const methods = methodsOf(template);
    const link = Object.keys(template.findResources('AWS::ApiGatewayV2::VpcLink'))[0];
    const alb = Object.keys(template.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer'))[0];
    expect([...methods.keys()].sort()).toEqual(GATEHOUSE_ROUTES.map(routeKey).sort());
    for (const route of GATEHOUSE_ROUTES) {
      const { Integration } = methods.get(routeKey(route)) as { Integration: Record<string, unknown> };
      expect(Integration).toMatchObject({
        Type: 'HTTP_PROXY',
        ConnectionType: 'VPC_LINK',
        ConnectionId: { Ref: link },
        IntegrationTarget: { Ref: alb },
        Uri: { 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [alb, 'DNSName'] }, `:80${route.path}`]] },
        RequestParameters: expect.objectContaining({ 'integration.request.header.x-gatehouse-service': `'${route.service}'` }),
      });
    }
  });

  it('outputs the API URL, the API key and usage plan ids of each tier, and the namespace', () => {
    for (const output of ['ApiUrl', 'ApiKeyIdbasic', 'ApiKeyIdpro', 'UsagePlanIdbasic', 'UsagePlanIdpro', 'Namespace'])
      template.hasOutput(output, Match.anyValue());
  });

  it('the authorizer it deploys allows, for every scope set, exactly the methods of the template that the spec permits', () => {
    const [fn] = Object.values(
      template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { [AUTHORIZER_CONFIG_ENV]: Match.anyValue() } } } }),
    );
    const config = readAuthorizerConfig(fn.Properties.Environment.Variables);
    const policies = new PolicyBuilder(config.scopeTable);
    const stageArn = 'arn:aws:execute-api:eu-west-1:123456789012:api1234567/v1';
    const methods = [...methodsOf(template).keys()].map((key) => {
      const [method, resourcePath] = key.split(' ');
      const route = GATEHOUSE_ROUTES.find((candidate) => routeKey(candidate) === key);
      if (route === undefined) throw new Error(`${key} is in the template but not in the spec`);
      return { route, arn: `${stageArn}/${method}${resourcePath.replace(/\{[^}]+\}/g, 'some-id')}` };
    });
    const scopes = Object.values(SCOPES);
    for (let mask = 0; mask < 2 ** scopes.length; mask += 1) {
      const held = scopes.filter((_scope, bit) => mask & (1 << bit));
      const policy = policies.build(methods[0].arn, held);
      for (const { route, arn } of methods) {
        expect({ held, route: routeKey(route), allowed: policyAllows(policy, arn) }).toEqual({
          held,
          route: routeKey(route),
          allowed: isRoutePermitted(route, new Set(held)),
        });
      }
    }
  });
});

describe('configuration', () => {
  it("gives the order service a request budget that ends before the gateway's integration timeout: 8 s of the default 10 s, and following a configured one", () => {
    const orderEnvironment = (config: unknown) => {
      const template = Template.fromStack(synth(config).stack);
      const orderTask = Object.entries(template.findResources('AWS::ECS::TaskDefinition')).find(([logicalId]) => logicalId.startsWith('OrderService'));
      return (orderTask?.[1].Properties.ContainerDefinitions[0].Environment ?? []) as { Name: string; Value: unknown }[];
    };
    expect(orderEnvironment(CONFIG)).toContainEqual({ Name: 'REQUEST_DEADLINE_MS', Value: '8000' });
    expect(orderEnvironment({ ...CONFIG, gateway: { integrationTimeoutMs: 20_000 } })).toContainEqual({ Name: 'REQUEST_DEADLINE_MS', Value: '16000' });
  });

  it('gives each copy of the stack its own namespace, and the order service looks up and may discover in exactly that one', () => {
    const app = projectApp({ bundle: false });
    // Both copies in one app (one account and region), built before either is synthesized.
    const stacks = ['Gatehouse', 'GatehouseStaging'].map(
      (id) => new GatewayStack(app, id, { config: readGatehouseConfig(CONFIG), env: { account: '123456789012', region: 'eu-west-1' } }),
    );
    const names = stacks.map((stack) => {
      const template = Template.fromStack(stack);
      const [namespace] = Object.values(template.findResources('AWS::ServiceDiscovery::PrivateDnsNamespace'));
      const name = namespace.Properties.Name as string;
      const orderTask = Object.entries(template.findResources('AWS::ECS::TaskDefinition')).find(([logicalId]) => logicalId.startsWith('OrderService'));
      const environment = (orderTask?.[1].Properties.ContainerDefinitions[0].Environment ?? []) as { Name: string; Value: unknown }[];
      expect(environment).toContainEqual({ Name: 'DISCOVERY_NAMESPACE', Value: name });
      const statements = Object.entries(template.findResources('AWS::IAM::Policy'))
        .filter(([logicalId]) => logicalId.startsWith('OrderServiceTaskRole'))
        .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as { Action: unknown; Condition?: unknown }[]);
      expect(statements.filter((statement) => statement.Action === 'servicediscovery:DiscoverInstances')).toEqual([
        expect.objectContaining({ Condition: { StringEquals: { 'servicediscovery:NamespaceName': name, 'servicediscovery:ServiceName': 'product' } } }),
      ]);
      template.hasOutput('Namespace', { Value: name });
      return name;
    });
    expect(names).toEqual(['gatehouse.local', 'gatehousestaging.local']);
  });

  it('takes NAT gateways, namespace, tiers, WAF, CORS and service sizes from the config', () => {
    const template = Template.fromStack(
      synth({
        ...CONFIG,
        natGateways: 2,
        namespace: 'shop.internal',
        gateway: {
          tiers: [{ name: 'free', rateLimit: 1, burstLimit: 2, quota: { limit: 100, period: 'DAY' } }],
          waf: false,
          cors: { allowOrigins: ['https://shop.example.com'] },
        },
        services: { desiredCount: 3, maxCapacity: 6, cpu: 512, memoryLimitMiB: 1024 },
      }).stack,
    );
    template.resourceCountIs('AWS::EC2::NatGateway', 2);
    template.hasResourceProperties('AWS::ServiceDiscovery::PrivateDnsNamespace', { Name: 'shop.internal' });
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', { Throttle: { RateLimit: 1, BurstLimit: 2 }, Quota: { Limit: 100, Period: 'DAY' } });
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
    template.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'OPTIONS' });
    template.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 3 });
    template.hasResourceProperties('AWS::ECS::TaskDefinition', { Cpu: '512', Memory: '1024' });
  });

  it.each<[string, unknown, RegExp]>([
    [
      'a cache TTL over an hour',
      { ...CONFIG, authorizer: { resultsCacheTtlSeconds: 7200 } },
      /authorizer.resultsCacheTtlSeconds must be whole seconds from 0 to 3600, got 7200/,
    ],
    [
      'an issuer with both audience and client ids',
      { issuers: [{ issuer: 'https://i.example.com', audience: 'a', clientIds: ['c'] }] },
      /issuers\[0\] must be .*one of them/,
    ],
    ['cognito settings next to issuers', { ...CONFIG, cognito: { domainPrefix: 'shop' } }, /cognito applies only when issuers is empty or absent/],
    [
      'an access token validity over a day',
      { cognito: { accessTokenValidityMinutes: 2000 } },
      /accessTokenValidity must be from 5 minutes to 1 day \(Cognito's bounds\), got 1 day 9 hours/,
    ],
    [
      'two issuers with plain subjects',
      { issuers: [CONFIG.issuers[0], { issuer: 'https://other.example.com', audience: 'api' }], authorizer: { userIds: 'subject' } },
      /userIds must be "issuer-qualified" with 2 issuers/,
    ],
    [
      'a tier rate without burst',
      { ...CONFIG, gateway: { tiers: [{ name: 'x', rateLimit: 5 }] } },
      /tiers.x.burstLimit must be a whole number of requests >= 0, got undefined/,
    ],
    [
      'a stage name with a dot',
      { ...CONFIG, stageName: 'v1.0' },
      /context "gatehouse": stageName must be 1 to 128 letters, digits, hyphens or underscores, got "v1.0"/,
    ],
    [
      'an integration timeout over 29 s',
      { ...CONFIG, gateway: { integrationTimeoutMs: 30_000 } },
      /gateway.integrationTimeoutMs must be whole milliseconds from 50 to 29000, got 30000/,
    ],
    [
      'a quota per year',
      { ...CONFIG, gateway: { tiers: [{ name: 'x', rateLimit: 5, burstLimit: 5, quota: { limit: 9, period: 'YEAR' } }] } },
      /gateway.tiers.x.quota.period must be one of DAY, WEEK, MONTH, got "YEAR"/,
    ],
    ['three NAT gateways', { ...CONFIG, natGateways: 3 }, /natGateways must be 1 or 2/],
    ['a namespace that is no DNS name', { ...CONFIG, namespace: 'Not A Name' }, /namespace must be a DNS name/],
    [
      'an API key source that does not exist',
      { ...CONFIG, gateway: { apiKeySource: 'COOKIE' } },
      /gateway.apiKeySource must be "HEADER" or "AUTHORIZER", got "COOKIE"/,
    ],
  ])('refuses %s', (_name, config, message) => {
    expect(() => synth(config)).toThrow(message);
  });
});

describe('with no issuers configured (the cdk.json as shipped)', () => {
  const { stack } = synth({ authorizer: { resultsCacheTtlSeconds: 300 }, stageName: 'v1' });
  const template = Template.fromStack(stack);
  const pool = defined(stack.userPool);
  const logicalId = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as CfnElement);

  it('makes a user pool for machine clients: no self sign-up, a strong password policy, MFA, retained', () => {
    template.resourceCountIs('AWS::Cognito::UserPool', 1);
    template.hasResource('AWS::Cognito::UserPool', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
        MfaConfiguration: 'ON',
        DeletionProtection: 'ACTIVE',
        Policies: { PasswordPolicy: Match.objectLike({ MinimumLength: 12, RequireSymbols: true, RequireUppercase: true, RequireNumbers: true }) },
      }),
    });
  });

  it("has a resource server whose scopes are exactly the route spec's", () => {
    const specScopes = [...new Set(GATEHOUSE_ROUTES.flatMap((route) => route.scopes))].sort();
    const [server] = Object.values(template.findResources('AWS::Cognito::UserPoolResourceServer'));
    expect(server.Properties.Identifier).toBe('gatehouse');
    expect((server.Properties.Scopes as { ScopeName: string }[]).map((scope) => scope.ScopeName).sort()).toEqual(specScopes);
    expect(specScopes).toEqual(Object.values(SCOPES).sort());
  });

  it('has one app client for the client-credentials flow, with a generated secret, every scope and one-hour access tokens', () => {
    template.resourceCountIs('AWS::Cognito::UserPoolClient', 1);
    const [client] = Object.values(template.findResources('AWS::Cognito::UserPoolClient'));
    expect(client.Properties).toMatchObject({
      GenerateSecret: true,
      AllowedOAuthFlows: ['client_credentials'],
      AllowedOAuthFlowsUserPoolClient: true,
      AccessTokenValidity: 60,
      TokenValidityUnits: expect.objectContaining({ AccessToken: 'minutes' }),
      EnableTokenRevocation: true,
    });
    expect(client.Properties).not.toHaveProperty('ClientSecret');
    const server = logicalId(pool.resourceServer);
    expect(client.Properties.AllowedOAuthScopes).toEqual(
      Object.values(SCOPES)
        .sort()
        .map((scope) => ({ 'Fn::Join': ['', [{ Ref: server }, `/${scope}`]] })),
    );
    expect(client.Properties.ExplicitAuthFlows).toEqual(['ALLOW_REFRESH_TOKEN_AUTH']);
    // A Cognito domain prefix is unique in the region across accounts: the account id is in it.
    template.hasResourceProperties('AWS::Cognito::UserPoolDomain', { Domain: Match.stringLikeRegexp('^gatehouse-123456789012-[a-z0-9-]+$') });
  });

  it("hands the authorizer the pool as its one issuer: the pool's iss, the client's id as the only client, the server's prefix", () => {
    const [fn] = Object.values(
      template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { [AUTHORIZER_CONFIG_ENV]: Match.anyValue() } } } }),
    );
    const joined = fn.Properties.Environment.Variables[AUTHORIZER_CONFIG_ENV]['Fn::Join'][1] as unknown[];
    const text = joined.map((part) => (typeof part === 'string' ? part : `<${JSON.stringify(part)}>`)).join('');
    expect(text).toContain(`{"issuers":[{"issuer":"https://cognito-idp.eu-west-1.<{"Ref":"AWS::URLSuffix"}>/<{"Ref":"${logicalId(pool.userPool)}"}>",`);
    expect(text).toContain(`"clientIds":["<{"Ref":"${logicalId(pool.machineClient)}"}>"],"scopePrefix":"gatehouse/"`);
    expect(text).toContain(`/.well-known/jwks.json"}]`);
    expect(text).not.toContain('"audience"');
  });

  it('outputs the token endpoint, the machine client id, the user pool id and the scopes', () => {
    template.hasOutput('TokenEndpoint', {
      Value: { 'Fn::Join': ['', ['https://', { Ref: logicalId(pool.domain) }, '.auth.eu-west-1.amazoncognito.com/oauth2/token']] },
    });
    template.hasOutput('MachineClientId', { Value: { Ref: logicalId(pool.machineClient) } });
    template.hasOutput('UserPoolId', { Value: { Ref: logicalId(pool.userPool) } });
    template.hasOutput('Scopes', {
      Value: Object.values(SCOPES)
        .sort()
        .map((scope) => `gatehouse/${scope}`)
        .join(' '),
    });
  });

  it('is what cdk.json configures: no placeholder issuer left to edit', () => {
    const shipped = projectContext().gatehouse as Record<string, unknown>;
    expect(shipped).not.toHaveProperty('issuers');
    expect(() => readGatehouseConfig(shipped)).not.toThrow();
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing in the stack with its own user pool that is not fixed or acknowledged with a reason', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-stack-nag-cognito-'));
    try {
      const { app, stack } = synth({}, outdir);
      expect(awsSolutionsFindings(app, outdir)).toEqual([]);
      expect(acknowledgements(stack).filter((entry) => entry.id === 'AwsSolutions-COG8')).toEqual([
        { id: 'AwsSolutions-COG8', path: 'Gatehouse/UserPool/Resource', reason: expect.stringContaining('client-credentials flow') },
      ]);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('finds nothing in the whole stack that is not fixed or acknowledged with a reason', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-stack-nag-'));
    try {
      const { app } = synth(CONFIG, outdir);
      // A control: a queue without SSL enforcement in a stack of its own must be reported, or nag did not run.
      new sqs.Queue(new Stack(app, 'Control'), 'Queue');
      const findings = awsSolutionsFindings(app, outdir);
      expect(findings.filter((finding) => finding.includes(' Control/'))).not.toEqual([]);
      expect(findings.filter((finding) => finding.includes(' Gatehouse/'))).toEqual([]);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});
