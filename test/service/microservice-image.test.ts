/**
 * Microservice with an image the team already has (`image`), the alternative to an esbuild `entry`:
 * what the task runs, what is left out because the image need not be Node.js, what the execution
 * role may pull, and the synth errors for neither, both, or a base image with an image.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { ServiceRegistry } from '../../lib/registry/service-registry';
import { SERVICE_ENV } from '../../lib/runtime-env';
import { Microservice } from '../../lib/service/microservice';
import type { MicroserviceProps } from '../../lib/service/microservice';
import { SERVICE_ENTRIES } from '../../lib/gatehouse-services';
import { awsSolutionsFindings, projectApp } from '../support/cdk';

const ENV = { account: '123456789012', region: 'eu-west-1' };
const BILLING_IMAGE = 'public.ecr.aws/example/billing:1.4.2';

/** A stack with a VPC, cluster, registry and internal ALB listener, and one service built from `props` (or what they make in the stack). */
function build(props: Partial<MicroserviceProps> | ((stack: Stack) => Partial<MicroserviceProps>), outdir?: string) {
  const app = projectApp({ bundle: false, ...(outdir !== undefined && { outdir }) });
  const stack = new Stack(app, 'Stack', { env: ENV });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
  const loadBalancer = new elbv2.ApplicationLoadBalancer(stack, 'Alb', { vpc, internetFacing: false });
  const listener = loadBalancer.addListener('Listener', { port: 80, open: false, defaultAction: elbv2.ListenerAction.fixedResponse(404) });
  const registry = new ServiceRegistry(stack, 'Registry', { vpc });
  const service = new Microservice(stack, 'Billing', {
    serviceName: 'billing',
    cluster,
    registry,
    listener,
    listenerPriority: 30,
    ...(typeof props === 'function' ? props(stack) : props),
  });
  return { app, stack, service };
}

describe('a service from a registry image', () => {
  const { stack, service } = build({ image: ecs.ContainerImage.fromRegistry(BILLING_IMAGE), containerPort: 9000 });
  const template = Template.fromStack(stack);

  it('runs that image on ARM64 Fargate, given its PORT, with a read-only root filesystem', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      ContainerDefinitions: [
        Match.objectLike({
          Name: 'billing',
          Image: BILLING_IMAGE,
          ReadonlyRootFilesystem: true,
          PortMappings: [{ ContainerPort: 9000, Protocol: 'tcp' }],
          Environment: Match.arrayWith([{ Name: SERVICE_ENV.port, Value: '9000' }]),
        }),
      ],
    });
    expect(service.imageAsset).toBeUndefined();
  });

  it('gives the container no health check of its own, since the image need not have node; the ALB checks /health', () => {
    const [taskDefinition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    expect(taskDefinition.Properties.ContainerDefinitions[0].HealthCheck).toBeUndefined();
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { TargetType: 'ip', Port: 9000, HealthCheckPath: '/health' });
  });

  it('stays registered in Cloud Map and behind its rule on the listener', () => {
    template.hasResourceProperties('AWS::ServiceDiscovery::Service', { Name: 'billing' });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 30,
      Conditions: Match.arrayWith([
        Match.objectLike({ Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'x-gatehouse-service', Values: ['billing'] } }),
      ]),
    });
  });

  it('builds no image: the assembly has no Docker image asset, so synth and deploy need no Docker', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-image-'));
    try {
      const { app } = build({ image: ecs.ContainerImage.fromRegistry(BILLING_IMAGE) }, outdir);
      app.synth();
      const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'Stack.assets.json'), 'utf8')) as { dockerImages?: Record<string, unknown> };
      expect(manifest.dockerImages ?? {}).toEqual({});
      expect(fs.readdirSync(outdir).filter((name) => name.startsWith('service-image'))).toEqual([]);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('a service from an ECR repository', () => {
  it('lets the execution role pull from that repository by its ARN', () => {
    const { stack } = build((scope) => ({
      image: ecs.ContainerImage.fromEcrRepository(ecr.Repository.fromRepositoryName(scope, 'Repo', 'team/billing'), '1.4.2'),
    }));
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^BillingExecutionRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']),
            Resource: 'arn:aws:ecr:eu-west-1:123456789012:repository/team/billing',
          }),
        ]),
      },
    });
  });
});

describe('validation at synth', () => {
  it.each<[string, Partial<MicroserviceProps>, RegExp]>([
    ['neither entry nor image', {}, /exactly one of entry and image must be given for service billing, got neither/],
    [
      'both entry and image',
      { entry: SERVICE_ENTRIES.product, image: ecs.ContainerImage.fromRegistry(BILLING_IMAGE) },
      /exactly one of entry and image must be given for service billing, got both/,
    ],
    [
      'a base image with an image',
      { image: ecs.ContainerImage.fromRegistry(BILLING_IMAGE), nodeImage: 'node:24' },
      /nodeImage applies to an entry only: the image of service billing brings its own base/,
    ],
  ])('rejects %s', (_name, props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing in a service from an image', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-image-nag-'));
    try {
      const { app } = build({ image: ecs.ContainerImage.fromRegistry(BILLING_IMAGE) }, outdir);
      const findings = awsSolutionsFindings(app, outdir);
      // The bare test VPC and ALB have findings of their own (flow logs, access logs); only the service's matter here.
      expect(findings.filter((finding) => / Stack\/(Billing|Registry)\//.test(finding))).toEqual([]);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});
