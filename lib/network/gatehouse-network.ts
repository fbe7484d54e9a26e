import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/** Props of {@link GatehouseNetwork}. */
export interface GatehouseNetworkProps {
  /**
   * A VPC of your own, with private subnets with egress in at least two AZs.
   * @default - a new VPC: two AZs, public and private subnets, flow logs
   */
  readonly vpc?: ec2.IVpc;
  /**
   * NAT gateways of a new VPC: 1 saves about $33 a month per gateway, 2 keeps egress up when an AZ is down.
   * @default - 1
   */
  readonly natGateways?: number;
  /**
   * How long a new VPC's flow logs are kept.
   * @default - logs.RetentionDays.ONE_MONTH
   */
  readonly flowLogRetention?: logs.RetentionDays;
}

/**
 * Keeps a security group's only inline egress rule the one that matches no traffic (CDK's own
 * placeholder). CDK drops that placeholder as soon as a rule to another group is added, as a separate
 * SecurityGroupEgress resource, and a group whose SecurityGroupEgress is absent gets EC2's default
 * allow-all egress rule: the separate rules would then add nothing to an open group.
 */
export function withoutDefaultEgress(securityGroup: ec2.SecurityGroup): ec2.SecurityGroup {
  (securityGroup.node.defaultChild as ec2.CfnSecurityGroup).addPropertyOverride('SecurityGroupEgress', [
    { CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic', IpProtocol: 'icmp', FromPort: 252, ToPort: 86 },
  ]);
  return securityGroup;
}

/** The port of the services' listener on the internal ALB: the one port the VPC link reaches. */
export const SERVICES_LISTENER_PORT = 80;

/**
 * Where the services run: the VPC (made, or yours) and the internal Application Load Balancer that
 * the API's VPC link (v2) reaches them through: one HTTP listener, on which each service adds a rule
 * of its own (see Microservice). A request that no rule matches gets a JSON 404 from the ALB itself.
 */
export class GatehouseNetwork extends Construct {
  /** The VPC. */
  public readonly vpc: ec2.IVpc;
  /** The internal ALB in front of the services. */
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** The ALB's one listener (HTTP, SERVICES_LISTENER_PORT); services add their rules to it. */
  public readonly listener: elbv2.ApplicationListener;
  /** The ALB's security group: in from the VPC link only, out to the services' tasks only. */
  public readonly loadBalancerSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: GatehouseNetworkProps = {}) {
    super(scope, id);
    const natGateways = props.natGateways ?? 1;
    if (props.vpc !== undefined && props.natGateways !== undefined) throw new Error('natGateways applies to a new VPC only; yours keeps its own');
    if (!(Number.isInteger(natGateways) && natGateways >= 1 && natGateways <= 2)) {
      throw new Error(`natGateways must be 1 or 2 (the tasks pull images and call Cloud Map through it), got ${natGateways}`);
    }

    if (props.vpc !== undefined) {
      if (props.vpc.privateSubnets.length < 2) {
        throw new Error(`vpc must have private subnets with egress in at least two AZs for the tasks and the ALB, got ${props.vpc.privateSubnets.length}`);
      }
      this.vpc = props.vpc;
    } else {
      const flowLogs = new logs.LogGroup(this, 'FlowLogs', { retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH });
      this.vpc = new ec2.Vpc(this, 'Vpc', {
        maxAzs: 2,
        natGateways,
        subnetConfiguration: [
          { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
          { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        ],
        // DynamoDB and S3 (image layers) without the NAT's per-GB charge.
        gatewayEndpoints: { DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB }, S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
        flowLogs: { all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: ec2.FlowLogTrafficType.ALL } },
      });
    }

    // No egress of its own: each service's allowFrom adds the one rule to its tasks' port.
    this.loadBalancerSecurityGroup = withoutDefaultEgress(
      new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
        vpc: this.vpc,
        description: 'Gatehouse internal ALB: in from the API VPC link on the listener port; out to the service tasks only',
        allowAllOutbound: false,
      }),
    );
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: this.vpc,
      internetFacing: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroup: this.loadBalancerSecurityGroup,
      dropInvalidHeaderFields: true,
    });
    this.listener = this.loadBalancer.addListener('Listener', {
      port: SERVICES_LISTENER_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      // The VPC link's security group is admitted by the gateway, not the world.
      open: false,
      defaultAction: elbv2.ListenerAction.fixedResponse(404, {
        contentType: 'application/json',
        messageBody: '{"error":{"code":"NOT_FOUND","message":"no service serves this request"}}',
      }),
    });
    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason:
        'Internal ALB reached only through the API VPC link; the API access log records every request with its id, and ALB access logs would need a bucket of their own',
    });
  }
}
