/**
 * The REQUEST authorizer event API Gateway sends a Lambda authorizer, built from a local request, and
 * the method ARN its policy is checked against. Pure.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html
 */
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';

/** The region, account and API id of the local API's ARNs (shaped like real ones: the authorizer parses them). */
export const LOCAL_API = { region: 'local', accountId: '000000000000', apiId: 'local' } as const;

/** The identity source of the authorizer: API Gateway caches results per value of this header. */
export const IDENTITY_HEADER = 'authorization';

/** What API Gateway knows of a request when it calls the authorizer. */
export interface AuthorizerRequest {
  readonly requestId: string;
  readonly stageName: string;
  readonly method: string;
  /** The route's path with `{param}`s: API Gateway's `resource`. */
  readonly resourcePath: string;
  /** The path after the stage, as received: `/products/p-1`. */
  readonly path: string;
  readonly pathParameters: Readonly<Record<string, string>>;
  /** Header names and values, alternating, as Node's `rawHeaders` gives them. */
  readonly rawHeaders: readonly string[];
  /** The query string, without the `?`. */
  readonly query: string;
  readonly sourceIp: string;
  readonly receivedAtMs: number;
}

/** `arn:aws:execute-api:local:000000000000:local/{stage}/{METHOD}/{path}` for a concrete request path. */
export function methodArn(stageName: string, method: string, path: string): string {
  return `arn:aws:execute-api:${LOCAL_API.region}:${LOCAL_API.accountId}:${LOCAL_API.apiId}/${stageName}/${method}${path}`;
}

/** Every value of a header, whatever the case of its name, in the order received. */
export function headerValues(rawHeaders: readonly string[], name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    if (rawHeaders[index].toLowerCase() === wanted) values.push(rawHeaders[index + 1]);
  }
  return values;
}

/**
 * The request's identity: its Authorization value(s), or undefined when there is none or it is empty,
 * the case in which API Gateway answers 401 without calling a caching authorizer.
 */
export function identityOf(rawHeaders: readonly string[]): string | undefined {
  const values = headerValues(rawHeaders, IDENTITY_HEADER).filter((value) => value.trim().length > 0);
  // Header values cannot hold a line feed, so joining on one keeps distinct lists distinct.
  return values.length === 0 ? undefined : values.join('\n');
}

/** The event for `request`, headers as received (names in the client's case). */
export function authorizerEvent(request: AuthorizerRequest): APIGatewayRequestAuthorizerEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let index = 0; index + 1 < request.rawHeaders.length; index += 2) {
    const [name, value] = [request.rawHeaders[index], request.rawHeaders[index + 1]];
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const queryStringParameters: Record<string, string> = {};
  const multiValueQueryStringParameters: Record<string, string[]> = {};
  for (const [name, value] of new URLSearchParams(request.query)) {
    queryStringParameters[name] = value;
    (multiValueQueryStringParameters[name] ??= []).push(value);
  }
  const hasQuery = Object.keys(queryStringParameters).length > 0;
  const userAgent = headerValues(request.rawHeaders, 'user-agent');
  return {
    type: 'REQUEST',
    methodArn: methodArn(request.stageName, request.method, request.path),
    resource: request.resourcePath,
    path: request.path,
    httpMethod: request.method,
    headers,
    multiValueHeaders,
    pathParameters: Object.keys(request.pathParameters).length > 0 ? { ...request.pathParameters } : null,
    queryStringParameters: hasQuery ? queryStringParameters : null,
    multiValueQueryStringParameters: hasQuery ? multiValueQueryStringParameters : null,
    stageVariables: null,
    requestContext: {
      accountId: LOCAL_API.accountId,
      apiId: LOCAL_API.apiId,
      authorizer: undefined,
      protocol: 'HTTP/1.1',
      httpMethod: request.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: request.sourceIp,
        user: null,
        userAgent: userAgent.length > 0 ? userAgent[userAgent.length - 1] : null,
        userArn: null,
      },
      path: `/${request.stageName}${request.path}`,
      stage: request.stageName,
      requestId: request.requestId,
      requestTimeEpoch: request.receivedAtMs,
      resourceId: request.resourcePath,
      resourcePath: request.resourcePath,
    },
  };
}
