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
 * Where the services run: the VPC (made, or yours) and the internal NLB that the API's VPC link
 * reaches them through, each service on a listener of its own.
 */
export class GatehouseNetwork extends Construct {
  /** The VPC. */
  public readonly vpc: ec2.IVpc;
  /** The internal NLB in front of the services. */
  public readonly loadBalancer: elbv2.NetworkLoadBalancer;

  constructor(scope: Construct, id: string, props: GatehouseNetworkProps = {}) {
    super(scope, id);
    const natGateways = props.natGateways ?? 1;
    if (props.vpc !== undefined && props.natGateways !== undefined) throw new Error('natGateways applies to a new VPC only; yours keeps its own');
    if (!(Number.isInteger(natGateways) && natGateways >= 1 && natGateways <= 2)) {
      throw new Error(`natGateways must be 1 or 2 (the tasks pull images and call Cloud Map through it), got ${natGateways}`);
    }

    if (props.vpc !== undefined) {
      if (props.vpc.privateSubnets.length < 2) {
        throw new Error(`vpc must have private subnets with egress in at least two AZs for the tasks and the NLB, got ${props.vpc.privateSubnets.length}`);
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

    this.loadBalancer = new elbv2.NetworkLoadBalancer(this, 'LoadBalancer', {
      vpc: this.vpc,
      internetFacing: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      crossZoneEnabled: true,
      // API Gateway's VPC link reaches the NLB over PrivateLink; with this off, its security group
      // (which admits nothing else) does not filter that traffic, and nothing else gets in.
      enforceSecurityGroupInboundRulesOnPrivateLinkTraffic: false,
    });
    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason: 'NLB access logs record TLS listeners only; these are TCP listeners inside the VPC, and the API access log records every request',
    });
  }
}
