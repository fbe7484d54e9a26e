/** Gatehouse's authorizer as Lambda loads it (lambda/authorizer/index.ts reads its config at init), then one request. */
import { handler } from '../../lambda/authorizer/index';
import { coldInputs, report } from './common';

const inputs = coldInputs();
report(
  handler({
    type: 'REQUEST',
    methodArn: 'arn:aws:execute-api:eu-west-1:123456789012:abc123defg/prod/GET/orders',
    resource: '/orders',
    path: '/orders',
    httpMethod: 'GET',
    headers: { Authorization: `Bearer ${inputs.token}` },
    multiValueHeaders: { Authorization: [`Bearer ${inputs.token}`] },
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: { requestId: 'cold-1' } as Parameters<typeof handler>[0]['requestContext'],
  }),
);
