import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { JwtAuthorizer } from './auth/jwt-authorizer';
import type { GatehouseConfig } from './config';
import { GATEHOUSE_ROUTES } from './routes/gatehouse-routes';

/** Props of {@link GatewayStack}. */
export interface GatewayStackProps extends StackProps {
  /** The app's configuration (see `readGatehouseConfig`). */
  readonly config: GatehouseConfig;
}

/**
 * Gatehouse on AWS. This stage of the project deploys the REST API with every route of the route spec
 * behind the JWT authorizer; each route answers 501 until the services land behind it (see README).
 */
export class GatewayStack extends Stack {
  /** The JWT authorizer of every route. */
  public readonly jwtAuthorizer: JwtAuthorizer;
  /** The REST API. */
  public readonly api: apigateway.RestApi;

  constructor(scope: Construct, id: string, props: GatewayStackProps) {
    super(scope, id, props);
    const { config } = props;
    const settings = config.authorizer ?? {};

    this.jwtAuthorizer = new JwtAuthorizer(this, 'Authorizer', {
      issuers: config.issuers,
      routes: GATEHOUSE_ROUTES,
      ...(settings.resultsCacheTtlSeconds !== undefined && { resultsCacheTtl: Duration.seconds(settings.resultsCacheTtlSeconds) }),
      ...(settings.clockToleranceSeconds !== undefined && { clockTolerance: Duration.seconds(settings.clockToleranceSeconds) }),
      ...(settings.algorithms !== undefined && { algorithms: settings.algorithms }),
      ...(settings.tokenType !== undefined && { tokenType: settings.tokenType }),
      ...(settings.usageIdentifierClaim !== undefined && { usageIdentifierClaim: settings.usageIdentifierClaim }),
    });

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: logs.RetentionDays.ONE_MONTH });
    this.api = new apigateway.RestApi(this, 'Api', {
      description: 'Gatehouse: one HTTPS entry point for the product and order services',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      deployOptions: {
        stageName: config.stageName ?? 'v1',
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
        tracingEnabled: true,
        metricsEnabled: true,
      },
      defaultMethodOptions: { authorizer: this.jwtAuthorizer.authorizer },
    });

    const notYetServed = notImplementedIntegration();
    for (const route of GATEHOUSE_ROUTES) {
      this.api.root.resourceForPath(route.path).addMethod(route.method, notYetServed, { methodResponses: [{ statusCode: '501' }] });
    }

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'The base URL of the API' });
  }
}

/** Answers 501 with the JSON error body of the services, until a service is behind the route. */
function notImplementedIntegration(): apigateway.MockIntegration {
  const body = { error: { code: 'NOT_IMPLEMENTED', message: 'No service is deployed behind this route yet', requestId: '$context.requestId' } };
  return new apigateway.MockIntegration({
    passthroughBehavior: apigateway.PassthroughBehavior.NEVER,
    requestTemplates: { 'application/json': '{"statusCode": 501}' },
    integrationResponses: [{ statusCode: '501', responseTemplates: { 'application/json': JSON.stringify(body) } }],
  });
}
