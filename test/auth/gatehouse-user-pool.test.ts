/** GatehouseUserPool on its own: its overrides, the issuer it hands the authorizer, and each validation error. */
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { GatehouseUserPool } from '../../lib/auth/gatehouse-user-pool';
import type { GatehouseUserPoolProps } from '../../lib/auth/gatehouse-user-pool';
import { JwtAuthorizer } from '../../lib/auth/jwt-authorizer';
import type { RouteSpec } from '../../lib/routes/route-spec';
import { projectApp } from '../support/cdk';

const ROUTES: RouteSpec[] = [
  { method: 'GET', path: '/invoices', service: 'billing', scopes: ['invoices:read'] },
  { method: 'POST', path: '/invoices', service: 'billing', scopes: ['invoices:write', 'invoices:read'] },
  { method: 'GET', path: '/health', service: 'billing', scopes: [] },
];

function build(props: Partial<GatehouseUserPoolProps> = {}) {
  const stack = new Stack(projectApp({ bundle: false }), 'Stack', { env: { account: '123456789012', region: 'eu-central-1' } });
  return { stack, pool: new GatehouseUserPool(stack, 'Pool', { routes: ROUTES, ...props }) };
}

it('takes its scopes from the routes, and a resource server identifier, token lifetime and domain prefix of your choosing', () => {
  const { stack, pool } = build({
    resourceServerIdentifier: 'https://billing.example.com',
    accessTokenValidity: Duration.minutes(15),
    domainPrefix: 'billing-auth',
  });
  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::Cognito::UserPoolResourceServer', {
    Identifier: 'https://billing.example.com',
    Scopes: [
      { ScopeName: 'invoices:read', ScopeDescription: 'Gatehouse routes that need invoices:read' },
      { ScopeName: 'invoices:write', ScopeDescription: 'Gatehouse routes that need invoices:write' },
    ],
  });
  template.hasResourceProperties('AWS::Cognito::UserPoolClient', { AccessTokenValidity: 15 });
  template.hasResourceProperties('AWS::Cognito::UserPoolDomain', { Domain: 'billing-auth' });
  expect(pool.oauthScopes).toEqual(['https://billing.example.com/invoices:read', 'https://billing.example.com/invoices:write']);
  expect(pool.issuer).toMatchObject({ scopePrefix: 'https://billing.example.com/', clientIds: [pool.machineClient.userPoolClientId] });
});

it('is an issuer the JwtAuthorizer takes as it is', () => {
  const { stack, pool } = build();
  const authorizer = new JwtAuthorizer(stack, 'Jwt', { issuers: [pool.issuer], routes: ROUTES });
  // The issuer and client id are tokens until deploy: the config the function gets names them as such.
  expect(authorizer.config.issuers).toEqual([
    { issuer: pool.issuer.issuer, clientIds: pool.issuer.clientIds, scopePrefix: 'gatehouse/', jwksUri: `${pool.issuer.issuer}/.well-known/jwks.json` },
  ]);
});

it.each<[string, Partial<GatehouseUserPoolProps>, RegExp]>([
  [
    'routes without scopes',
    { routes: [ROUTES[2]] },
    /routes must name at least one scope: a client-credentials client can only be given a resource server scope/,
  ],
  ['a scope with a slash', { routes: [{ ...ROUTES[0], scopes: ['invoices/read'] }] }, /scope "invoices\/read" is not a Cognito scope name/],
  ['an identifier with a space', { resourceServerIdentifier: 'my api' }, /resourceServerIdentifier must be 1 to 256 printable ASCII characters without space/],
  [
    'a four-minute token',
    { accessTokenValidity: Duration.minutes(4) },
    /accessTokenValidity must be from 5 minutes to 1 day \(Cognito's bounds\), got 4 minutes/,
  ],
  [
    'a domain prefix with "cognito" in it',
    { domainPrefix: 'my-cognito' },
    /domainPrefix must be 1 to 63 lower-case letters, digits and inner hyphens, without "aws", "amazon" or "cognito", got "my-cognito"/,
  ],
  ['a domain prefix in capitals', { domainPrefix: 'Billing' }, /domainPrefix must be 1 to 63 lower-case letters/],
])('refuses %s', (_name, props, message) => {
  expect(() => build(props)).toThrow(message);
});
