/** Route matching: the resource first (literal segments before parameters), then the method. */
import { GATEHOUSE_ROUTES } from '../../lib/routes/gatehouse-routes';
import type { RouteSpec } from '../../lib/routes/route-spec';
import { routeKey } from '../../lib/routes/route-spec';
import { RouteTable } from '../../local/gateway/routing';

const route = (method: RouteSpec['method'], path: string): RouteSpec => ({ method, path, service: 's', scopes: [] });

describe('RouteTable over Gatehouse routes', () => {
  const table = new RouteTable(GATEHOUSE_ROUTES);

  it.each([
    ['GET', '/products', 'GET /products', {}],
    ['GET', '/products/p-1', 'GET /products/{id}', { id: 'p-1' }],
    ['PATCH', '/products/p-1', 'PATCH /products/{id}', { id: 'p-1' }],
    ['POST', '/orders', 'POST /orders', {}],
    ['GET', '/orders/o%201', 'GET /orders/{id}', { id: 'o 1' }],
  ])('%s %s is %s', (method, path, key, parameters) => {
    const match = table.match(method, path);
    expect(match.kind).toBe('route');
    if (match.kind !== 'route') return;
    expect(routeKey(match.route)).toBe(key);
    expect(match.pathParameters).toEqual(parameters);
    // The service gets the parameter as the client sent it, still encoded.
    expect(match.concretePath).toBe(path);
  });

  it.each([['/'], ['/nope'], ['/products/p-1/extra'], ['/products/'], ['//products'], ['/products/%E0%A4%A']])('has no resource at %s', (path) => {
    expect(table.match('GET', path)).toEqual({ kind: 'no-resource' });
  });

  it('knows a path whose method it lacks', () => {
    expect(table.match('DELETE', '/products/p-1')).toEqual({ kind: 'no-method', resourcePath: '/products/{id}' });
    expect(table.match('OPTIONS', '/orders')).toEqual({ kind: 'no-method', resourcePath: '/orders' });
  });
});

describe('RouteTable precedence', () => {
  it('prefers a literal segment over a parameter, whatever the order of the spec', () => {
    for (const routes of [
      [route('GET', '/a/{id}'), route('GET', '/a/latest')],
      [route('GET', '/a/latest'), route('GET', '/a/{id}')],
    ]) {
      const table = new RouteTable(routes);
      const latest = table.match('GET', '/a/latest');
      expect(latest.kind === 'route' && latest.route.path).toBe('/a/latest');
      const other = table.match('GET', '/a/other');
      expect(other.kind === 'route' && other.route.path).toBe('/a/{id}');
    }
  });

  it('picks the literal resource even when only the parameter one has the method', () => {
    const table = new RouteTable([route('GET', '/a/{id}'), route('POST', '/a/latest')]);
    expect(table.match('GET', '/a/latest')).toEqual({ kind: 'no-method', resourcePath: '/a/latest' });
  });

  it('falls back to a parameter when the literal branch leads nowhere', () => {
    const table = new RouteTable([route('GET', '/a/b'), route('GET', '/{x}/c')]);
    const match = table.match('GET', '/a/c');
    expect(match.kind === 'route' && match.route.path).toBe('/{x}/c');
    expect(match.kind === 'route' && match.pathParameters).toEqual({ x: 'a' });
  });

  it('matches literals against the decoded segment', () => {
    const table = new RouteTable([route('GET', '/a/{id}'), route('GET', '/a/b')]);
    const match = table.match('GET', '/a/%62');
    expect(match.kind === 'route' && match.route.path).toBe('/a/b');
  });

  it('refuses a spec API Gateway could not serve', () => {
    expect(() => new RouteTable([route('GET', '/a'), route('GET', '/a')])).toThrow(/duplicates/);
  });
});
