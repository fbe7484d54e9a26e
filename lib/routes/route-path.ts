/**
 * Route paths with `{param}` segments (`/products/{id}`), parsed once and rendered for each of their
 * users: API Gateway resources, the authorizer's IAM method-ARN patterns, the local gateway's matcher,
 * the services' Fastify routes, the OpenAPI document and operation names. A path parameter is a whole
 * segment, as API Gateway has it (greedy `{proxy+}` paths are not routes here). Pure: the runtime
 * imports it, so no aws-cdk-lib.
 */

/** One segment of a route path: a literal, or a path parameter. */
export type RoutePathSegment = { readonly kind: 'literal'; readonly value: string } | { readonly kind: 'param'; readonly name: string };

/** A segment a route path may have: literal (letters, digits, `. _ ~ -`) or a `{parameter}`. */
const VALID_SEGMENT = /^(?:[A-Za-z0-9._~-]+|\{[A-Za-z][A-Za-z0-9_]*\})$/;

/** A whole-segment path parameter: `{id}`. */
const PARAM_SEGMENT = /^\{(.+)\}$/;

/** The segments of `path`: `/products/{id}` → literal `products`, param `id`; `/` has none. */
export function parseRoutePath(path: string): RoutePathSegment[] {
  return rawSegmentsOf(path).map((segment) => {
    const param = PARAM_SEGMENT.exec(segment);
    return param === null ? { kind: 'literal', value: segment } : { kind: 'param', name: param[1] };
  });
}

/**
 * Whether `path` is one a route may have: it starts with `/`, and each segment is literal (letters,
 * digits, `. _ ~ -`) or a `{parameter}` (a letter, then letters, digits and `_`), none empty.
 */
export function isValidRoutePath(path: string): boolean {
  return path === '/' || (path.startsWith('/') && rawSegmentsOf(path).every((segment) => VALID_SEGMENT.test(segment)));
}

/** The names of the path parameters of `path`, in order: `/a/{x}/b/{y}` → `x`, `y`. */
export function pathParameterNames(path: string): string[] {
  return parseRoutePath(path).flatMap((segment) => (segment.kind === 'param' ? [segment.name] : []));
}

/** `path` with each parameter rendered by `param` (literals as they are). */
export function renderRoutePath(path: string, param: (name: string, index: number) => string): string {
  let index = 0;
  return `/${parseRoutePath(path)
    .map((segment) => (segment.kind === 'literal' ? segment.value : param(segment.name, index++)))
    .join('/')}`;
}

/**
 * The API Gateway resource path parts of `path`, parent first: `/products/{id}` → `products`, `{id}`
 * (each one resource's `pathPart`).
 */
export function resourcePathParts(path: string): string[] {
  return parseRoutePath(path).map((segment) => (segment.kind === 'literal' ? segment.value : `{${segment.name}}`));
}

/**
 * The key of the path in an OpenAPI document's `paths`: OpenAPI's path templating is the route spec's
 * own, `/products/{id}`.
 */
export function openApiPath(path: string): string {
  return renderRoutePath(path, (name) => `{${name}}`);
}

/**
 * The path part of an `execute-api` method-ARN pattern (IAM): each parameter becomes `*`, so
 * `/products/{id}` → `/products/*`. IAM's `*` also matches `/` (see validateRoutes).
 */
export function policyPathPattern(path: string): string {
  return renderRoutePath(path, () => '*');
}

/** The path as a Fastify (find-my-way) route: `/products/{id}` → `/products/:id`. */
export function fastifyRoutePath(path: string): string {
  return renderRoutePath(path, (name) => `:${name}`);
}

/**
 * The shape of `path` whatever its parameters are named: `/products/{}`. Two routes with the same
 * method and shape are the same resource to API Gateway.
 */
export function routePathShape(path: string): string {
  return renderRoutePath(path, () => '{}');
}

/** A concrete path for `path`: each parameter replaced by `values[name]`, or by `value` for all. */
export function fillRoutePath(path: string, values: string | Readonly<Record<string, string>>): string {
  return renderRoutePath(path, (name) => {
    const value = typeof values === 'string' ? values : values[name];
    if (value === undefined) throw new Error(`no value for the path parameter ${name} of ${path}`);
    return value;
  });
}

/**
 * `GET /products/{id}` → `getProductsById`: the name of a route's operation, the same in the CDK
 * gateway (method and model names) and the OpenAPI document (`operationId`).
 */
export function operationIdOf(route: { readonly method: string; readonly path: string }): string {
  const spoken = renderRoutePath(route.path, (name) => `by ${name}`);
  const words = `${route.method.toLowerCase()} ${spoken}`.split(/[^A-Za-z0-9]+/).filter((word) => word.length > 0);
  return words.map((word, index) => (index === 0 ? word : word[0].toUpperCase() + word.slice(1))).join('');
}

function rawSegmentsOf(path: string): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}
