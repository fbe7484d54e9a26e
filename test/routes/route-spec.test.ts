import { buildScopeTable } from '../../lib/auth/authorizer-contract';
import { GATEHOUSE_ROUTES, SCOPES, SERVICES } from '../../lib/routes/gatehouse-routes';
import type { RouteSpec } from '../../lib/routes/route-spec';
import { isRoutePermitted, routeKey, routePolicyResource, validateRoutes } from '../../lib/routes/route-spec';

const route = (overrides: Partial<RouteSpec> = {}): RouteSpec => ({ method: 'GET', path: '/things', service: 'things', scopes: ['things:read'], ...overrides });

describe("Gatehouse's own routes", () => {
  it('are a valid spec', () => {
    expect(() => validateRoutes(GATEHOUSE_ROUTES)).not.toThrow();
  });

  it('are the public API of the services: each method, path, service and scope', () => {
    expect(GATEHOUSE_ROUTES.map((entry) => [routeKey(entry), entry.service, entry.scopes.join(' ')])).toEqual([
      ['GET /products', SERVICES.product, 'products:read'],
      ['GET /products/{id}', SERVICES.product, 'products:read'],
      ['POST /products', SERVICES.product, 'products:write'],
      ['PATCH /products/{id}', SERVICES.product, 'products:write'],
      ['GET /orders', SERVICES.order, 'orders:read'],
      ['GET /orders/{id}', SERVICES.order, 'orders:read'],
      ['POST /orders', SERVICES.order, 'orders:write'],
    ]);
  });

  it('validate every body they accept, with draft-04 schemas', () => {
    for (const entry of GATEHOUSE_ROUTES.filter((candidate) => candidate.method === 'POST' || candidate.method === 'PATCH')) {
      expect(entry.requestSchema).toMatchObject({ $schema: 'http://json-schema.org/draft-04/schema#', type: 'object', additionalProperties: false });
    }
  });
});

describe('routePolicyResource', () => {
  it.each([
    [{ method: 'GET', path: '/products' }, 'GET/products'],
    [{ method: 'PATCH', path: '/products/{id}' }, 'PATCH/products/*'],
    [{ method: 'GET', path: '/a/{x}/b/{y}' }, 'GET/a/*/b/*'],
    [{ method: 'GET', path: '/' }, 'GET/'],
  ] as const)('%j is %s', (entry, expected) => {
    expect(routePolicyResource(entry)).toBe(expected);
  });
});

describe('isRoutePermitted', () => {
  it('needs any one of the route scopes, and none for a route without scopes', () => {
    expect(isRoutePermitted(route({ scopes: ['a', 'b'] }), new Set(['b']))).toBe(true);
    expect(isRoutePermitted(route({ scopes: ['a', 'b'] }), new Set(['c']))).toBe(false);
    expect(isRoutePermitted(route({ scopes: [] }), new Set())).toBe(true);
  });
});

describe('validateRoutes rejects', () => {
  it.each<[string, RouteSpec[], RegExp]>([
    ['an empty spec', [], /routes must list at least one route, got none/],
    ['an unknown method', [route({ method: 'OPTIONS' as RouteSpec['method'] })], /method must be one of GET, POST, PUT, PATCH, DELETE, HEAD, got "OPTIONS"/],
    ['a relative path', [route({ path: 'things' })], /path must start with \/, got "things"/],
    ['a trailing slash', [route({ path: '/things/' })], /path segments must be literal/],
    ['an empty segment', [route({ path: '/a//b' })], /path segments must be literal/],
    ['a greedy parameter', [route({ path: '/a/{proxy+}' })], /path segments must be literal/],
    ['a missing service', [route({ service: '' })], /GET \/things: service must name the service/],
    ['a scope with a space', [route({ scopes: ['a b'] })], /scope "a b" is not a valid OAuth scope/],
    ['a scope with a quote', [route({ scopes: ['a"b'] })], /is not a valid OAuth scope/],
    ['a negative rate', [route({ throttle: { rateLimit: -1, burstLimit: 10 } })], /throttle.rateLimit must be a number of requests per second >= 0, got -1/],
    [
      'a rate without burst',
      [route({ throttle: { rateLimit: 10 } as RouteSpec['throttle'] })],
      /throttle.burstLimit must be a whole number of requests >= 0, got undefined/,
    ],
    ['a duplicate route', [route(), route({ service: 'other' })], /GET \/things duplicates GET \/things/],
    [
      'an upper-case header name',
      [route({ headers: [{ name: 'Idempotency-Key', required: true, description: 'x' }] })],
      /header name must be a lower-case HTTP field name \(RFC 9110, section 5.1\), got "Idempotency-Key"/,
    ],
    [
      'a header name with a space',
      [route({ headers: [{ name: 'a b', required: false, description: 'x' }] })],
      /header name must be a lower-case HTTP field name/,
    ],
    [
      'a header listed twice',
      [
        route({
          headers: [
            { name: 'x-a', required: false, description: 'x' },
            { name: 'x-a', required: true, description: 'y' },
          ],
        }),
      ],
      /GET \/things: header x-a is listed twice/,
    ],
    ['a duplicate under another parameter name', [route({ path: '/a/{id}' }), route({ path: '/a/{key}' })], /GET \/a\/\{key\} duplicates GET \/a\/\{id\}/],
    [
      'sibling parameters with different names',
      [route({ path: '/a/{id}' }), route({ method: 'POST', path: '/a/{key}/b', scopes: ['other'] })],
      /POST \/a\/\{key\}\/b uses \{key\} under \/a where another route uses \{id\}/,
    ],
    [
      'a wildcard policy that would cover a route needing other scopes',
      [route({ path: '/a/{id}', scopes: ['read'] }), route({ path: '/a/{id}/secret', scopes: ['admin'] })],
      /the policy resource GET\/a\/\* of GET \/a\/\{id\} also matches GET \/a\/\{id\}\/secret, which needs other scopes/,
    ],
    [
      // API Gateway routes GET /a/special to the literal resource, but GET/a/* still matches its ARN.
      'a literal sibling of a parameter that needs other scopes',
      [route({ path: '/a/{id}', scopes: ['read'] }), route({ path: '/a/special', scopes: ['admin'] })],
      /the policy resource GET\/a\/\* of GET \/a\/\{id\} also matches GET \/a\/special/,
    ],
    [
      'a route open to any token covering one that needs a scope',
      [route({ path: '/a/{id}', scopes: [] }), route({ path: '/a/{id}/b', scopes: ['x'] })],
      /also matches GET \/a\/\{id\}\/b/,
    ],
  ])('%s', (_name, routes, message) => {
    expect(() => validateRoutes(routes)).toThrow(message);
  });
});

describe('validateRoutes accepts', () => {
  it('overlapping policy resources when the covered route needs no more than the covering one', () => {
    expect(() => validateRoutes([route({ path: '/a/{id}', scopes: ['read'] }), route({ path: '/a/{id}/b', scopes: ['read', 'admin'] })])).not.toThrow();
  });

  it('a literal sibling of a parameter with the same scopes', () => {
    expect(() => validateRoutes([route({ path: '/a/{id}', scopes: ['read'] }), route({ path: '/a/special', scopes: ['read'] })])).not.toThrow();
  });

  it('the same path under different methods with different scopes', () => {
    expect(() => validateRoutes([route({ path: '/a/{id}' }), route({ method: 'DELETE', path: '/a/{id}', scopes: ['admin'] })])).not.toThrow();
  });
});

describe('buildScopeTable', () => {
  it("maps each of Gatehouse's scopes to the policy resources of its routes", () => {
    expect(buildScopeTable(GATEHOUSE_ROUTES)).toEqual({
      any: [],
      byScope: {
        [SCOPES.productsRead]: ['GET/products', 'GET/products/*'],
        [SCOPES.productsWrite]: ['POST/products', 'PATCH/products/*'],
        [SCOPES.ordersRead]: ['GET/orders', 'GET/orders/*'],
        [SCOPES.ordersWrite]: ['POST/orders'],
      },
    });
  });

  it('puts routes without scopes under any, and validates the spec first', () => {
    expect(buildScopeTable([route({ path: '/health', scopes: [] })])).toEqual({ any: ['GET/health'], byScope: {} });
    expect(() => buildScopeTable([route(), route()])).toThrow(/duplicates/);
  });
});
