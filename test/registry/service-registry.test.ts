/** ServiceRegistry: the namespace it makes or takes, and the DiscoverInstances grant scoped by condition. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Aws, Stack } from 'aws-cdk-lib';
import type { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import { DEFAULT_NAMESPACE_NAME, defaultNamespaceName, ServiceRegistry } from '../../lib/registry/service-registry';
import type { ServiceRegistryProps } from '../../lib/registry/service-registry';
import { acknowledgements, awsSolutionsFindings, projectApp } from '../support/cdk';

const ENV = { account: '123456789012', region: 'eu-west-1' };

function build(props: (vpc: ec2.IVpc, stack: Stack) => ServiceRegistryProps = (vpc) => ({ vpc }), app: App = projectApp()) {
  const stack = new Stack(app, 'Stack', { env: ENV });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const registry = new ServiceRegistry(stack, 'Registry', props(vpc, stack));
  const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
  return { app, stack, vpc, registry, role };
}

function statementsOf(template: Template): unknown[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as { Properties: { PolicyDocument: { Statement: unknown[] } } }[];
  return policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement);
}

describe('a new namespace', () => {
  it("is a private DNS namespace named after the stack in the VPC by default, the registry's main resource", () => {
    const { stack, registry } = build();
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ServiceDiscovery::PrivateDnsNamespace', 1);
    template.hasResourceProperties('AWS::ServiceDiscovery::PrivateDnsNamespace', {
      Name: 'stack.local',
      Vpc: { Ref: Match.stringLikeRegexp('^Vpc') },
      Description: 'Gatehouse service registry',
    });
    expect(registry.namespaceName).toBe('stack.local');
    expect(registry.namespace).toBeInstanceOf(servicediscovery.PrivateDnsNamespace);
    expect(registry.node.defaultChild).toBe(registry.namespace);
    expect(stack.resolve(registry.namespace.namespaceId)).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Registry[0-9A-F]{8}$/), 'Id'] });
  });

  it('takes a name and a description', () => {
    const { stack, registry } = build((vpc) => ({ vpc, namespaceName: 'shop.internal', description: 'Shop services' }));
    Template.fromStack(stack).hasResourceProperties('AWS::ServiceDiscovery::PrivateDnsNamespace', { Name: 'shop.internal', Description: 'Shop services' });
    expect(registry.namespaceName).toBe('shop.internal');
  });

  it.each([
    ['Gatehouse', 'gatehouse.local'],
    ['GatehouseStaging', 'gatehousestaging.local'],
    ['team_a--Billing', 'team-a--billing.local'],
    ['-', 'gatehouse.local'],
  ])("is named after the stack %s: %s, so that a second copy of the stack never shares the first one's", (stackName, expected) => {
    expect(defaultNamespaceName(stackName)).toBe(expected);
  });

  it('is gatehouse.local in a stack whose name is not known at synth', () => {
    expect(defaultNamespaceName(Aws.STACK_NAME)).toBe(DEFAULT_NAMESPACE_NAME);
  });
});

describe('an existing namespace', () => {
  it('is used as it is: nothing is made, and its name is the one grants and services use', () => {
    const { stack, registry, role } = build((_vpc, scope) => ({
      namespace: servicediscovery.PrivateDnsNamespace.fromPrivateDnsNamespaceAttributes(scope, 'Existing', {
        namespaceName: 'corp.local',
        namespaceId: 'ns-0123456789abcdef',
        namespaceArn: 'arn:aws:servicediscovery:eu-west-1:123456789012:namespace/ns-0123456789abcdef',
      }),
    }));
    registry.grantDiscoverInstances(role);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ServiceDiscovery::PrivateDnsNamespace', 0);
    expect(registry.namespaceName).toBe('corp.local');
    expect(registry.namespace.namespaceId).toBe('ns-0123456789abcdef');
    expect(statementsOf(template)).toEqual([
      {
        Effect: 'Allow',
        Action: 'servicediscovery:DiscoverInstances',
        Resource: '*',
        Condition: { StringEquals: { 'servicediscovery:NamespaceName': 'corp.local' } },
      },
    ]);
  });
});

describe('grantDiscoverInstances', () => {
  it('allows DiscoverInstances on * only under a condition naming this namespace, and acknowledges the IAM5 finding on the grantee', () => {
    const { stack, registry, role } = build();
    const grant = registry.grantDiscoverInstances(role);
    expect(grant.success).toBe(true);
    expect(statementsOf(Template.fromStack(stack))).toEqual([
      {
        Effect: 'Allow',
        Action: 'servicediscovery:DiscoverInstances',
        Resource: '*',
        Condition: { StringEquals: { 'servicediscovery:NamespaceName': 'stack.local' } },
      },
    ]);
    expect(acknowledgements(role)).toEqual([
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        path: 'Stack/Role',
        reason: expect.stringMatching(
          /DiscoverInstances supports no resource-level permissions .*NamespaceName condition limits it to the stack.local namespace/,
        ),
      },
    ]);
  });

  it('narrows the grant to one service when given its name', () => {
    const { stack, registry, role } = build();
    registry.grantDiscoverInstances(role, 'product');
    expect(statementsOf(Template.fromStack(stack))).toEqual([
      expect.objectContaining({
        Resource: '*',
        Condition: { StringEquals: { 'servicediscovery:NamespaceName': 'stack.local', 'servicediscovery:ServiceName': 'product' } },
      }),
    ]);
  });

  it('leaves cdk-nag no finding on the registry or the grantee, where the same statement without it is flagged', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-registry-nag-'));
    try {
      const { app, stack, registry, role } = build(undefined, projectApp({ outdir }));
      registry.grantDiscoverInstances(role, 'product');
      const control = new iam.Role(stack, 'Control', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
      control.addToPolicy(
        new iam.PolicyStatement({
          actions: ['servicediscovery:DiscoverInstances'],
          resources: ['*'],
          conditions: { StringEquals: { 'servicediscovery:NamespaceName': registry.namespaceName } },
        }),
      );
      const findings = awsSolutionsFindings(app, outdir);
      // The bare test VPC has findings of its own (flow logs); only the registry and the grantees matter here.
      expect(findings.filter((finding) => / Stack\/(Registry|Role|Control)\//.test(finding))).toEqual([
        'AwsSolutions-IAM5[Resource::*] Stack/Control/DefaultPolicy/Resource',
      ]);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('validation at synth', () => {
  const existing = (scope: Stack) =>
    servicediscovery.PrivateDnsNamespace.fromPrivateDnsNamespaceAttributes(scope, 'Existing', {
      namespaceName: 'corp.local',
      namespaceId: 'ns-1',
      namespaceArn: 'arn:aws:servicediscovery:eu-west-1:123456789012:namespace/ns-1',
    });

  it.each<[string, (vpc: ec2.IVpc, stack: Stack) => ServiceRegistryProps, RegExp]>([
    ['neither a VPC nor a namespace', () => ({}), /vpc is required to make a namespace; or pass an existing one as namespace/],
    ['a namespace and a VPC', (vpc, stack) => ({ vpc, namespace: existing(stack) }), /vpc applies only to a namespace this registry makes/],
    [
      'a namespace and a name',
      (_vpc, stack) => ({ namespaceName: 'other.local', namespace: existing(stack) }),
      /namespaceName applies only to a namespace this registry makes/,
    ],
    [
      'a namespace and a description',
      (_vpc, stack) => ({ description: 'x', namespace: existing(stack) }),
      /description applies only to a namespace this registry makes/,
    ],
    [
      'upper-case letters',
      (vpc) => ({ vpc, namespaceName: 'Gatehouse.local' }),
      /namespaceName must be a DNS name of two or more lower-case labels .* got "Gatehouse.local"/,
    ],
    ['a single label', (vpc) => ({ vpc, namespaceName: 'local' }), /namespaceName must be a DNS name of two or more lower-case labels .* got "local"/],
    ['an empty label', (vpc) => ({ vpc, namespaceName: 'a..local' }), /namespaceName must be a DNS name .* got "a..local"/],
    ['a leading hyphen', (vpc) => ({ vpc, namespaceName: '-shop.local' }), /namespaceName must be a DNS name .* got "-shop.local"/],
  ])('%s', (_name, props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});
