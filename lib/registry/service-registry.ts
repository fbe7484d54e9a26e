import { Stack, Token, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import { Construct } from 'constructs';

/** The namespace name of a registry that makes its own namespace in a stack whose name is a token. */
export const DEFAULT_NAMESPACE_NAME = 'gatehouse.local';

/**
 * The default namespace of a stack: its name as a DNS label, under `.local` (`Gatehouse` gives
 * `gatehouse.local`, `GatehouseStaging` gives `gatehousestaging.local`). Stack names are unique in an
 * account and region, and so are these: a second copy of the stack (staging next to dev) gets a
 * namespace of its own. Cloud Map gives a namespace whose name is already taken a suffixed HTTP name,
 * and DiscoverInstances, which finds a namespace by HTTP name, would find the first copy's instead.
 */
export function defaultNamespaceName(stackName: string): string {
  if (Token.isUnresolved(stackName)) return DEFAULT_NAMESPACE_NAME;
  const label = stackName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return `${label.length > 0 ? label : 'gatehouse'}.local`;
}

/**
 * A service registry a Microservice can register in and be discovered through: the ServiceRegistry
 * construct, or a team's own wrapper around a Cloud Map private DNS namespace it already runs
 * (its grant can be {@link grantDiscoverInstances} on its namespace's name).
 */
export interface IServiceRegistry {
  /** The namespace ECS registers the services' tasks in. */
  readonly namespace: servicediscovery.IPrivateDnsNamespace;
  /** Its name: what `DiscoverInstances` takes as `NamespaceName`, and what callers are told to look in. */
  readonly namespaceName: string;
  /** Lets `grantee` call `servicediscovery:DiscoverInstances` in this namespace, for one service of it when `serviceName` is given. */
  grantDiscoverInstances(grantee: iam.IGrantable, serviceName?: string): iam.Grant;
}

/** Props of {@link ServiceRegistry}: either a VPC to make a namespace in, or a namespace you have. */
export interface ServiceRegistryProps {
  /**
   * The VPC whose DNS resolves the new namespace's names. Required unless `namespace` is given.
   * @default - none: `namespace` must be given
   */
  readonly vpc?: ec2.IVpc;
  /**
   * The DNS name of the new namespace, such as `gatehouse.local`. Only for a namespace this construct
   * makes. Unique in the account and region: a reused name gets a suffixed HTTP name in Cloud Map, and
   * DiscoverInstances, which takes the name, would find the other namespace.
   * @default - defaultNamespaceName(the stack's name): `{stack name}.local`
   */
  readonly namespaceName?: string;
  /**
   * The description of the new namespace.
   * @default - 'Gatehouse service registry'
   */
  readonly description?: string;
  /**
   * An existing private DNS namespace to use instead of making one, such as one from
   * `PrivateDnsNamespace.fromPrivateDnsNamespaceAttributes`.
   * @default - a new namespace in `vpc`
   */
  readonly namespace?: servicediscovery.IPrivateDnsNamespace;
}

/**
 * The service registry of the pattern (Eureka's place): a Cloud Map private DNS namespace, made in a
 * VPC or brought along. ECS registers each Microservice's tasks in it, and callers discover them with
 * `DiscoverInstances`, which `grantDiscoverInstances` allows.
 */
export class ServiceRegistry extends Construct implements IServiceRegistry {
  /** The namespace the services register in. */
  public readonly namespace: servicediscovery.IPrivateDnsNamespace;
  /** Its name: what `DiscoverInstances` takes as `NamespaceName`. */
  public readonly namespaceName: string;

  constructor(scope: Construct, id: string, props: ServiceRegistryProps) {
    super(scope, id);
    if (props.namespace !== undefined) {
      for (const name of ['vpc', 'namespaceName', 'description'] as const) {
        if (props[name] !== undefined) throw new Error(`${name} applies only to a namespace this registry makes; leave it out when namespace is given`);
      }
      this.namespace = props.namespace;
    } else {
      if (props.vpc === undefined) throw new Error('vpc is required to make a namespace; or pass an existing one as namespace');
      const namespaceName = props.namespaceName ?? defaultNamespaceName(Stack.of(this).stackName);
      validateNamespaceName(namespaceName);
      this.namespace = new servicediscovery.PrivateDnsNamespace(this, 'Resource', {
        name: namespaceName,
        vpc: props.vpc,
        description: props.description ?? 'Gatehouse service registry',
      });
    }
    this.namespaceName = this.namespace.namespaceName;
  }

  /**
   * Lets `grantee` call `servicediscovery:DiscoverInstances` in this namespace, and for one service
   * of it when `serviceName` is given (see {@link grantDiscoverInstances}).
   */
  grantDiscoverInstances(grantee: iam.IGrantable, serviceName?: string): iam.Grant {
    return grantDiscoverInstances(grantee, this.namespaceName, serviceName);
  }
}

/**
 * Lets `grantee` call `servicediscovery:DiscoverInstances` in the namespace named `namespaceName`,
 * and for one service of it when `serviceName` is given: the grant of any {@link IServiceRegistry}.
 *
 * DiscoverInstances has no resource type in the Service Authorization Reference (its Resource must
 * be `*`); it has the condition keys `servicediscovery:NamespaceName` and `servicediscovery:ServiceName`,
 * which scope the statement instead.
 */
export function grantDiscoverInstances(grantee: iam.IGrantable, namespaceName: string, serviceName?: string): iam.Grant {
  const grant = iam.Grant.addToPrincipal({
    grantee,
    actions: ['servicediscovery:DiscoverInstances'],
    resourceArns: ['*'],
    conditions: {
      StringEquals: {
        'servicediscovery:NamespaceName': namespaceName,
        ...(serviceName !== undefined && { 'servicediscovery:ServiceName': serviceName }),
      },
    },
  });
  // cdk-nag reads `*` as a wildcard that an ARN could replace; here no ARN can, and the condition scopes it.
  const principal = grantee.grantPrincipal;
  if (grant.success && Construct.isConstruct(principal)) {
    const scope = Token.isUnresolved(namespaceName) ? 'this registry' : `the ${namespaceName} namespace`;
    Validations.of(principal).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `servicediscovery:DiscoverInstances supports no resource-level permissions (Resource must be *); a servicediscovery:NamespaceName condition limits it to ${scope}`,
    });
  }
  return grant;
}

/** Lower-case DNS labels joined by dots: what a private hosted zone and the services' DNS names need. */
function validateNamespaceName(name: string): void {
  if (Token.isUnresolved(name)) return;
  const label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
  const labels = name.split('.');
  if (name.length > 253 || labels.length < 2 || !labels.every((part) => label.test(part))) {
    throw new Error(
      `namespaceName must be a DNS name of two or more lower-case labels (letters, digits, inner hyphens) such as "gatehouse.local", got ${JSON.stringify(name)}`,
    );
  }
}
