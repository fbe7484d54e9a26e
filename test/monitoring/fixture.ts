/** A stack with one of each thing GatewayMonitoring watches, built from plain aws-cdk-lib constructs. */
import { Stack } from 'aws-cdk-lib';
import type { App } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { GatewayMonitoringProps } from '../../lib/monitoring/gateway-monitoring';

/** The fixture's stack and the props that point GatewayMonitoring at all of it. */
export function monitoredFixture(app: App): { stack: Stack; props: GatewayMonitoringProps } {
  const stack = new Stack(app, 'Fixture', { env: { account: '123456789012', region: 'eu-west-1' } });
  const api = new apigateway.RestApi(stack, 'Api', { deployOptions: { stageName: 'v1' } });
  api.root.addMethod('GET');
  const basic = api.addApiKey('BasicKey');
  const pro = api.addApiKey('ProKey');
  const accessLogs = new logs.LogGroup(stack, 'AccessLogs');
  const authorizerLogs = new logs.LogGroup(stack, 'AuthorizerLogs');
  const authorizer = new lambda.Function(stack, 'Authorizer', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = 1'),
  });
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
  const alb = new elbv2.ApplicationLoadBalancer(stack, 'Alb', { vpc });
  const listener = alb.addListener('Listener', { port: 80, defaultAction: elbv2.ListenerAction.fixedResponse(404) });
  const service = (name: string, priority: number) => {
    const taskDefinition = new ecs.FargateTaskDefinition(stack, `${name}Task`);
    taskDefinition.addContainer('app', {
      image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/node:24-alpine'),
      portMappings: [{ containerPort: 3000 }],
    });
    const fargate = new ecs.FargateService(stack, `${name}Service`, { cluster, taskDefinition, minHealthyPercent: 100, circuitBreaker: { rollback: true } });
    const targetGroup = listener.addTargets(`${name}Targets`, {
      port: 3000,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [fargate],
      priority,
      conditions: [elbv2.ListenerCondition.httpHeader('x-gatehouse-service', [name])],
    });
    return { fargate, targetGroup, logGroup: new logs.LogGroup(stack, `${name}Logs`) };
  };
  const product = service('product', 10);
  const order = service('order', 20);
  const table = (id: string) => new dynamodb.TableV2(stack, id, { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
  return {
    stack,
    props: {
      api,
      accessLogs,
      apiKeys: { basic, pro },
      authorizerFunction: authorizer,
      authorizerLogGroup: authorizerLogs,
      services: [
        { name: 'product', service: product.fargate, targetGroup: product.targetGroup, logGroup: product.logGroup },
        { name: 'order', service: order.fargate, targetGroup: order.targetGroup, logGroup: order.logGroup },
      ],
      tables: [
        { name: 'products', table: table('Products') },
        { name: 'orders', table: table('Orders') },
      ],
    },
  };
}
