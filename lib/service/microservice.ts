import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration, FileSystem, Size, Stack, Stage, Token, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import { Construct } from 'constructs';
import type { IServiceRegistry } from '../registry/service-registry';
import { GATEWAY_HEADERS } from '../routes/headers';
import { SERVICE_ENV } from '../runtime-env';
import { bundleServiceSync, SERVICE_BUNDLE_FILES } from './service-bundle';

/**
 * The base image of the containers: Node.js from Docker's official images on the public ECR mirror
 * (no Docker Hub pull limits). Alpine has no curl; the container health check uses node itself.
 */
export const DEFAULT_NODE_IMAGE = 'public.ecr.aws/docker/library/node:24-alpine';

/** How a service may use a table. */
export type TableAccess = 'read' | 'readWrite';

/** Options of {@link Microservice.useTable}. */
export interface UseTableOptions {
  /**
   * Global secondary indexes the service queries or scans: granted by their ARN, each one.
   * @default - none: the table only
   */
  readonly indexes?: readonly string[];
}

/** Options of {@link Microservice.useServiceDiscovery}. */
export interface UseServiceDiscoveryOptions {
  /**
   * The variable that receives the target's Cloud Map service name.
   * @default - the target's name in upper case, hyphens as underscores, then `_SERVICE_NAME`
   * (`PRODUCT_SERVICE_NAME` for a target named `product`)
   */
  readonly serviceNameEnvVar?: string;
}

/** Props of {@link Microservice}. */
export interface MicroserviceProps {
  /**
   * The service's name: its Cloud Map service (`{serviceName}.{namespace}`), container name and log
   * stream prefix. A DNS label: lower-case letters, digits and inner hyphens.
   */
  readonly serviceName: string;
  /**
   * The service's entry point (a `server.ts`), bundled by esbuild into `server.js` at synth, onto
   * `nodeImage`. esbuild must be installed where you synthesize. Exactly one of `entry` and `image`.
   * @default - none: `image` is the service
   */
  readonly entry?: string;
  /**
   * An image the team already has, for linux/arm64: from ECR (`ContainerImage.fromEcrRepository`), a
   * registry (`fromRegistry`) or a Docker build context (`fromAsset`). It listens on `containerPort`
   * (given as PORT), answers `GET /health` for the ALB's health check, and runs with a read-only
   * root filesystem. The container has no health check of its own, since the image need not have
   * Node.js; the ALB's check decides which tasks get traffic and ECS replaces those that fail it.
   * Exactly one of `entry` and `image`.
   * @default - none: `entry` is bundled into an image
   */
  readonly image?: ecs.ContainerImage;
  /** The cluster to run in; its VPC is the service's. */
  readonly cluster: ecs.ICluster;
  /** The registry ECS registers the tasks in. */
  readonly registry: IServiceRegistry;
  /**
   * The shared internal ALB's listener (GatehouseNetwork.listener). The service adds a rule to it
   * that forwards the requests the gateway marks with `x-gatehouse-service: {serviceName}`, and its
   * tasks admit the listener's security groups.
   */
  readonly listener: elbv2.IApplicationListener;
  /** This service's rule priority on the listener, 1 to 50000: unique per listener. */
  readonly listenerPriority: number;
  /**
   * The port the service listens on in its task (its PORT).
   * @default - 8080
   */
  readonly containerPort?: number;
  /**
   * Extra environment variables: configuration, never secrets (use `container.addSecret` for those).
   * @default - none beyond PORT, SHUTDOWN_TIMEOUT_MS and those useTable and useServiceDiscovery set
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * CPU units of a task (1024 = 1 vCPU): 256, 512, 1024, 2048, 4096, 8192 or 16384.
   * @default - 256
   */
  readonly cpu?: number;
  /**
   * Memory of a task, in MiB: one of the sizes Fargate allows with `cpu`.
   * @default - 512
   */
  readonly memoryLimitMiB?: number;
  /**
   * Tasks to run; at least two, so that both Availability Zones have one.
   * @default - 2
   */
  readonly desiredCount?: number;
  /**
   * Fewest tasks autoscaling keeps; at least two.
   * @default - desiredCount
   */
  readonly minCapacity?: number;
  /**
   * Most tasks autoscaling runs.
   * @default - twice desiredCount (4 with the default two tasks)
   */
  readonly maxCapacity?: number;
  /**
   * The average CPU utilization, in percent, that autoscaling keeps the service at.
   * @default - 60
   */
  readonly targetCpuUtilizationPercent?: number;
  /**
   * How long the container logs are kept.
   * @default - logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * How long ECS ignores failing ALB health checks of a task that just started.
   * @default - Duration.seconds(60)
   */
  readonly healthCheckGracePeriod?: Duration;
  /**
   * How long a stopping task has between SIGTERM and SIGKILL, 10 to 120 seconds. The service gets
   * 5 seconds less (SHUTDOWN_TIMEOUT_MS) to drain, so that it exits on its own before the kill.
   * @default - Duration.seconds(30): 25 seconds to drain
   */
  readonly stopTimeout?: Duration;
  /**
   * The subnets of the tasks.
   * @default - the cluster VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * The Node.js base image of an `entry`'s image, 22 or later, for linux/arm64; pin a digest for reproducible images.
   * @default - DEFAULT_NODE_IMAGE (public.ecr.aws/docker/library/node:24-alpine)
   */
  readonly nodeImage?: string;
}

/** Drain on the ALB before ECS stops a deregistered task: shorter than the services' own 25 s drain. */
const DEREGISTRATION_DELAY = Duration.seconds(15);
/** What the service keeps of the stop timeout, so it exits on its own before SIGKILL. */
const SHUTDOWN_MARGIN = Duration.seconds(5);
/**
 * The variables a Microservice sets in its container, for the code it runs: the port to listen on, the
 * time a graceful shutdown has, and (after `useServiceDiscovery`) the namespace to discover services in.
 */
export const MICROSERVICE_ENV = {
  /** The port to listen on (`containerPort`). */
  port: SERVICE_ENV.port,
  /** Milliseconds a graceful shutdown may take: the stop timeout less a margin, so the code exits before SIGKILL. */
  shutdownTimeoutMs: SERVICE_ENV.shutdownTimeoutMs,
  /** The Cloud Map namespace to call DiscoverInstances in (set by `useServiceDiscovery`). */
  discoveryNamespace: SERVICE_ENV.discoveryNamespace,
} as const;

/** The variables the construct sets itself from its props. */
const MANAGED_ENV: readonly string[] = [MICROSERVICE_ENV.port, MICROSERVICE_ENV.shutdownTimeoutMs];

/**
 * Memory sizes Fargate allows for each CPU size, Linux:
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
 */
const FARGATE_SIZES: ReadonlyMap<number, { readonly sizes: readonly number[]; readonly rule: string }> = new Map([
  [256, { sizes: [512, 1024, 2048], rule: '512, 1024 or 2048' }],
  [512, steps(1024, 4096, 1024)],
  [1024, steps(2048, 8192, 1024)],
  [2048, steps(4096, 16384, 1024)],
  [4096, steps(8192, 30720, 1024)],
  [8192, steps(16384, 61440, 4096)],
  [16384, steps(32768, 122880, 8192)],
]);

function steps(min: number, max: number, step: number): { sizes: number[]; rule: string } {
  return { sizes: Array.from({ length: (max - min) / step + 1 }, (_, index) => min + index * step), rule: `from ${min} to ${max} in steps of ${step}` };
}

/** The props with their defaults filled in and validated: what the construction steps read. */
interface MicroserviceSettings {
  readonly serviceName: string;
  readonly source: ServiceSource;
  readonly nodeImage: string;
  readonly containerPort: number;
  readonly cpu: number;
  readonly memoryLimitMiB: number;
  readonly desiredCount: number;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly targetCpuUtilizationPercent: number;
  readonly stopTimeout: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly healthCheckGracePeriod: Duration;
  readonly vpcSubnets: ec2.SubnetSelection;
}

/** What the container runs: an `entry` bundled onto the Node.js image, or an image of the team's own. */
type ServiceSource = { readonly entry: string; readonly image?: undefined } | { readonly entry?: undefined; readonly image: ecs.ContainerImage };

/** The claim id under a listener of its {@link ListenerPriorities}. */
const LISTENER_PRIORITIES_ID = 'GatehouseRulePriorities';

/**
 * The rule priorities Microservices took on one listener, kept in the construct tree under that
 * listener (a construct without resources), so that two apps, or two tests, never share them: the
 * ALB would refuse a second rule with a priority at deploy, so the second claim fails at synth.
 */
class ListenerPriorities extends Construct {
  /** The priorities of `listener`, made under it on the first claim. */
  static of(listener: elbv2.IApplicationListener): ListenerPriorities {
    const existing = listener.node.tryFindChild(LISTENER_PRIORITIES_ID);
    return existing instanceof ListenerPriorities ? existing : new ListenerPriorities(listener, LISTENER_PRIORITIES_ID);
  }

  private readonly owners = new Map<number, string>();

  /** Takes `priority` for `owner`; a priority taken before is a wiring mistake. */
  claim(priority: number, owner: Construct): void {
    if (Token.isUnresolved(priority)) return;
    const taken = this.owners.get(priority);
    if (taken !== undefined)
      throw new Error(`listenerPriority ${priority} is already taken on this listener by ${taken}; each service needs a rule priority of its own`);
    this.owners.set(priority, owner.node.path);
  }
}

/**
 * One microservice on ECS Fargate (ARM64), built from its esbuild bundle or run from an image of its own: registered in Cloud Map
 * by ECS, behind a rule of its own on the shared internal ALB's listener, health-checked by the ALB and by ECS,
 * autoscaled on CPU, logging to CloudWatch, deployed with a circuit breaker that rolls back.
 *
 * The task role starts empty: `useTable` and `useServiceDiscovery` set a variable and grant what it
 * needs in one call; `allowFrom` opens the container port to another service.
 */
export class Microservice extends Construct implements ec2.IConnectable {
  /** The Fargate service. */
  public readonly service: ecs.FargateService;
  /** The task definition. */
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The service's container. */
  public readonly container: ecs.ContainerDefinition;
  /** The image of an `entry`: the bundle and a Dockerfile, built at deploy; undefined for an `image`. */
  public readonly imageAsset?: ecrAssets.DockerImageAsset;
  /** The service's rule on the ALB listener. */
  public readonly listenerRule: elbv2.ApplicationListenerRule;
  /** The target group of the tasks (target type IP). */
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** The Cloud Map service ECS registers the tasks in. */
  public readonly cloudMapService: servicediscovery.Service;
  /** The container logs. */
  public readonly logGroup: logs.LogGroup;
  /** The role the service's code runs with. */
  public readonly taskRole: iam.Role;
  /** The role ECS pulls the image and writes logs with. */
  public readonly executionRole: iam.Role;
  /** The tasks' security group. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** The tasks' network connections (default port: the container port). */
  public readonly connections: ec2.Connections;
  /** The task count autoscaling. */
  public readonly scaling: ecs.ScalableTaskCount;
  /** The registry the service is in. */
  public readonly registry: IServiceRegistry;
  /** The service's name in Cloud Map. */
  public readonly serviceName: string;
  /** The service's rule priority on the ALB listener. */
  public readonly listenerPriority: number;
  /** The port the container listens on. */
  public readonly containerPort: number;

  private readonly environment = new Map<string, string>();

  constructor(scope: Construct, id: string, props: MicroserviceProps) {
    super(scope, id);
    const settings = settingsOf(props);
    ListenerPriorities.of(props.listener).claim(props.listenerPriority, this);
    this.serviceName = props.serviceName;
    this.registry = props.registry;
    this.listenerPriority = props.listenerPriority;
    this.containerPort = settings.containerPort;

    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention: settings.logRetention });
    this.taskRole = this.createTaskRole();
    this.executionRole = new iam.Role(this, 'ExecutionRole', {
      description: `Gatehouse ${this.serviceName} service: ECS pulls its image and writes its logs`,
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
    });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: settings.cpu,
      memoryLimitMiB: settings.memoryLimitMiB,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
      taskRole: this.taskRole,
      executionRole: this.executionRole,
    });
    if (settings.source.entry !== undefined) this.imageAsset = this.buildImage(settings.source.entry, settings.nodeImage);
    this.container = this.addContainer(settings);
    for (const [name, value] of Object.entries(props.environment ?? {})) this.setEnvironment(name, value);
    this.setEnvironment(SERVICE_ENV.port, String(settings.containerPort));
    this.setEnvironment(SERVICE_ENV.shutdownTimeoutMs, String(settings.stopTimeout.minus(SHUTDOWN_MARGIN).toMilliseconds()));

    this.securityGroup = this.createSecurityGroup(props.cluster.vpc);
    this.connections = new ec2.Connections({ securityGroups: [this.securityGroup], defaultPort: ec2.Port.tcp(this.containerPort) });
    this.connections.allowFrom(props.listener, ec2.Port.tcp(this.containerPort), `ALB to ${this.serviceName} (traffic and health checks)`);
    this.service = this.createService(props.cluster, settings);
    this.cloudMapService = this.registerInCloudMap();
    this.targetGroup = this.createTargetGroup(props.cluster.vpc);
    this.listenerRule = this.routeFromListener(props.listener);
    this.scaling = this.autoScale(settings);
    this.acknowledgeFindings();
  }

  /** The role the code runs with: empty until useTable and useServiceDiscovery grant what they set up. */
  private createTaskRole(): iam.Role {
    const stack = Stack.of(this);
    return new iam.Role(this, 'TaskRole', {
      description: `Gatehouse ${this.serviceName} service: only what useTable and useServiceDiscovery grant`,
      // Confused-deputy guard from the ECS task role docs: only ECS tasks of this account and region.
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com', {
        conditions: {
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'ecs', resource: '*' }) },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    });
  }

  /** The image of an `entry`: its bundle and a Dockerfile, staged at synth and built at deploy. */
  private buildImage(entry: string, nodeImage: string): ecrAssets.DockerImageAsset {
    return new ecrAssets.DockerImageAsset(this, 'Image', {
      directory: stageImage(this, entry, nodeImage),
      platform: ecrAssets.Platform.LINUX_ARM64,
    });
  }

  /** The one container: read-only root filesystem, non-blocking logs, and for an `entry` a health check of its own. */
  private addContainer(settings: MicroserviceSettings): ecs.ContainerDefinition {
    const { containerPort } = settings;
    return this.taskDefinition.addContainer('Container', {
      containerName: this.serviceName,
      image: this.imageAsset !== undefined ? ecs.ContainerImage.fromDockerImageAsset(this.imageAsset) : (settings.source.image as ecs.ContainerImage),
      essential: true,
      portMappings: [{ containerPort, protocol: ecs.Protocol.TCP }],
      readonlyRootFilesystem: true,
      stopTimeout: settings.stopTimeout,
      logging: ecs.LogDrivers.awsLogs({
        logGroup: this.logGroup,
        streamPrefix: this.serviceName,
        // A slow CloudWatch must not block the service's writes to stdout; 25 MiB of lines wait instead.
        mode: ecs.AwsLogDriverMode.NON_BLOCKING,
        maxBufferSize: Size.mebibytes(25),
      }),
      healthCheck:
        this.imageAsset === undefined
          ? undefined
          : {
              // Alpine and distroless images have no curl; Node.js 18+ has fetch.
              command: ['CMD', 'node', '-e', `fetch('http://127.0.0.1:${containerPort}/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`],
              interval: Duration.seconds(15),
              timeout: Duration.seconds(5),
              retries: 3,
              startPeriod: Duration.seconds(10),
            },
    });
  }

  /** The tasks' security group: nothing in until allowFrom, out only HTTPS. */
  private createSecurityGroup(vpc: ec2.IVpc): ec2.SecurityGroup {
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: `Gatehouse ${this.serviceName} tasks: in from the ALB and allowed services on ${this.containerPort}; out HTTPS`,
      allowAllOutbound: false,
    });
    // AWS APIs (DynamoDB, Cloud Map, ECR, CloudWatch Logs) are HTTPS; allowFrom adds the service-to-service ports.
    securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs');
    return securityGroup;
  }

  /** The Fargate service: private subnets, rolling deploys that keep every task until the new ones are healthy. */
  private createService(cluster: ecs.ICluster, settings: MicroserviceSettings): ecs.FargateService {
    const service = new ecs.FargateService(this, 'Resource', {
      cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: settings.desiredCount,
      // Fargate spreads the tasks over the subnets' Availability Zones.
      vpcSubnets: settings.vpcSubnets,
      assignPublicIp: false,
      securityGroups: [this.securityGroup],
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      enableExecuteCommand: false,
      healthCheckGracePeriod: settings.healthCheckGracePeriod,
    });
    // Tasks pull their image and reach AWS APIs through the NAT: a service created before the private
    // subnets' default route exists starts tasks that cannot pull, and the circuit breaker rolls back.
    service.node.addDependency(cluster.vpc.selectSubnets(settings.vpcSubnets).internetConnectivityEstablished);
    return service;
  }

  /** ECS registers each task in the registry's namespace under the service's name. */
  private registerInCloudMap(): servicediscovery.Service {
    return this.service.enableCloudMap({
      cloudMapNamespace: this.registry.namespace,
      name: this.serviceName,
      // SRV, not A: only a registry with a port (container name and port, which ECS takes only for
      // SRV) makes ECS register AWS_INSTANCE_PORT next to AWS_INSTANCE_IPV4, and the order service
      // calls the instances DiscoverInstances answers at that IP and port. Cloud Map also makes an
      // A record per task, the SRV records' targets.
      dnsRecordType: servicediscovery.DnsRecordType.SRV,
      container: this.container,
      containerPort: this.containerPort,
      dnsTtl: Duration.seconds(10),
    });
  }

  /** The tasks as IP targets, health-checked on /health. */
  private createTargetGroup(vpc: ec2.IVpc): elbv2.ApplicationTargetGroup {
    const targetGroup = new elbv2.ApplicationTargetGroup(this, 'TargetGroup', {
      vpc,
      port: this.containerPort,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
      deregistrationDelay: DEREGISTRATION_DELAY,
      healthCheck: {
        protocol: elbv2.Protocol.HTTP,
        path: '/health',
        healthyHttpCodes: '200',
        interval: Duration.seconds(10),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 2,
      },
    });
    targetGroup.addTarget(this.service.loadBalancerTarget({ containerName: this.container.containerName, containerPort: this.containerPort }));
    return targetGroup;
  }

  /**
   * The listener rule that forwards to the tasks. The gateway sets the service header on every
   * integration request, from the route's service (a mapped header replaces a client's); routing on
   * it keeps the ALB's rules independent of the route paths.
   */
  private routeFromListener(listener: elbv2.IApplicationListener): elbv2.ApplicationListenerRule {
    return new elbv2.ApplicationListenerRule(this, 'ListenerRule', {
      listener,
      priority: this.listenerPriority,
      conditions: [elbv2.ListenerCondition.httpHeader(GATEWAY_HEADERS.service, [this.serviceName])],
      targetGroups: [this.targetGroup],
    });
  }

  /** Target tracking on CPU: out fast, in slowly. */
  private autoScale(settings: MicroserviceSettings): ecs.ScalableTaskCount {
    const scaling = this.service.autoScaleTaskCount({ minCapacity: settings.minCapacity, maxCapacity: settings.maxCapacity });
    scaling.scaleOnCpuUtilization('CpuScaling', {
      targetUtilizationPercent: settings.targetCpuUtilizationPercent,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.seconds(300),
    });
    return scaling;
  }

  private acknowledgeFindings(): void {
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The environment holds configuration only (port, shutdown budget, table names, Cloud Map names); secrets go in container secrets',
    });
    Validations.of(this.executionRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecr:GetAuthorizationToken supports no resource-level permissions; the image pull and log actions are on the repository and log group ARNs',
    });
  }

  /**
   * Hands the service a table: sets `envVar` to its name and grants the task role `access` to that
   * table (and the named indexes) by ARN, DescribeTable included (the services' /ready calls it).
   */
  useTable(envVar: string, table: dynamodb.ITable, access: TableAccess, options: UseTableOptions = {}): iam.Grant {
    const indexes = options.indexes ?? [];
    for (const [position, index] of indexes.entries()) {
      if (!/^[A-Za-z0-9_.-]{3,255}$/.test(index))
        throw new Error(`indexes[${position}] must be a DynamoDB index name (3 to 255 of A-Z a-z 0-9 _ . -), got ${JSON.stringify(index)}`);
      if (indexes.indexOf(index) !== position) throw new Error(`indexes[${position}]: ${index} is listed twice`);
    }
    this.setEnvironment(envVar, table.tableName);
    const read = ['dynamodb:BatchGetItem', 'dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'];
    const write = ['dynamodb:BatchWriteItem', 'dynamodb:ConditionCheckItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
    let grant = iam.Grant.addToPrincipal({
      grantee: this.taskRole,
      actions: access === 'readWrite' ? [...read, ...write] : read,
      resourceArns: [table.tableArn],
    });
    if (indexes.length > 0) {
      // Indexes are read-only: Query and Scan are all DynamoDB allows on them.
      grant = grant.combine(
        iam.Grant.addToPrincipal({
          grantee: this.taskRole,
          actions: ['dynamodb:Query', 'dynamodb:Scan'],
          resourceArns: indexes.map((index) => `${table.tableArn}/index/${index}`),
        }),
      );
    }
    // A customer managed key must let the role through as well (the AWS owned and managed keys need nothing).
    if (table.encryptionKey !== undefined) {
      const keyActions =
        access === 'readWrite'
          ? ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:ReEncryptTo']
          : ['kms:Decrypt', 'kms:DescribeKey'];
      grant = grant.combine(table.encryptionKey.grant(this.taskRole, ...keyActions));
    }
    return grant;
  }

  /**
   * Lets this service find `target`'s tasks with Cloud Map DiscoverInstances and call them: sets
   * DISCOVERY_NAMESPACE and the target's service name variable, grants DiscoverInstances for that
   * service only, and opens the target's container port to this service.
   */
  useServiceDiscovery(target: Microservice, options: UseServiceDiscoveryOptions = {}): iam.Grant {
    if (target === this) throw new Error(`${this.serviceName} cannot discover itself`);
    this.setEnvironment(SERVICE_ENV.discoveryNamespace, target.registry.namespaceName);
    this.setEnvironment(options.serviceNameEnvVar ?? serviceNameEnvVarOf(target.serviceName), target.serviceName);
    target.allowFrom(this);
    return target.registry.grantDiscoverInstances(this.taskRole, target.serviceName);
  }

  /** Opens the container port to `other`: another Microservice, or anything with a security group. */
  allowFrom(other: ec2.IConnectable): void {
    const name = other instanceof Microservice ? other.serviceName : Construct.isConstruct(other) ? other.node.path : 'a peer';
    this.connections.allowFrom(other, ec2.Port.tcp(this.containerPort), `${name} to ${this.serviceName}`);
  }

  /** Sets a container variable once; setting it again to another value is a wiring mistake. */
  private setEnvironment(name: string, value: string): void {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new Error(`environment variable names are letters, digits and _, not starting with a digit, got ${JSON.stringify(name)}`);
    const current = this.environment.get(name);
    if (current !== undefined && current !== value) throw new Error(`${name} is already set for ${this.serviceName}; one variable, one value`);
    this.environment.set(name, value);
    this.container.addEnvironment(name, value);
  }
}

/**
 * Writes the image's build context: the bundle (when this stack is bundled at all) and a Dockerfile,
 * in a folder named after its content under the assembly's outdir. The asset hash is that of the
 * content, so the image is rebuilt only when the bundle or the Dockerfile changed; the temporary
 * folder sits at the same depth as the final one, so the source map's relative paths hold after the move.
 */
function stageImage(scope: Construct, entry: string, nodeImage: string): string {
  const root = Stage.of(scope)?.outdir;
  if (root === undefined) throw new Error('a Microservice must be inside an App or Stage, whose outdir holds the image context');
  fs.mkdirSync(root, { recursive: true });
  const work = fs.mkdtempSync(path.join(root, 'service-image-tmp-'));
  try {
    // `cdk deploy OtherStack` and tests that skip bundling leave this stack's image unbuilt.
    if (Stack.of(scope).bundlingRequired) bundleServiceSync(entry, work);
    fs.writeFileSync(path.join(work, 'Dockerfile'), dockerfile(nodeImage));
    makeWorldReadable(work);
    const dir = path.join(root, `service-image.${FileSystem.fingerprint(work)}`);
    if (fs.existsSync(dir)) {
      fs.rmSync(work, { recursive: true, force: true });
    } else {
      fs.renameSync(work, dir);
    }
    return dir;
  } catch (error) {
    fs.rmSync(work, { recursive: true, force: true });
    throw error;
  }
}

/** Mode of the staged files: COPY keeps it, and the image's non-root user must read them. */
export const IMAGE_FILE_MODE = 0o644;
/** Mode of the staged folder. */
export const IMAGE_DIRECTORY_MODE = 0o755;

/**
 * Sets the staged files' modes whatever the host's umask: COPY keeps a file's mode, so a bundle
 * written under umask 077 (0600, owned by root in the image) would be unreadable to the `node` user,
 * and every task would crash-loop. Modes are set before the fingerprint, so the hash stays the same.
 */
function makeWorldReadable(directory: string): void {
  fs.chmodSync(directory, IMAGE_DIRECTORY_MODE);
  for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
    const file = path.join(directory, entry.name);
    if (entry.isDirectory()) makeWorldReadable(file);
    else fs.chmodSync(file, IMAGE_FILE_MODE);
  }
}

/** The image: the bundle on Node.js, run by the base image's unprivileged `node` user. */
function dockerfile(nodeImage: string): string {
  return [
    '# Built by the Gatehouse Microservice construct around its esbuild bundle.',
    `FROM ${nodeImage}`,
    'ENV NODE_ENV=production',
    'WORKDIR /app',
    // Root-owned and read-only to the process: it cannot rewrite its own code.
    `COPY ${SERVICE_BUNDLE_FILES.join(' ')} ./`,
    'USER node',
    // The container health check is in the task definition (node's fetch), not here.
    'CMD ["node", "--enable-source-maps", "server.js"]',
    '',
  ].join('\n');
}

/** The default variable for a discovered service's name: `billing-api` gives `BILLING_API_SERVICE_NAME`. */
function serviceNameEnvVarOf(serviceName: string): string {
  return `${serviceName.toUpperCase().replaceAll('-', '_')}_SERVICE_NAME`;
}

/** The props' defaults, each validated: a mistake names the prop, its value and the rule. */
function settingsOf(props: MicroserviceProps): MicroserviceSettings {
  const desiredCount = props.desiredCount ?? 2;
  const settings: Omit<MicroserviceSettings, 'source'> = {
    serviceName: props.serviceName,
    nodeImage: props.nodeImage ?? DEFAULT_NODE_IMAGE,
    containerPort: props.containerPort ?? 8080,
    cpu: props.cpu ?? 256,
    memoryLimitMiB: props.memoryLimitMiB ?? 512,
    desiredCount,
    minCapacity: props.minCapacity ?? desiredCount,
    maxCapacity: props.maxCapacity ?? desiredCount * 2,
    targetCpuUtilizationPercent: props.targetCpuUtilizationPercent ?? 60,
    stopTimeout: props.stopTimeout ?? Duration.seconds(30),
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    healthCheckGracePeriod: props.healthCheckGracePeriod ?? Duration.seconds(60),
    vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
  };
  validateName(props.serviceName);
  validatePriority(props.listenerPriority);
  validatePort('containerPort', settings.containerPort);
  validateFargateSize(settings.cpu, settings.memoryLimitMiB);
  validateCounts(settings.desiredCount, settings.minCapacity, settings.maxCapacity);
  validatePercent(settings.targetCpuUtilizationPercent);
  validateStopTimeout(settings.stopTimeout);
  const source = validateSource(props);
  // The Dockerfile's FROM line takes it as it is.
  if (!/^[^\s]+$/.test(settings.nodeImage))
    throw new Error(`nodeImage must be an image reference without spaces or line breaks, got ${JSON.stringify(settings.nodeImage)}`);
  for (const name of Object.keys(props.environment ?? {})) {
    if (MANAGED_ENV.includes(name)) throw new Error(`environment must not set ${name}: the construct sets it from containerPort and stopTimeout`);
  }
  return { ...settings, source };
}

function validateName(name: string): void {
  if (Token.isUnresolved(name)) throw new Error('serviceName must be a literal: it names the Cloud Map service, container and log streams');
  if (!/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) {
    throw new Error(
      `serviceName must be a DNS label (lower-case letters, digits, inner hyphens, up to 63, starting with a letter), got ${JSON.stringify(name)}`,
    );
  }
}

function validatePriority(priority: number): void {
  if (Token.isUnresolved(priority)) return;
  if (!(Number.isInteger(priority) && priority >= 1 && priority <= 50_000))
    throw new Error(`listenerPriority must be a whole number from 1 to 50000 (ALB rule priorities), got ${priority}`);
}

function validatePort(name: string, port: number): void {
  if (Token.isUnresolved(port)) return;
  if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) throw new Error(`${name} must be a port from 1 to 65535, got ${port}`);
}

function validateFargateSize(cpu: number, memory: number): void {
  if (Token.isUnresolved(cpu) || Token.isUnresolved(memory)) return;
  const allowed = FARGATE_SIZES.get(cpu);
  if (allowed === undefined) throw new Error(`cpu must be one of ${[...FARGATE_SIZES.keys()].join(', ')} (Fargate CPU units), got ${cpu}`);
  if (!allowed.sizes.includes(memory)) throw new Error(`memoryLimitMiB ${memory} is not a Fargate size for cpu ${cpu}: it must be ${allowed.rule}`);
}

function validateCounts(desired: number, min: number, max: number): void {
  const why = 'so that each of two Availability Zones runs a task and losing one AZ, or one task during a deploy, keeps the service up';
  for (const [name, value] of [
    ['desiredCount', desired],
    ['minCapacity', min],
    ['maxCapacity', max],
  ] as const) {
    if (Token.isUnresolved(value)) return;
    if (!Number.isInteger(value)) throw new Error(`${name} must be a whole number, got ${value}`);
  }
  if (desired < 2) throw new Error(`desiredCount must be at least 2, ${why}, got ${desired}`);
  if (min < 2) throw new Error(`minCapacity must be at least 2, ${why}, got ${min}`);
  if (min > desired) throw new Error(`minCapacity (${min}) must not exceed desiredCount (${desired})`);
  if (desired > max) throw new Error(`desiredCount (${desired}) must not exceed maxCapacity (${max})`);
}

function validatePercent(percent: number): void {
  if (Token.isUnresolved(percent)) return;
  if (!(percent > 0 && percent <= 100)) throw new Error(`targetCpuUtilizationPercent must be more than 0 and at most 100, got ${percent}`);
}

function validateStopTimeout(timeout: Duration): void {
  if (timeout.isUnresolved()) return;
  const seconds = timeout.toSeconds({ integral: false });
  if (!(Number.isInteger(seconds) && seconds >= 10 && seconds <= 120)) {
    throw new Error(`stopTimeout must be whole seconds from 10 to 120 (Fargate's maximum), got ${seconds}`);
  }
}

/** Exactly one of entry and image; nodeImage only with an entry, whose image it is the base of. */
function validateSource(props: MicroserviceProps): ServiceSource {
  if (props.entry !== undefined && props.image === undefined) {
    validateEntry(props.entry);
    return { entry: props.entry };
  }
  if (props.image !== undefined && props.entry === undefined) {
    if (props.nodeImage !== undefined) throw new Error(`nodeImage applies to an entry only: the image of service ${props.serviceName} brings its own base`);
    return { image: props.image };
  }
  throw new Error(`exactly one of entry and image must be given for service ${props.serviceName}, got ${props.entry === undefined ? 'neither' : 'both'}`);
}

function validateEntry(entry: string): void {
  if (!(fs.existsSync(entry) && fs.statSync(entry).isFile()))
    throw new Error(`entry must be an existing file (a service's server.ts), got ${JSON.stringify(entry)}`);
}
