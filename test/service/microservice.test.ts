/**
 * Microservice: the product and order services as Gatehouse deploys them (one bundled synth, read by
 * every assertion of its describe), then each default's override, the wiring methods, each validation
 * error, and cdk-nag.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Duration, Stack } from 'aws-cdk-lib';
import type { App, CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import { Construct } from 'constructs';
import type { IConstruct } from 'constructs';
import * as publicApi from '../../lib';
import { ORDERS_BY_CUSTOMER_INDEX, ORDERS_TABLE, PRODUCTS_TABLE } from '../../lib/data/tables';
import type { TableDefinition } from '../../lib/data/tables';
import { grantDiscoverInstances, ServiceRegistry } from '../../lib/registry/service-registry';
import type { IServiceRegistry } from '../../lib/registry/service-registry';
import { SERVICES } from '../../lib/routes/gatehouse-routes';
import { SERVICE_ENV } from '../../lib/runtime-env';
import { DEFAULT_NODE_IMAGE, IMAGE_FILE_MODE, Microservice } from '../../lib/service/microservice';
import type { MicroserviceProps } from '../../lib/service/microservice';
import { SERVICE_ENTRIES } from '../../lib/gatehouse-services';
import { acknowledgements, awsSolutionsFindings, projectApp } from '../support/cdk';
import { request } from '../support/http';
import { startProcess } from '../support/processes';
import type { ServiceProcess } from '../support/processes';

const ENV = { account: '123456789012', region: 'eu-west-1' };
const PRODUCT_PRIORITY = 10;
const ORDER_PRIORITY = 20;

type Properties = Record<string, unknown>;

/** An internal ALB with one HTTP listener, as GatehouseNetwork makes it. */
function alb(stack: Stack, vpc: ec2.IVpc, securityGroup?: ec2.ISecurityGroup) {
  const loadBalancer = new elbv2.ApplicationLoadBalancer(stack, 'Alb', { vpc, internetFacing: false, ...(securityGroup !== undefined && { securityGroup }) });
  const listener = loadBalancer.addListener('Listener', { port: 80, open: false, defaultAction: elbv2.ListenerAction.fixedResponse(404) });
  return { loadBalancer, listener };
}

/**
 * A test stack as Gatehouse's: a two-AZ VPC, a cluster with Container Insights, an internal ALB
 * with one listener, the tables, the registry, and the product and order services wired as the app wires them.
 */
function build(options: { app?: App; product?: Partial<MicroserviceProps>; order?: boolean } = {}) {
  const app = options.app ?? projectApp({ bundle: false });
  const stack = new Stack(app, 'Stack', { env: ENV });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
  const { loadBalancer, listener } = alb(stack, vpc);
  const table = (definition: TableDefinition) =>
    new dynamodb.TableV2(stack, definition.id, {
      partitionKey: { name: definition.partitionKey.name, type: dynamodb.AttributeType.STRING },
      globalSecondaryIndexes: (definition.globalSecondaryIndexes ?? []).map((index) => ({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey.name, type: dynamodb.AttributeType.STRING },
      })),
    });
  const tables = { products: table(PRODUCTS_TABLE), orders: table(ORDERS_TABLE) };
  const registry = new ServiceRegistry(stack, 'Registry', { vpc });
  const common = { cluster, registry, listener };

  const product = new Microservice(stack, 'Product', {
    ...common,
    serviceName: SERVICES.product,
    entry: SERVICE_ENTRIES.product,
    listenerPriority: PRODUCT_PRIORITY,
    ...options.product,
  });
  product.useTable(SERVICE_ENV.productsTable, tables.products, 'readWrite');
  let order: Microservice | undefined;
  if (options.order !== false) {
    order = new Microservice(stack, 'Order', { ...common, serviceName: SERVICES.order, entry: SERVICE_ENTRIES.order, listenerPriority: ORDER_PRIORITY });
    order.useTable(SERVICE_ENV.ordersTable, tables.orders, 'readWrite', { indexes: [ORDERS_BY_CUSTOMER_INDEX] });
    order.useServiceDiscovery(product);
    order.allowFrom(loadBalancer);
  }
  return { app, stack, vpc, cluster, loadBalancer, listener, tables, registry, product, order };
}

/** The synthesized properties of a construct's CloudFormation resource. */
function propertiesOf(template: Template, stack: Stack, construct: IConstruct): Properties {
  const logicalId = stack.getLogicalId(construct.node.defaultChild as CfnElement);
  return (template.toJSON() as { Resources: Record<string, { Properties: Properties }> }).Resources[logicalId].Properties;
}

function defined<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('expected a value');
  return value;
}

function logicalIdOf(stack: Stack, construct: IConstruct): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

function policyStatementsOf(template: Template, stack: Stack, role: IConstruct): unknown[] {
  const policy = role.node.tryFindChild('DefaultPolicy');
  if (policy === undefined) return [];
  return (propertiesOf(template, stack, policy).PolicyDocument as { Statement: unknown[] }).Statement;
}

/** The docker image asset's build context in the cloud assembly, as `cdk deploy` would build it. */
function imageContext(outdir: string, service: Microservice): { directory: string; platform: string | undefined } {
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'Stack.assets.json'), 'utf8')) as {
    dockerImages: Record<string, { source: { directory: string; platform?: string } }>;
  };
  const image = manifest.dockerImages[service.imageAsset!.assetHash];
  return { directory: path.join(outdir, image.source.directory), platform: image.source.platform };
}

describe('the product and order services', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-microservice-'));
  const built = build({ app: projectApp({ outdir }) });
  const { stack, product, registry, loadBalancer, listener, tables } = built;
  const order = defined(built.order);
  const template = Template.fromStack(stack);
  const of = (construct: IConstruct) => propertiesOf(template, stack, construct);
  const running: ServiceProcess[] = [];

  afterAll(async () => {
    for (const service of running) {
      if (service.child.exitCode === null) {
        service.child.kill('SIGKILL');
        await service.exited;
      }
    }
    fs.rmSync(outdir, { recursive: true, force: true });
  });

  it('runs each service as ARM64 Fargate tasks of 0.25 vCPU and 512 MiB, from its image asset', () => {
    expect(of(product.taskDefinition)).toMatchObject({
      Cpu: '256',
      Memory: '512',
      NetworkMode: 'awsvpc',
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      TaskRoleArn: { 'Fn::GetAtt': [logicalIdOf(stack, product.taskRole), 'Arn'] },
      ExecutionRoleArn: { 'Fn::GetAtt': [logicalIdOf(stack, product.executionRole), 'Arn'] },
    });
    const [container] = of(product.taskDefinition).ContainerDefinitions as Properties[];
    expect(container).toMatchObject({
      Name: 'product',
      Essential: true,
      Image: { 'Fn::Sub': expect.stringContaining(`:${product.imageAsset!.assetHash}`) },
      PortMappings: [{ ContainerPort: 8080, Protocol: 'tcp' }],
      ReadonlyRootFilesystem: true,
      StopTimeout: 30,
    });
    expect(imageContext(outdir, product).platform).toBe('linux/arm64');
    expect(product.imageAsset!.assetHash).not.toBe(order.imageAsset!.assetHash);
  });

  it('logs to a log group of its own, kept a month, without blocking the service', () => {
    const [container] = of(product.taskDefinition).ContainerDefinitions as Properties[];
    expect(container.LogConfiguration).toEqual({
      LogDriver: 'awslogs',
      Options: {
        'awslogs-group': { Ref: logicalIdOf(stack, product.logGroup) },
        'awslogs-stream-prefix': 'product',
        'awslogs-region': 'eu-west-1',
        mode: 'non-blocking',
        'max-buffer-size': '26214400b',
      },
    });
    expect(of(product.logGroup)).toEqual({ RetentionInDays: 30 });
  });

  it('health-checks the container with node itself against /health on the container port', () => {
    const [container] = of(product.taskDefinition).ContainerDefinitions as Properties[];
    expect(container.HealthCheck).toEqual({
      Command: ['CMD', 'node', '-e', "fetch('http://127.0.0.1:8080/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"],
      Interval: 15,
      Timeout: 5,
      Retries: 3,
      StartPeriod: 10,
    });
  });

  it('sets the port, the shutdown budget and, through the use methods, the tables and the discovery target', () => {
    const [productContainer] = of(product.taskDefinition).ContainerDefinitions as Properties[];
    expect(productContainer.Environment).toEqual([
      { Name: 'PORT', Value: '8080' },
      { Name: 'SHUTDOWN_TIMEOUT_MS', Value: '25000' },
      { Name: 'PRODUCTS_TABLE', Value: { Ref: logicalIdOf(stack, tables.products) } },
    ]);
    const [orderContainer] = of(order.taskDefinition).ContainerDefinitions as Properties[];
    expect(orderContainer.Environment).toEqual([
      { Name: 'PORT', Value: '8080' },
      { Name: 'SHUTDOWN_TIMEOUT_MS', Value: '25000' },
      { Name: 'ORDERS_TABLE', Value: { Ref: logicalIdOf(stack, tables.orders) } },
      { Name: 'DISCOVERY_NAMESPACE', Value: 'stack.local' },
      { Name: 'PRODUCT_SERVICE_NAME', Value: 'product' },
    ]);
  });

  it('stages the bundle and a Dockerfile that runs it with node as the non-root node user', () => {
    const { directory } = imageContext(outdir, product);
    expect(fs.readdirSync(directory).sort()).toEqual(['Dockerfile', 'server.js', 'server.js.map']);
    const dockerfile = fs.readFileSync(path.join(directory, 'Dockerfile'), 'utf8').split('\n');
    expect(dockerfile).toContain(`FROM ${DEFAULT_NODE_IMAGE}`);
    expect(DEFAULT_NODE_IMAGE).toMatch(/^public\.ecr\.aws\/docker\/library\/node:(2[2-9]|[3-9]\d)-alpine$/);
    expect(dockerfile).toContain('COPY server.js server.js.map ./');
    expect(dockerfile).toContain('USER node');
    expect(dockerfile.at(-2)).toBe('CMD ["node", "--enable-source-maps", "server.js"]');
    expect(dockerfile.indexOf('USER node')).toBeGreaterThan(dockerfile.indexOf('COPY server.js server.js.map ./'));
    expect(dockerfile.filter((line) => /^(COPY|ADD|HEALTHCHECK|USER root)\b/.test(line))).toEqual(['COPY server.js server.js.map ./']);
    const code = fs.readFileSync(path.join(directory, 'server.js'), 'utf8');
    expect(code).not.toMatch(/aws-cdk-lib|constructs/);
    expect(code).toMatch(/\/\/# sourceMappingURL=server\.js\.map\s*$/);
  });

  it('stages the same content under the same asset hash when synthesized again', () => {
    const again = build({ app: projectApp(), order: false });
    expect(again.product.imageAsset!.assetHash).toBe(product.imageAsset!.assetHash);
  });

  it('ships a server.js that starts with node, answers GET /health, passes the ECS health check and stops on SIGTERM', async () => {
    const file = path.join(imageContext(outdir, product).directory, 'server.js');
    const service = await startProcess(file, {
      [SERVICE_ENV.port]: '0',
      [SERVICE_ENV.host]: '127.0.0.1',
      [SERVICE_ENV.productsTable]: 'no-such-table',
      [SERVICE_ENV.region]: 'eu-west-1',
    });
    running.push(service);
    expect(await request(`${service.url}/health`)).toMatchObject({ status: 200, body: { status: 'ok' } });

    const [container] = of(product.taskDefinition).ContainerDefinitions as Properties[];
    const [, node, flag, script] = (container.HealthCheck as { Command: string[] }).Command;
    expect([node, flag]).toEqual(['node', '-e']);
    const port = new URL(service.url).port;
    await expect(promisify(execFile)(process.execPath, [flag, script.replace(':8080/', `:${port}/`)])).resolves.toBeDefined();
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    // Nothing listens on the port any more: the same check fails.
    await expect(promisify(execFile)(process.execPath, [flag, script.replace(':8080/', `:${port}/`)])).rejects.toMatchObject({ code: 1 });
  });

  it('runs two tasks in private subnets without public IPs, rolls back failed deploys, keeps 100 % healthy while deploying', () => {
    expect(of(product.service)).toMatchObject({
      LaunchType: 'FARGATE',
      DesiredCount: 2,
      DeploymentConfiguration: { DeploymentCircuitBreaker: { Enable: true, Rollback: true }, MinimumHealthyPercent: 100, MaximumPercent: 200 },
      EnableExecuteCommand: false,
      HealthCheckGracePeriodSeconds: 60,
      NetworkConfiguration: {
        AwsvpcConfiguration: {
          AssignPublicIp: 'DISABLED',
          SecurityGroups: [{ 'Fn::GetAtt': [logicalIdOf(stack, product.securityGroup), 'GroupId'] }],
          Subnets: built.vpc.privateSubnets.map((subnet) => ({ Ref: logicalIdOf(stack, subnet) })),
        },
      },
    });
    expect(product.node.defaultChild).toBe(product.service);
  });

  it('registers each service in Cloud Map with its container port, so DiscoverInstances answers IP and port', () => {
    for (const service of [product, order]) {
      expect(of(service.service).ServiceRegistries).toEqual([
        { RegistryArn: { 'Fn::GetAtt': [logicalIdOf(stack, service.cloudMapService), 'Arn'] }, ContainerName: service.serviceName, ContainerPort: 8080 },
      ]);
      expect(of(service.cloudMapService)).toEqual({
        Name: service.serviceName,
        NamespaceId: { 'Fn::GetAtt': [logicalIdOf(stack, registry.namespace), 'Id'] },
        DnsConfig: {
          DnsRecords: [{ Type: 'SRV', TTL: 10 }],
          NamespaceId: { 'Fn::GetAtt': [logicalIdOf(stack, registry.namespace), 'Id'] },
          RoutingPolicy: 'MULTIVALUE',
        },
        HealthCheckCustomConfig: { FailureThreshold: 1 },
      });
    }
    template.resourceCountIs('AWS::ServiceDiscovery::Service', 2);
  });

  it("puts each service behind a rule of its own on the ALB's listener, matching the gateway's service header, forwarding to IP targets checked on HTTP /health", () => {
    for (const [service, priority] of [
      [product, PRODUCT_PRIORITY],
      [order, ORDER_PRIORITY],
    ] as const) {
      expect(of(service.listenerRule)).toEqual({
        ListenerArn: { Ref: logicalIdOf(stack, listener) },
        Priority: priority,
        Conditions: [{ Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'x-gatehouse-service', Values: [service.serviceName] } }],
        Actions: [{ Type: 'forward', TargetGroupArn: { Ref: logicalIdOf(stack, service.targetGroup) } }],
      });
      expect(of(service.targetGroup)).toMatchObject({
        TargetType: 'ip',
        Protocol: 'HTTP',
        Port: 8080,
        HealthCheckProtocol: 'HTTP',
        HealthCheckPath: '/health',
        Matcher: { HttpCode: '200' },
        HealthCheckIntervalSeconds: 10,
        HealthyThresholdCount: 2,
        UnhealthyThresholdCount: 2,
        // Shorter than the 25 s the service drains for after SIGTERM (stopTimeout 30 s less 5).
        TargetGroupAttributes: expect.arrayContaining([{ Key: 'deregistration_delay.timeout_seconds', Value: '15' }]),
      });
      expect(of(service.service).LoadBalancers).toEqual([
        { ContainerName: service.serviceName, ContainerPort: 8080, TargetGroupArn: { Ref: logicalIdOf(stack, service.targetGroup) } },
      ]);
      expect(service.listenerPriority).toBe(priority);
      expect(service.containerPort).toBe(8080);
    }
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    template.resourcePropertiesCountIs('AWS::ElasticLoadBalancingV2::TargetGroup', { Protocol: 'TCP' }, 0);
  });

  it("waits for the private subnets' default route before creating the services, so the first tasks can pull their image", () => {
    const routes = built.vpc.privateSubnets.map((subnet) => stack.getLogicalId((subnet as ec2.PrivateSubnet).node.findChild('DefaultRoute') as CfnElement));
    expect(routes).toHaveLength(2);
    for (const service of [product, order]) {
      const dependsOn =
        (template.toJSON() as { Resources: Record<string, { DependsOn?: string[] }> }).Resources[logicalIdOf(stack, service.service)].DependsOn ?? [];
      expect(dependsOn).toEqual(expect.arrayContaining(routes));
    }
  });

  it('scales between two and four tasks to keep CPU at 60 %', () => {
    const serviceName = { 'Fn::GetAtt': [logicalIdOf(stack, product.service), 'Name'] };
    const targets = template.findResources('AWS::ApplicationAutoScaling::ScalableTarget', {
      Properties: { ResourceId: { 'Fn::Join': ['', Match.arrayWith([serviceName])] } },
    });
    expect(Object.values(targets)).toEqual([
      expect.objectContaining({ Properties: expect.objectContaining({ MinCapacity: 2, MaxCapacity: 4, ScalableDimension: 'ecs:service:DesiredCount' }) }),
    ]);
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      ScalingTargetId: { Ref: Object.keys(targets)[0] },
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        TargetValue: 60,
        ScaleOutCooldown: 60,
        ScaleInCooldown: 300,
      },
    });
  });

  it('grants the product service its table by ARN and nothing else', () => {
    expect(policyStatementsOf(template, stack, product.taskRole)).toEqual([
      {
        Effect: 'Allow',
        Action: [
          'dynamodb:BatchGetItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:ConditionCheckItem',
          'dynamodb:DeleteItem',
          'dynamodb:DescribeTable',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:Scan',
          'dynamodb:UpdateItem',
        ],
        Resource: { 'Fn::GetAtt': [logicalIdOf(stack, tables.products), 'Arn'] },
      },
    ]);
  });

  it('grants the order service its tables, the one index it queries, and DiscoverInstances for the product service only', () => {
    expect(policyStatementsOf(template, stack, order.taskRole)).toEqual([
      {
        Effect: 'Allow',
        Action: expect.arrayContaining(['dynamodb:DescribeTable', 'dynamodb:PutItem', 'dynamodb:Query']),
        Resource: { 'Fn::GetAtt': [logicalIdOf(stack, tables.orders), 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: ['dynamodb:Query', 'dynamodb:Scan'],
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalIdOf(stack, tables.orders), 'Arn'] }, '/index/byCustomer']] },
      },
      {
        Effect: 'Allow',
        Action: 'servicediscovery:DiscoverInstances',
        Resource: '*',
        Condition: { StringEquals: { 'servicediscovery:NamespaceName': 'stack.local', 'servicediscovery:ServiceName': 'product' } },
      },
    ]);
  });

  it('lets only ECS tasks of this account and region assume the task role', () => {
    expect(of(product.taskRole).AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Principal: { Service: 'ecs-tasks.amazonaws.com' },
          Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:ecs:eu-west-1:123456789012:*' }, StringEquals: { 'aws:SourceAccount': '123456789012' } },
        },
      ],
    });
  });

  it('has an execution role that pulls from the asset repository and writes its own log group', () => {
    expect(policyStatementsOf(template, stack, product.executionRole)).toEqual([
      {
        Effect: 'Allow',
        Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        Resource: expect.stringMatching(/^arn:aws:ecr:eu-west-1:123456789012:repository\/cdk-.*-container-assets-/),
      },
      { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [logicalIdOf(stack, product.logGroup), 'Arn'] } },
    ]);
  });

  it('admits the ALB to both services and the order service to the product service, on the container port only', () => {
    const nlbGroup = { 'Fn::GetAtt': [logicalIdOf(stack, loadBalancer.connections.securityGroups[0]), 'GroupId'] };
    const ingressOf = (service: Microservice) =>
      Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'))
        .map((resource) => (resource as { Properties: Properties }).Properties)
        .filter((rule) => JSON.stringify(rule.GroupId) === JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(stack, service.securityGroup), 'GroupId'] }))
        .map(({ SourceSecurityGroupId, FromPort, ToPort, IpProtocol }) => ({ SourceSecurityGroupId, FromPort, ToPort, IpProtocol }));
    const rule = (source: unknown) => ({ SourceSecurityGroupId: source, FromPort: 8080, ToPort: 8080, IpProtocol: 'tcp' });
    expect(ingressOf(product)).toEqual([rule(nlbGroup), rule({ 'Fn::GetAtt': [logicalIdOf(stack, order.securityGroup), 'GroupId'] })]);
    // order.allowFrom(loadBalancer) repeats what the constructor did: still one rule.
    expect(ingressOf(order)).toEqual([rule(nlbGroup)]);
    for (const service of [product, order]) {
      expect(of(service.securityGroup).SecurityGroupIngress).toBeUndefined();
      expect(of(service.securityGroup).SecurityGroupEgress).toEqual([
        { CidrIp: '0.0.0.0/0', Description: 'HTTPS to AWS APIs', FromPort: 443, ToPort: 443, IpProtocol: 'tcp' },
      ]);
    }
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: { 'Fn::GetAtt': [logicalIdOf(stack, order.securityGroup), 'GroupId'] },
      DestinationSecurityGroupId: { 'Fn::GetAtt': [logicalIdOf(stack, product.securityGroup), 'GroupId'] },
      FromPort: 8080,
      ToPort: 8080,
    });
    expect(JSON.stringify(template.findResources('AWS::EC2::SecurityGroupIngress'))).not.toContain('0.0.0.0/0');
  });
});

describe('overrides', () => {
  it('take the port, size, counts, scaling target, log retention, grace period, stop timeout, environment, base image and subnets', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-microservice-overrides-'));
    try {
      const { stack, vpc, product, tables } = build({
        app: projectApp({ outdir, bundle: false }),
        order: false,
        product: {
          containerPort: 9090,
          cpu: 1024,
          memoryLimitMiB: 4096,
          desiredCount: 3,
          minCapacity: 3,
          maxCapacity: 10,
          targetCpuUtilizationPercent: 45,
          logRetention: logs.RetentionDays.ONE_WEEK,
          healthCheckGracePeriod: Duration.minutes(2),
          stopTimeout: Duration.seconds(60),
          environment: { LOG_LEVEL: 'debug' },
          nodeImage: 'public.ecr.aws/docker/library/node:22-alpine@sha256:0123',
          vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
        },
      });
      const template = Template.fromStack(stack);
      const of = (construct: IConstruct) => propertiesOf(template, stack, construct);
      const [container] = of(product.taskDefinition).ContainerDefinitions as Properties[];
      expect(of(product.taskDefinition)).toMatchObject({ Cpu: '1024', Memory: '4096' });
      expect(container).toMatchObject({
        PortMappings: [{ ContainerPort: 9090, Protocol: 'tcp' }],
        StopTimeout: 60,
        HealthCheck: { Command: ['CMD', 'node', '-e', expect.stringContaining("fetch('http://127.0.0.1:9090/health')")] },
      });
      expect(container.Environment).toEqual([
        { Name: 'LOG_LEVEL', Value: 'debug' },
        { Name: 'PORT', Value: '9090' },
        { Name: 'SHUTDOWN_TIMEOUT_MS', Value: '55000' },
        { Name: 'PRODUCTS_TABLE', Value: { Ref: logicalIdOf(stack, tables.products) } },
      ]);
      expect(of(product.service)).toMatchObject({
        DesiredCount: 3,
        HealthCheckGracePeriodSeconds: 120,
        ServiceRegistries: [expect.objectContaining({ ContainerPort: 9090 })],
        NetworkConfiguration: {
          AwsvpcConfiguration: { AssignPublicIp: 'DISABLED', Subnets: vpc.publicSubnets.map((subnet) => ({ Ref: logicalIdOf(stack, subnet) })) },
        },
      });
      expect(of(product.targetGroup)).toMatchObject({ Port: 9090 });
      expect(of(product.logGroup)).toEqual({ RetentionInDays: 7 });
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 3, MaxCapacity: 10 });
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 45 }),
      });
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        GroupId: { 'Fn::GetAtt': [logicalIdOf(stack, product.securityGroup), 'GroupId'] },
        FromPort: 9090,
        ToPort: 9090,
      });

      // A stack that is not being bundled (cdk deploy OtherStack, this test) gets no esbuild run: only the Dockerfile.
      const { directory } = imageContext(outdir, product);
      expect(fs.readdirSync(directory)).toEqual(['Dockerfile']);
      expect(fs.readFileSync(path.join(directory, 'Dockerfile'), 'utf8')).toContain('FROM public.ecr.aws/docker/library/node:22-alpine@sha256:0123\n');
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('derive minCapacity from desiredCount and maxCapacity from twice that', () => {
    const { stack } = build({ order: false, product: { desiredCount: 3 } });
    Template.fromStack(stack).hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 3, MaxCapacity: 6 });
  });
});

describe('image files', () => {
  it("are readable by the image's non-root user whatever the build host's umask (077 here)", () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-microservice-umask-'));
    const previous = process.umask(0o077);
    try {
      const { app, product } = build({ app: projectApp({ outdir }), order: false });
      app.synth();
      const { directory } = imageContext(outdir, product);
      // The context folder's own mode never reaches the image: COPY names files, into WORKDIR's 0755 /app.
      const files = fs.readdirSync(directory).sort();
      expect(files).toEqual(['Dockerfile', 'server.js', 'server.js.map']);
      for (const file of files) expect([file, fs.statSync(path.join(directory, file)).mode & 0o777]).toEqual([file, IMAGE_FILE_MODE]);
      // Readable by others (the node user is not the files' owner in the image), writable by nobody but the owner.
      expect(IMAGE_FILE_MODE & 0o004).toBe(0o004);
      expect(IMAGE_FILE_MODE & 0o022).toBe(0);
    } finally {
      process.umask(previous);
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('useTable', () => {
  it('grants read access without writes, and only the named indexes, each by ARN', () => {
    const { stack, product, tables } = build({ order: false });
    product.useTable('ORDERS_TABLE', tables.orders, 'read', { indexes: [ORDERS_BY_CUSTOMER_INDEX] });
    const template = Template.fromStack(stack);
    const statements = policyStatementsOf(template, stack, product.taskRole) as { Action: string[]; Resource: unknown }[];
    expect(statements.slice(1)).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:BatchGetItem', 'dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'],
        Resource: { 'Fn::GetAtt': [logicalIdOf(stack, tables.orders), 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: ['dynamodb:Query', 'dynamodb:Scan'],
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalIdOf(stack, tables.orders), 'Arn'] }, '/index/byCustomer']] },
      },
    ]);
    expect(JSON.stringify(statements)).not.toContain('/index/*');
  });

  it('grants the customer managed key of an encrypted table', () => {
    const { stack, product } = build({ order: false });
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const encrypted = new dynamodb.TableV2(stack, 'Encrypted', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      encryption: dynamodb.TableEncryptionV2.customerManagedKey(key),
    });
    product.useTable('AUDIT_TABLE', encrypted, 'read');
    const statements = policyStatementsOf(Template.fromStack(stack), stack, product.taskRole);
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:DescribeKey'],
      Resource: { 'Fn::GetAtt': [logicalIdOf(stack, key), 'Arn'] },
    });
  });

  it.each<[string, (service: Microservice, tables: ReturnType<typeof build>['tables']) => void, RegExp]>([
    [
      'a variable set to another table',
      (service, tables) => service.useTable(SERVICE_ENV.productsTable, tables.orders, 'read'),
      /PRODUCTS_TABLE is already set for product; one variable, one value/,
    ],
    ['a variable the construct owns', (service, tables) => service.useTable('PORT', tables.orders, 'read'), /PORT is already set for product/],
    [
      'a variable name that is none',
      (service, tables) => service.useTable('orders-table', tables.orders, 'read'),
      /environment variable names are letters, digits and _, .* got "orders-table"/,
    ],
    [
      'an index name that is none',
      (service, tables) => service.useTable('ORDERS_TABLE', tables.orders, 'read', { indexes: ['by customer'] }),
      /indexes\[0\] must be a DynamoDB index name .* got "by customer"/,
    ],
    [
      'an index twice',
      (service, tables) => service.useTable('ORDERS_TABLE', tables.orders, 'read', { indexes: ['byCustomer', 'byCustomer'] }),
      /indexes\[1\]: byCustomer is listed twice/,
    ],
  ])('rejects %s', (_name, use, message) => {
    const { product, tables } = build({ order: false });
    expect(() => use(product, tables)).toThrow(message);
  });
});

describe('useServiceDiscovery and allowFrom', () => {
  it('name another variable for the target when asked, keep one DISCOVERY_NAMESPACE, and reject discovering oneself', () => {
    const { stack, cluster, registry, listener, product, order } = build();
    const inventory = new Microservice(stack, 'Inventory', {
      serviceName: 'inventory',
      entry: SERVICE_ENTRIES.product,
      cluster,
      registry,
      listener,
      listenerPriority: 30,
    });
    defined(order).useServiceDiscovery(inventory, { serviceNameEnvVar: 'INVENTORY_SERVICE_NAME' });
    const template = Template.fromStack(stack);
    const [container] = propertiesOf(template, stack, defined(order).taskDefinition).ContainerDefinitions as Properties[];
    expect((container.Environment as { Name: string }[]).filter((entry) => entry.Name === 'DISCOVERY_NAMESPACE')).toHaveLength(1);
    expect(container.Environment).toContainEqual({ Name: 'INVENTORY_SERVICE_NAME', Value: 'inventory' });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [logicalIdOf(stack, inventory.securityGroup), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [logicalIdOf(stack, defined(order).securityGroup), 'GroupId'] },
    });
    expect(() => product.useServiceDiscovery(product)).toThrow(/product cannot discover itself/);
  });
});

describe('construction without shared state', () => {
  it('keeps rule priorities per listener in the construct tree: the same priority is free in another app and on another listener', () => {
    const first = build();
    const second = build();
    Template.fromStack(second.stack).resourcePropertiesCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', { Priority: PRODUCT_PRIORITY }, 1);
    const other = alb(new Stack(first.app, 'Other', { env: ENV }), first.vpc);
    expect(
      () =>
        new Microservice(first.stack, 'OnOtherListener', {
          cluster: first.cluster,
          registry: first.registry,
          listener: other.listener,
          serviceName: 'elsewhere',
          entry: SERVICE_ENTRIES.product,
          listenerPriority: PRODUCT_PRIORITY,
        }),
    ).not.toThrow();
  });
});

describe('the public exports', () => {
  it("hold the generic constructs' contract, not Gatehouse's own services", () => {
    const api: Record<string, unknown> = { ...publicApi };
    for (const appOnly of ['SERVICE_ENTRIES', 'LISTENER_PRIORITIES', 'SERVICE_ENV']) expect(api).not.toHaveProperty(appOnly);
    expect(api).toHaveProperty('MICROSERVICE_ENV', { port: 'PORT', shutdownTimeoutMs: 'SHUTDOWN_TIMEOUT_MS', discoveryNamespace: 'DISCOVERY_NAMESPACE' });
    expect(api).toHaveProperty('grantDiscoverInstances');
  });
});

/** A team's own registry: a namespace it already runs, wrapped, with a grant of its own making. */
class TeamRegistry extends Construct implements IServiceRegistry {
  readonly namespace: servicediscovery.IPrivateDnsNamespace;
  readonly namespaceName = 'team.internal';
  readonly grantees: iam.IGrantable[] = [];

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.namespace = servicediscovery.PrivateDnsNamespace.fromPrivateDnsNamespaceAttributes(this, 'Namespace', {
      namespaceName: this.namespaceName,
      namespaceId: 'ns-team1234567890',
      namespaceArn: 'arn:aws:servicediscovery:eu-west-1:123456789012:namespace/ns-team1234567890',
    });
  }

  grantDiscoverInstances(grantee: iam.IGrantable, serviceName?: string): iam.Grant {
    this.grantees.push(grantee);
    return grantDiscoverInstances(grantee, this.namespaceName, serviceName);
  }
}

describe("a registry of the team's own (IServiceRegistry)", () => {
  it('takes the tasks in its namespace and grants their discovery through its own grant', () => {
    const { stack, cluster, listener } = build({ order: false });
    const registry = new TeamRegistry(stack, 'TeamRegistry');
    const common = { cluster, registry, listener, entry: SERVICE_ENTRIES.product };
    const billing = new Microservice(stack, 'Billing', { ...common, serviceName: 'billing-api', listenerPriority: 40 });
    const invoices = new Microservice(stack, 'Invoices', { ...common, serviceName: 'invoices', listenerPriority: 41 });
    invoices.useServiceDiscovery(billing);

    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ServiceDiscovery::Service', { Name: 'billing-api', NamespaceId: 'ns-team1234567890' });
    expect(registry.grantees).toEqual([invoices.taskRole]);
    const [container] = propertiesOf(template, stack, invoices.taskDefinition).ContainerDefinitions as Properties[];
    // The variable is named after the target by default: nothing of Gatehouse's own services in it.
    expect(container.Environment).toEqual(
      expect.arrayContaining([
        { Name: 'DISCOVERY_NAMESPACE', Value: 'team.internal' },
        { Name: 'BILLING_API_SERVICE_NAME', Value: 'billing-api' },
      ]),
    );
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'servicediscovery:DiscoverInstances',
            Condition: { StringEquals: { 'servicediscovery:NamespaceName': 'team.internal', 'servicediscovery:ServiceName': 'billing-api' } },
          }),
        ]),
      },
    });
  });
});

describe('validation at synth', () => {
  it.each<[string, Partial<MicroserviceProps>, RegExp]>([
    ['a rule priority of 0', { listenerPriority: 0 }, /listenerPriority must be a whole number from 1 to 50000 \(ALB rule priorities\), got 0/],
    ['a rule priority over 50000', { listenerPriority: 50001 }, /listenerPriority must be a whole number from 1 to 50000 \(ALB rule priorities\), got 50001/],
    ['a fractional container port', { containerPort: 80.5 }, /containerPort must be a port from 1 to 65535, got 80.5/],
    ['one task', { desiredCount: 1 }, /desiredCount must be at least 2, so that each of two Availability Zones runs a task .* got 1/],
    ['a minimum of one task', { minCapacity: 1 }, /minCapacity must be at least 2, so that each of two Availability Zones runs a task .* got 1/],
    ['a minimum over the desired count', { desiredCount: 2, minCapacity: 3, maxCapacity: 6 }, /minCapacity \(3\) must not exceed desiredCount \(2\)/],
    ['a desired count over the maximum', { desiredCount: 5, maxCapacity: 4 }, /desiredCount \(5\) must not exceed maxCapacity \(4\)/],
    ['a fractional task count', { desiredCount: 2.5 }, /desiredCount must be a whole number, got 2.5/],
    ['a CPU size Fargate lacks', { cpu: 300 }, /cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384 \(Fargate CPU units\), got 300/],
    ['too much memory for 0.25 vCPU', { memoryLimitMiB: 4096 }, /memoryLimitMiB 4096 is not a Fargate size for cpu 256: it must be 512, 1024 or 2048/],
    ['1.5 GiB with 0.25 vCPU', { memoryLimitMiB: 1536 }, /memoryLimitMiB 1536 is not a Fargate size for cpu 256/],
    [
      'too little memory for 1 vCPU',
      { cpu: 1024, memoryLimitMiB: 1024 },
      /memoryLimitMiB 1024 is not a Fargate size for cpu 1024: it must be from 2048 to 8192 in steps of 1024/,
    ],
    ['a CPU target of 0 %', { targetCpuUtilizationPercent: 0 }, /targetCpuUtilizationPercent must be more than 0 and at most 100, got 0/],
    ['a CPU target over 100 %', { targetCpuUtilizationPercent: 150 }, /targetCpuUtilizationPercent must be more than 0 and at most 100, got 150/],
    [
      "a stop timeout over Fargate's 120 s",
      { stopTimeout: Duration.minutes(3) },
      /stopTimeout must be whole seconds from 10 to 120 \(Fargate's maximum\), got 180/,
    ],
    ['a stop timeout too short to drain', { stopTimeout: Duration.seconds(5) }, /stopTimeout must be whole seconds from 10 to 120 .* got 5/],
    ['an entry that does not exist', { entry: '/no/such/server.ts' }, /entry must be an existing file \(a service's server.ts\), got "\/no\/such\/server.ts"/],
    ['a service name that is no DNS label', { serviceName: 'Product_Service' }, /serviceName must be a DNS label .* got "Product_Service"/],
    ['a base image reference with a line break', { nodeImage: 'node:24\nUSER root' }, /nodeImage must be an image reference without spaces or line breaks/],
    [
      'an environment that sets PORT',
      { environment: { PORT: '80' } },
      /environment must not set PORT: the construct sets it from containerPort and stopTimeout/,
    ],
    [
      "the order service's rule priority",
      { listenerPriority: ORDER_PRIORITY },
      /listenerPriority 20 is already taken on this listener by Stack\/Order; each service needs a rule priority of its own/,
    ],
  ])('rejects %s', (_name, props, message) => {
    expect(() => {
      // The order service is built first here, so that the product service is the one that collides.
      const app = projectApp({ bundle: false });
      const stack = new Stack(app, 'Stack', { env: ENV });
      const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
      const cluster = new ecs.Cluster(stack, 'Cluster', { vpc });
      const { listener } = alb(stack, vpc);
      const registry = new ServiceRegistry(stack, 'Registry', { vpc });
      const common = { cluster, registry, listener };
      new Microservice(stack, 'Order', { ...common, serviceName: 'order', entry: SERVICE_ENTRIES.order, listenerPriority: ORDER_PRIORITY });
      new Microservice(stack, 'Product', { ...common, serviceName: 'product', entry: SERVICE_ENTRIES.product, listenerPriority: PRODUCT_PRIORITY, ...props });
    }).toThrow(message);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing in the services or the registry that is not fixed or acknowledged with a reason', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-microservice-nag-'));
    try {
      const { app, product, order } = build({ app: projectApp({ outdir, bundle: false }) });
      const byPath = (a: { path: string; id: string }, b: { path: string; id: string }) => `${a.path} ${a.id}`.localeCompare(`${b.path} ${b.id}`);
      const findings = awsSolutionsFindings(app, outdir);
      // The bare test VPC and ALB have findings of their own (flow logs, access logs); only ours matter here.
      expect(findings.filter((finding) => / Stack\/(Product|Order|Registry)\//.test(finding))).toEqual([]);
      expect(findings.length).toBeGreaterThan(0);
      // Exactly these, each with its reason: a new finding must be fixed or acknowledged on purpose.
      expect([...acknowledgements(product), ...acknowledgements(defined(order))].sort(byPath)).toEqual([
        {
          id: 'AwsSolutions-IAM5[Resource::*]',
          path: 'Stack/Order/ExecutionRole',
          reason: expect.stringContaining('ecr:GetAuthorizationToken supports no resource-level permissions'),
        },
        { id: 'AwsSolutions-ECS2', path: 'Stack/Order/TaskDefinition', reason: expect.stringContaining('configuration only') },
        {
          id: 'AwsSolutions-IAM5[Resource::*]',
          path: 'Stack/Order/TaskRole',
          reason: expect.stringContaining('servicediscovery:DiscoverInstances supports no resource-level permissions'),
        },
        {
          id: 'AwsSolutions-IAM5[Resource::*]',
          path: 'Stack/Product/ExecutionRole',
          reason: expect.stringContaining('ecr:GetAuthorizationToken supports no resource-level permissions'),
        },
        { id: 'AwsSolutions-ECS2', path: 'Stack/Product/TaskDefinition', reason: expect.stringContaining('configuration only') },
      ]);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});
