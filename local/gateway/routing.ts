/**
 * Route matching as a REST API does it: the path picks a resource first (a literal segment wins over
 * a `{param}` at the same level), then the method picks one of the resource's methods. Pure.
 */
import type { RouteSpec } from '../../lib/routes/route-spec';
import { validateRoutes } from '../../lib/routes/route-spec';
import { parseRoutePath } from '../../lib/routes/route-path';

/** What a request's method and path lead to. */
export type RouteMatch =
  | {
      readonly kind: 'route';
      readonly route: RouteSpec;
      /** Path parameters, decoded, as API Gateway hands them to an authorizer. */
      readonly pathParameters: Readonly<Record<string, string>>;
      /** The route's path with each parameter as the client sent it (still percent-encoded). */
      readonly concretePath: string;
    }
  /** The path names a resource, but not with this method. */
  | { readonly kind: 'no-method'; readonly resourcePath: string }
  /** No resource has this path. */
  | { readonly kind: 'no-resource' };

interface ResourceNode {
  readonly path: string;
  readonly literals: Map<string, ResourceNode>;
  variable?: { readonly name: string; readonly node: ResourceNode };
  readonly methods: Map<string, RouteSpec>;
}

/** The routes of a spec, ready to match requests against. */
export class RouteTable {
  private readonly root: ResourceNode = newNode('/');

  /** @throws Error from `validateRoutes` when the spec is not one API Gateway could serve. */
  constructor(routes: readonly RouteSpec[]) {
    validateRoutes(routes);
    for (const route of routes) {
      let node = this.root;
      for (const segment of parseRoutePath(route.path)) {
        if (segment.kind === 'literal') {
          let child = node.literals.get(segment.value);
          if (child === undefined) {
            child = newNode(joinPath(node.path, segment.value));
            node.literals.set(segment.value, child);
          }
          node = child;
        } else {
          // validateRoutes guarantees one variable name per parent, as API Gateway does.
          node.variable ??= { name: segment.name, node: newNode(joinPath(node.path, `{${segment.name}}`)) };
          node = node.variable.node;
        }
      }
      node.methods.set(route.method, route);
    }
  }

  /**
   * The route for `method` and `path` (the part after the stage, percent-encoded as received, without
   * the query string).
   */
  match(method: string, path: string): RouteMatch {
    if (!path.startsWith('/')) return { kind: 'no-resource' };
    const raw = path === '/' ? [] : path.slice(1).split('/');
    const decoded: string[] = [];
    for (const segment of raw) {
      // An empty segment (`//`, a trailing `/`) is no resource's; so is one that does not decode.
      if (segment.length === 0) return { kind: 'no-resource' };
      const value = decodeSegment(segment);
      if (value === undefined) return { kind: 'no-resource' };
      decoded.push(value);
    }
    const found = find(this.root, decoded, 0);
    if (found === undefined) return { kind: 'no-resource' };
    const route = found.methods.get(method);
    if (route === undefined) return { kind: 'no-method', resourcePath: found.path };
    const pathParameters: Record<string, string> = {};
    const concrete: string[] = [];
    parseRoutePath(route.path).forEach((segment, index) => {
      if (segment.kind === 'param') pathParameters[segment.name] = decoded[index];
      concrete.push(segment.kind === 'literal' ? segment.value : raw[index]);
    });
    return { kind: 'route', route, pathParameters, concretePath: `/${concrete.join('/')}` };
  }
}

/**
 * The first resource with methods that `segments` reach, literal children before the variable one.
 * It backtracks: `/a/x` reaches `/{p}/x` when `/a` has no child `x`.
 */
function find(node: ResourceNode, segments: readonly string[], index: number): ResourceNode | undefined {
  if (index === segments.length) return node.methods.size > 0 ? node : undefined;
  const literal = node.literals.get(segments[index]);
  const viaLiteral = literal === undefined ? undefined : find(literal, segments, index + 1);
  if (viaLiteral !== undefined) return viaLiteral;
  return node.variable === undefined ? undefined : find(node.variable.node, segments, index + 1);
}

function newNode(path: string): ResourceNode {
  return { path, literals: new Map(), methods: new Map() };
}

function joinPath(parent: string, segment: string): string {
  return parent === '/' ? `/${segment}` : `${parent}/${segment}`;
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch (error) {
    if (error instanceof URIError) return undefined;
    throw error;
  }
}
