/** The one parser of `{param}` route paths, and what it renders for each user. */
import {
  fastifyRoutePath,
  fillRoutePath,
  isValidRoutePath,
  openApiPath,
  operationIdOf,
  parseRoutePath,
  pathParameterNames,
  policyPathPattern,
  resourcePathParts,
  routePathShape,
} from '../../lib/routes/route-path';

describe('parseRoutePath', () => {
  it('splits a path into literal and parameter segments', () => {
    expect(parseRoutePath('/orders/{orderId}/items')).toEqual([
      { kind: 'literal', value: 'orders' },
      { kind: 'param', name: 'orderId' },
      { kind: 'literal', value: 'items' },
    ]);
    expect(parseRoutePath('/')).toEqual([]);
  });

  it('names the parameters in order', () => {
    expect(pathParameterNames('/a/{x}/b/{y}')).toEqual(['x', 'y']);
    expect(pathParameterNames('/a')).toEqual([]);
  });
});

describe('isValidRoutePath', () => {
  it.each(['/', '/products', '/products/{id}', '/a.b/c_d/e~f-g', '/a/{x}/b/{y_2}'])('accepts %s', (path) => {
    expect(isValidRoutePath(path)).toBe(true);
  });
  it.each(['', 'products', '/products/', '//a', '/a/{}', '/a/{1x}', '/a/b{id}', '/a/{id}x', '/a/{proxy+}', '/a b'])('refuses %j', (path) => {
    expect(isValidRoutePath(path)).toBe(false);
  });
});

describe('renderers', () => {
  const path = '/orders/{orderId}/items/{itemId}';

  it('API Gateway resource parts, parent first', () => {
    expect(resourcePathParts(path)).toEqual(['orders', '{orderId}', 'items', '{itemId}']);
  });

  it('the IAM method-ARN pattern: a parameter is *', () => {
    expect(policyPathPattern(path)).toBe('/orders/*/items/*');
    expect(policyPathPattern('/')).toBe('/');
  });

  it('the OpenAPI path, templated as the route spec is', () => {
    expect(openApiPath(path)).toBe(path);
    expect(openApiPath('/')).toBe('/');
  });

  it('the Fastify route', () => {
    expect(fastifyRoutePath(path)).toBe('/orders/:orderId/items/:itemId');
  });

  it('the shape, whatever the parameters are named', () => {
    expect(routePathShape(path)).toBe(routePathShape('/orders/{id}/items/{other}'));
    expect(routePathShape(path)).toBe('/orders/{}/items/{}');
  });

  it('a concrete path, from one value or one per parameter', () => {
    expect(fillRoutePath(path, 'v')).toBe('/orders/v/items/v');
    expect(fillRoutePath(path, { orderId: 'o-1', itemId: 'i-2' })).toBe('/orders/o-1/items/i-2');
    expect(() => fillRoutePath(path, { orderId: 'o-1' })).toThrow('no value for the path parameter itemId of /orders/{orderId}/items/{itemId}');
  });

  it('the operation id', () => {
    expect(operationIdOf({ method: 'GET', path: '/products/{id}' })).toBe('getProductsById');
    expect(operationIdOf({ method: 'POST', path: '/orders' })).toBe('postOrders');
  });
});
