/** The authorizer's configuration as the handler reads it from the Lambda environment. */
import { readAuthorizerConfig } from '../../lambda/authorizer/config';
import type { AuthorizerConfig } from '../../lib/auth/authorizer-contract';
import { AUTHORIZER_CONFIG_ENV, assertAuthorizerConfig, buildScopeTable, encodeAuthorizerConfig } from '../../lib/auth/authorizer-contract';
import { GATEHOUSE_ROUTES } from '../../lib/routes/gatehouse-routes';

const CONFIG: AuthorizerConfig = {
  issuers: [{ issuer: 'https://issuer.example.com', audience: ['api'], jwksUri: 'https://issuer.example.com/.well-known/jwks.json' }],
  algorithms: ['RS256', 'ES256'],
  clockToleranceSeconds: 30,
  scopeTable: buildScopeTable(GATEHOUSE_ROUTES),
  jwks: { timeoutMs: 3000, cooldownMs: 30000, cacheMaxAgeMs: 600000 },
};

it('round-trips through the environment', () => {
  expect(readAuthorizerConfig({ [AUTHORIZER_CONFIG_ENV]: encodeAuthorizerConfig(CONFIG) })).toEqual(CONFIG);
});

it.each<[string, NodeJS.ProcessEnv, RegExp]>([
  ['is missing', {}, /GATEHOUSE_AUTHORIZER_CONFIG is not set/],
  ['is not JSON', { [AUTHORIZER_CONFIG_ENV]: '{issuers' }, /GATEHOUSE_AUTHORIZER_CONFIG is not valid JSON/],
  ['is not an object', { [AUTHORIZER_CONFIG_ENV]: '[]' }, /authorizer config must be an object/],
  ['has no scope table', { [AUTHORIZER_CONFIG_ENV]: JSON.stringify({ ...CONFIG, scopeTable: undefined }) }, /scopeTable must be an object/],
  [
    'has a scope table entry that is not a list',
    { [AUTHORIZER_CONFIG_ENV]: JSON.stringify({ ...CONFIG, scopeTable: { any: [], byScope: { a: 'GET/a' } } }) },
    /scopeTable.byScope\["a"\] must be a list of policy resources/,
  ],
  ['has no JWKS settings', { [AUTHORIZER_CONFIG_ENV]: JSON.stringify({ ...CONFIG, jwks: undefined }) }, /jwks must be an object/],
  [
    'has a JWKS timeout of zero',
    { [AUTHORIZER_CONFIG_ENV]: JSON.stringify({ ...CONFIG, jwks: { ...CONFIG.jwks, timeoutMs: 0 } }) },
    /jwks.timeoutMs must be whole milliseconds from 1 to 29000, got 0/,
  ],
])('refuses to start when the configuration %s', (_name, env, message) => {
  expect(() => readAuthorizerConfig(env)).toThrow(message);
});

it('allows an http JWKS on loopback for local runs, and only when https is not required', () => {
  const local = { ...CONFIG, issuers: [{ ...CONFIG.issuers[0], jwksUri: 'http://127.0.0.1:4000/jwks.json' }] };
  expect(() => assertAuthorizerConfig(local)).not.toThrow();
  expect(() => assertAuthorizerConfig(local, { requireHttps: true })).toThrow(/jwksUri must use https/);
  const remote = { ...CONFIG, issuers: [{ ...CONFIG.issuers[0], jwksUri: 'http://10.0.0.1/jwks.json' }] };
  expect(() => assertAuthorizerConfig(remote)).toThrow(/jwksUri must use https/);
});

describe('per-issuer token shapes and the user id format', () => {
  const issuer = CONFIG.issuers[0];
  const second = { issuer: 'https://login.example.org', audience: ['api'], jwksUri: 'https://login.example.org/jwks.json' };
  it.each<[string, Partial<AuthorizerConfig>, RegExp]>([
    [
      'both audience and clientIds',
      { issuers: [{ ...issuer, clientIds: ['app'] }] },
      /issuers\[0\] must have exactly one of audience \(tokens with aud\) and clientIds \(Cognito access tokens\)/,
    ],
    ['neither audience nor clientIds', { issuers: [{ issuer: issuer.issuer, jwksUri: issuer.jwksUri }] }, /issuers\[0\] must have exactly one of audience/],
    [
      'an empty clientIds',
      { issuers: [{ issuer: issuer.issuer, jwksUri: issuer.jwksUri, clientIds: [] }] },
      /issuers\[0\].clientIds must list at least one non-empty app client id/,
    ],
    ['an empty scope prefix', { issuers: [{ ...issuer, scopePrefix: '' }] }, /issuers\[0\].scopePrefix must be a non-empty string such as "gatehouse\/"/],
    ['an issuer with a fragment', { issuers: [{ ...issuer, issuer: 'https://issuer.example.com#x' }] }, /issuers\[0\].issuer must not contain "#"/],
    [
      'plain subjects with two issuers',
      { issuers: [issuer, second], userIds: 'subject' },
      /userIds must be "issuer-qualified" with 2 issuers: .* two issuers' users with the same sub would be one customer/,
    ],
    ['an unknown user id format', { userIds: 'email' as never }, /userIds must be "subject" or "issuer-qualified", got "email"/],
  ])('refuses %s', (_name, overrides, message) => {
    expect(() => assertAuthorizerConfig({ ...CONFIG, ...overrides })).toThrow(message);
  });

  it('takes a Cognito issuer with app client ids and a scope prefix, next to an issuer with an audience', () => {
    const cognito = {
      issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC',
      clientIds: ['app'],
      scopePrefix: 'gatehouse/',
      jwksUri: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/.well-known/jwks.json',
    };
    expect(() => assertAuthorizerConfig({ ...CONFIG, issuers: [cognito, second] })).not.toThrow();
  });
});
