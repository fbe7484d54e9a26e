/**
 * Policies against the route spec: for every route and every set of Gatehouse's scopes, the policy
 * returned for a request to that route allows exactly the routes the scopes permit, so API Gateway's
 * result cache, which reuses one answer for every route, can never widen or narrow access.
 */
import { createAuthorizerHandler } from '../../lambda/authorizer/handler';
import type { ScopeTable } from '../../lib/auth/authorizer-contract';
import { apiStageArn, PolicyBuilder } from '../../lambda/authorizer/policy';
import { GATEHOUSE_ROUTES, SCOPES } from '../../lib/routes/gatehouse-routes';
import { isRoutePermitted, routeKey } from '../../lib/routes/route-spec';
import { API_STAGE_ARN, MemoryLogger, methodArnFor, policyAllows, requestEvent, testConfig } from '../support/authorizer';
import { TestIssuer } from '../support/test-issuer';

const ALL_SCOPES = Object.values(SCOPES);
const SCOPE_SETS: string[][] = Array.from({ length: 2 ** ALL_SCOPES.length }, (_, mask) => ALL_SCOPES.filter((_scope, bit) => mask & (1 << bit)));

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await TestIssuer.start();
});
afterAll(async () => {
  await issuer.close();
});

describe.each(SCOPE_SETS.map((scopes) => [scopes.join(' ') || '(no scopes)', scopes] as const))('a token with %s', (_name, scopes) => {
  it('gets, on every route it asks for, a policy that allows exactly the routes its scopes permit, first and cached', async () => {
    const handler = createAuthorizerHandler(testConfig([issuer]), { logger: new MemoryLogger() });
    const token = await issuer.sign({ scope: scopes.join(' ') });
    const held = new Set(scopes);
    for (const requested of GATEHOUSE_ROUTES) {
      for (const attempt of ['first', 'cached']) {
        const { policyDocument } = await handler(requestEvent(`Bearer ${token}`, { methodArn: methodArnFor(requested) }));
        for (const route of GATEHOUSE_ROUTES) {
          const allowed = policyAllows(policyDocument, methodArnFor(route));
          expect({ requested: routeKey(requested), attempt, route: routeKey(route), allowed }).toEqual({
            requested: routeKey(requested),
            attempt,
            route: routeKey(route),
            allowed: isRoutePermitted(route, held),
          });
        }
      }
    }
  });
});

describe('PolicyBuilder', () => {
  const table: ScopeTable = { any: ['GET/health'], byScope: { a: ['GET/a', 'GET/a/*'], b: ['POST/b'] } };

  it('adds the routes open to any valid token to every policy', () => {
    expect(new PolicyBuilder(table).resourcesFor([])).toEqual(['GET/health']);
    expect(new PolicyBuilder(table).resourcesFor(['b', 'unknown'])).toEqual(['GET/health', 'POST/b']);
  });

  it('ignores scopes named like Object.prototype members', () => {
    const builder = new PolicyBuilder({ any: [], byScope: { a: ['GET/a'] } });
    expect(builder.resourcesFor(['constructor', '__proto__', 'toString', 'hasOwnProperty'])).toEqual([]);
    expect(builder.build(`${API_STAGE_ARN}/GET/a`, ['constructor']).Statement[0].Effect).toBe('Deny');
  });

  it('answers the same resources whatever the order of the scopes', () => {
    const builder = new PolicyBuilder(table);
    expect(builder.resourcesFor(['b', 'a'])).toEqual(builder.resourcesFor(['a', 'b']));
    expect(builder.resourcesFor(['a', 'b'])).toEqual(['GET/a', 'GET/a/*', 'GET/health', 'POST/b']);
  });

  it('shares one frozen document per stage and scopes, so no caller can change the policy of the next token', () => {
    const builder = new PolicyBuilder(table);
    const first = builder.build(`${API_STAGE_ARN}/GET/a`, ['a']);

    expect(builder.build(`${API_STAGE_ARN}/POST/b`, ['a'])).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.Statement) && Object.isFrozen(first.Statement[0])).toBe(true);
    expect(() => (first.Statement[0] as { Resource: string[] }).Resource.push('*')).toThrow(TypeError);

    const otherStage = builder.build('arn:aws:execute-api:eu-west-1:123456789012:abc123defg/test/GET/a', ['a']);
    expect(otherStage.Statement[0]).toMatchObject({ Resource: expect.arrayContaining(['arn:aws:execute-api:eu-west-1:123456789012:abc123defg/test/GET/a']) });
    expect(builder.build(`${API_STAGE_ARN}/GET/a`, ['a', 'b'])).not.toBe(first);
  });

  it.each([
    ['arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/orders', 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod'],
    ['arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/v1/POST/', 'arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/v1'],
  ])('takes the API and stage from %s', (methodArn, expected) => {
    expect(apiStageArn(methodArn)).toBe(expected);
  });

  it.each(['', 'arn:aws:s3:::bucket', 'arn:aws:execute-api:eu-west-1:123456789012:abc123', 'arn:aws:execute-api:eu-west-1:123:abc/prod/GET/x'])(
    'refuses the method ARN %j',
    (methodArn) => {
      expect(() => apiStageArn(methodArn)).toThrow(/methodArn is not an execute-api method ARN/);
    },
  );
});
