/** Helpers for authorizer tests: API Gateway events, a test configuration, and IAM policy evaluation. */
import type { APIGatewayRequestAuthorizerEvent, PolicyDocument } from 'aws-lambda';
import type { AuthorizerConfig } from '../../lib/auth/authorizer-contract';
import { AUTHORIZER_DEFAULTS, buildScopeTable } from '../../lib/auth/authorizer-contract';
import type { LogFields, Logger } from '../../lambda/authorizer/logger';
import { GATEHOUSE_ROUTES } from '../../lib/routes/gatehouse-routes';
import { evaluatePolicy, parsePolicy } from '../../local/gateway/iam-policy';
import { fillRoutePath } from '../../lib/routes/route-path';
import type { RouteSpec } from '../../lib/routes/route-spec';
import type { TestIssuer } from './test-issuer';

/** The API and stage every test event belongs to. */
export const API_STAGE_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:abc123defg/prod';

/** The method ARN API Gateway sends for a request to `route` (path parameters filled in). */
export function methodArnFor(route: Pick<RouteSpec, 'method' | 'path'>, value = 'p-123'): string {
  return `${API_STAGE_ARN}/${route.method}${fillRoutePath(route.path, value)}`;
}

/** A REQUEST authorizer event as API Gateway sends it. */
export function requestEvent(
  authorization: string | undefined,
  options: { methodArn?: string; headers?: Record<string, string>; multiValueHeaders?: Record<string, string[]> } = {},
): APIGatewayRequestAuthorizerEvent {
  const headers = { ...(authorization !== undefined && { Authorization: authorization }), ...options.headers };
  return {
    type: 'REQUEST',
    methodArn: options.methodArn ?? methodArnFor({ method: 'GET', path: '/orders' }),
    resource: '/orders',
    path: '/orders',
    httpMethod: 'GET',
    headers,
    multiValueHeaders: options.multiValueHeaders ?? Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: { requestId: 'req-0001' } as APIGatewayRequestAuthorizerEvent['requestContext'],
  };
}

/** An authorizer configuration that trusts `issuers`, over Gatehouse's own routes. */
export function testConfig(issuers: readonly TestIssuer[], overrides: Partial<AuthorizerConfig> = {}): AuthorizerConfig {
  return {
    issuers: issuers.map((issuer) => ({ issuer: issuer.issuer, audience: [issuer.audience], jwksUri: issuer.jwksUri })),
    algorithms: AUTHORIZER_DEFAULTS.algorithms,
    clockToleranceSeconds: AUTHORIZER_DEFAULTS.clockToleranceSeconds,
    scopeTable: buildScopeTable(GATEHOUSE_ROUTES),
    jwks: { timeoutMs: 500, cooldownMs: 30_000, cacheMaxAgeMs: 600_000 },
    ...overrides,
  };
}

/** A logger that keeps its lines, to assert codes and that no secret was written. */
export class MemoryLogger implements Logger {
  readonly lines: LogFields[] = [];
  info = (fields: LogFields): void => void this.lines.push({ level: 'info', ...fields });
  warn = (fields: LogFields): void => void this.lines.push({ level: 'warn', ...fields });
  error = (fields: LogFields): void => void this.lines.push({ level: 'error', ...fields });

  get codes(): unknown[] {
    return this.lines.map((line) => line.code);
  }

  get text(): string {
    return this.lines.map((line) => JSON.stringify(line)).join('\n');
  }
}

/** IAM's evaluation of an execute-api policy for one ARN (the local gateway's evaluator): an explicit Deny wins, then any Allow. */
export function policyAllows(policy: PolicyDocument, arn: string): boolean {
  return evaluatePolicy(parsePolicy(policy), 'execute-api:Invoke', arn) === 'allow';
}
