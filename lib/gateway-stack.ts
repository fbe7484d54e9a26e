import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';
import { GatehouseUserPool } from './auth/gatehouse-user-pool';
import { JwtAuthorizer } from './auth/jwt-authorizer';
import type { GatehouseConfig } from './config';
import { gatewaySpecOf } from './config';
import { ServiceTables } from './data/service-tables';
import { ORDERS_BY_CUSTOMER_INDEX, ORDERS_TABLE, PRODUCTS_TABLE } from './data/tables';
import { gatewayPropsOf, MicroservicesGateway } from './gateway/microservices-gateway';
import { GatewayMonitoring } from './monitoring/gateway-monitoring';
import { LISTENER_PRIORITIES, SERVICE_ENTRIES } from './gatehouse-services';
import { GatehouseNetwork } from './network/gatehouse-network';
import { ServiceRegistry } from './registry/service-registry';
import { GATEHOUSE_ROUTES, SERVICES } from './routes/gatehouse-routes';
import { serviceBudgetMs } from './routes/gateway-spec';
import { SERVICE_ENV } from './runtime-env';
import { Microservice } from './service/microservice';

/** Props of {@link GatewayStack}. */
export interface GatewayStackProps extends StackProps {
  /** The app's configuration (see `readGatehouseConfig`). */
  readonly config: GatehouseConfig;
  /**
   * A VPC of your own (private subnets with egress in two AZs).
   * @default - a new VPC with two AZs, flow logs and `config.natGateways` NAT gateways
   */
  readonly vpc?: ec2.IVpc;
}

/**
 * Gatehouse on AWS: the VPC, the ECS cluster, the tables, the Cloud Map namespace, the product and
 * order services behind an internal ALB, the JWT authorizer and the REST API in front of it all.
 */
export class GatewayStack extends Stack {
  /** The REST API and everything in front of the services. */
  public readonly gateway: MicroservicesGateway;
  /** The JWT authorizer of every route. */
  public readonly jwtAuthorizer: JwtAuthorizer;
  /** The Cognito user pool the stack made, when the config named no issuers. */
  public readonly userPool?: GatehouseUserPool;
  /** The VPC and the ALB. */
  public readonly network: GatehouseNetwork;
  /** The Cloud Map namespace. */
  public readonly registry: ServiceRegistry;
  /** The ECS cluster. */
  public readonly cluster: ecs.Cluster;
  /** The services' tables. */
  public readonly tables: ServiceTables;
  /** The product service. */
  public readonly productService: Microservice;
  /** The order service. */
  public readonly orderService: Microservice;
  /** Alarms and the dashboard; undefined when `config.monitoring.enabled` is false. */
  public readonly monitoring?: GatewayMonitoring;

  constructor(scope: Construct, id: string, props: GatewayStackProps) {
    super(scope, id, props);
    const { config } = props;
    // The gateway's settings as the local gateway sees them too (lib/routes/gateway-spec.ts).
    const spec = gatewaySpecOf(config);
    const authorizerSettings = config.authorizer ?? {};
    const gatewaySettings = config.gateway ?? {};
    const serviceSettings = config.services ?? {};

    this.network = new GatehouseNetwork(this, 'Network', {
      ...(props.vpc !== undefined ? { vpc: props.vpc } : { natGateways: config.natGateways ?? 1 }),
    });
    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: this.network.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    this.registry = new ServiceRegistry(this, 'Registry', {
      vpc: this.network.vpc,
      ...(spec.namespace !== undefined && { namespaceName: spec.namespace }),
    });
    this.tables = new ServiceTables(this, 'Tables', { tables: [PRODUCTS_TABLE, ORDERS_TABLE] });

    const service = (id: string, name: keyof typeof LISTENER_PRIORITIES, environment: Record<string, string> = {}) =>
      new Microservice(this, id, {
        serviceName: name,
        environment,
        entry: SERVICE_ENTRIES[name],
        cluster: this.cluster,
        registry: this.registry,
        listener: this.network.listener,
        listenerPriority: LISTENER_PRIORITIES[name],
        ...(serviceSettings.desiredCount !== undefined && { desiredCount: serviceSettings.desiredCount, minCapacity: serviceSettings.desiredCount }),
        ...(serviceSettings.maxCapacity !== undefined && { maxCapacity: serviceSettings.maxCapacity }),
        ...(serviceSettings.cpu !== undefined && { cpu: serviceSettings.cpu }),
        ...(serviceSettings.memoryLimitMiB !== undefined && { memoryLimitMiB: serviceSettings.memoryLimitMiB }),
      });
    this.productService = service('ProductService', SERVICES.product);
    // The order service answers before the gateway gives up on it: its budget follows the integration timeout.
    this.orderService = service('OrderService', SERVICES.order, { [SERVICE_ENV.requestDeadlineMs]: String(serviceBudgetMs(spec.integrationTimeoutMs)) });
    this.productService.useTable(SERVICE_ENV.productsTable, this.tables.table(PRODUCTS_TABLE.id), 'readWrite');
    this.orderService.useTable(SERVICE_ENV.ordersTable, this.tables.table(ORDERS_TABLE.id), 'readWrite', { indexes: [ORDERS_BY_CUSTOMER_INDEX] });
    this.orderService.useServiceDiscovery(this.productService, { serviceNameEnvVar: SERVICE_ENV.productServiceName });

    // No issuers configured: the stack is its own identity provider, so a fresh deploy works as it is.
    const configuredIssuers = config.issuers ?? [];
    if (configuredIssuers.length === 0) {
      const cognitoSettings = config.cognito ?? {};
      this.userPool = new GatehouseUserPool(this, 'UserPool', {
        routes: GATEHOUSE_ROUTES,
        ...(cognitoSettings.resourceServerIdentifier !== undefined && { resourceServerIdentifier: cognitoSettings.resourceServerIdentifier }),
        ...(cognitoSettings.accessTokenValidityMinutes !== undefined && { accessTokenValidity: Duration.minutes(cognitoSettings.accessTokenValidityMinutes) }),
        ...(cognitoSettings.domainPrefix !== undefined && { domainPrefix: cognitoSettings.domainPrefix }),
      });
    } else if (config.cognito !== undefined) {
      throw new Error('cognito applies only when issuers is empty or absent: the stack makes a user pool only when it is given no issuer');
    }
    this.jwtAuthorizer = new JwtAuthorizer(this, 'Authorizer', {
      issuers: this.userPool !== undefined ? [this.userPool.issuer] : configuredIssuers,
      ...(authorizerSettings.userIds !== undefined && { userIds: authorizerSettings.userIds }),
      resultsCacheTtl: Duration.seconds(spec.authorizerCacheTtlSeconds),
      ...(authorizerSettings.clockToleranceSeconds !== undefined && { clockTolerance: Duration.seconds(authorizerSettings.clockToleranceSeconds) }),
      ...(authorizerSettings.algorithms !== undefined && { algorithms: authorizerSettings.algorithms }),
      ...(authorizerSettings.tokenType !== undefined && { tokenType: authorizerSettings.tokenType }),
      ...(authorizerSettings.usageIdentifierClaim !== undefined && { usageIdentifierClaim: authorizerSettings.usageIdentifierClaim }),
    });

    this.gateway = new MicroservicesGateway(this, 'Gateway', {
      authorizer: this.jwtAuthorizer,
      loadBalancer: this.network.loadBalancer,
      services: { [SERVICES.product]: this.productService, [SERVICES.order]: this.orderService },
      routes: GATEHOUSE_ROUTES,
      ...gatewayPropsOf(spec),
      ...(gatewaySettings.accountLoggingRole !== undefined && { accountLoggingRole: gatewaySettings.accountLoggingRole }),
      ...(gatewaySettings.waf !== undefined && { waf: gatewaySettings.waf === true ? {} : gatewaySettings.waf }),
      ...(gatewaySettings.domain !== undefined && {
        domain: {
          domainName: gatewaySettings.domain.domainName,
          certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', gatewaySettings.domain.certificateArn),
          ...(gatewaySettings.domain.basePath !== undefined && { basePath: gatewaySettings.domain.basePath }),
        },
      }),
    });

    if (config.monitoring?.enabled !== false) {
      this.monitoring = new GatewayMonitoring(this, 'Monitoring', {
        api: this.gateway.api,
        accessLogs: this.gateway.accessLogs,
        apiKeys: this.gateway.apiKeys,
        authorizerFunction: this.jwtAuthorizer.handler,
        authorizerLogGroup: this.jwtAuthorizer.logGroup,
        services: [this.productService, this.orderService].map((entry) => ({
          name: entry.serviceName,
          service: entry.service,
          targetGroup: entry.targetGroup,
          logGroup: entry.logGroup,
        })),
        tables: [PRODUCTS_TABLE, ORDERS_TABLE].map((definition) => ({ name: definition.id, table: this.tables.table(definition.id) })),
        ...GatewayMonitoring.optionsFromSettings(this, config.monitoring),
      });
      new CfnOutput(this, 'AlarmTopicArn', {
        value: this.monitoring.alarmTopic.topicArn,
        description: 'Where the alarms go: subscribe the on-call pager or mailbox to this SNS topic',
      });
    }

    new CfnOutput(this, 'ApiUrl', { value: this.gateway.api.url, description: 'The base URL of the API' });
    if (this.gateway.domainName !== undefined) {
      new CfnOutput(this, 'DomainTarget', {
        value: this.gateway.domainName.domainNameAliasDomainName,
        description: 'Point the custom domain (CNAME or alias) here',
      });
    }
    if (this.userPool !== undefined) {
      const pool = this.userPool;
      new CfnOutput(this, 'TokenEndpoint', {
        value: pool.tokenEndpoint,
        description: 'POST grant_type=client_credentials here, with the machine client id and secret, for an access token',
      });
      new CfnOutput(this, 'MachineClientId', {
        value: pool.machineClient.userPoolClientId,
        description: 'The machine client; its secret: aws cognito-idp describe-user-pool-client --user-pool-id <UserPoolId> --client-id <id>',
      });
      new CfnOutput(this, 'UserPoolId', { value: pool.userPool.userPoolId, description: 'The Cognito user pool that issues the API tokens' });
      new CfnOutput(this, 'Scopes', {
        value: pool.oauthScopes.join(' '),
        description: 'The scopes a client may ask for (the scope parameter of the token request)',
      });
    }
    new CfnOutput(this, 'Namespace', { value: this.registry.namespaceName, description: 'The Cloud Map namespace of the services' });
    for (const [tier, key] of Object.entries(this.gateway.apiKeys)) {
      new CfnOutput(this, `ApiKeyId${tier}`, {
        value: key.keyId,
        description: `API key id of the ${tier} tier: aws apigateway get-api-key --include-value --api-key <id>`,
      });
    }
    for (const [tier, plan] of Object.entries(this.gateway.usagePlans)) {
      new CfnOutput(this, `UsagePlanId${tier}`, { value: plan.usagePlanId, description: `Usage plan of the ${tier} tier` });
    }
  }
}
