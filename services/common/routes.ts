/**
 * Serving a service's part of the route spec: every route the spec gives the service gets its handler,
 * its body schema, and the identity and scope checks; a missing or extra handler fails at start-up.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GATEWAY_HEADERS } from '../../lib/routes/headers';
import type { RouteSpec } from '../../lib/routes/route-spec';
import { fastifyRoutePath } from '../../lib/routes/route-path';
import { isRoutePermitted, routeKey } from '../../lib/routes/route-spec';
import { ServiceError } from './errors';

/** Who is calling, as the gateway told us. */
export interface Caller {
  readonly userId: string;
  readonly scopes: ReadonlySet<string>;
}

/** What a route handler receives. */
export interface RouteContext {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly caller: Caller;
}

/** A route handler: returns the body of a 200, or sets the status itself on `reply`. */
export type RouteHandler = (context: RouteContext) => Promise<unknown>;

/** Handlers by route key (`GET /products/{id}`). */
export type RouteHandlers = Readonly<Record<string, RouteHandler>>;

/** Registers a handler for each route of `routes` that `service` serves. */
export function serveRoutes(app: FastifyInstance, service: string, routes: readonly RouteSpec[], handlers: RouteHandlers): void {
  const owned = routes.filter((route) => route.service === service);
  const keys = new Set(owned.map(routeKey));
  const extra = Object.keys(handlers).filter((key) => !keys.has(key));
  if (extra.length > 0) throw new Error(`${service}: handlers for routes the spec does not give it: ${extra.join(', ')}`);

  for (const route of owned) {
    const handler = handlers[routeKey(route)];
    if (handler === undefined) throw new Error(`${service}: the route spec gives it ${routeKey(route)}, but it has no handler`);
    app.route({
      method: route.method,
      url: fastifyRoutePath(route.path),
      ...(route.requestSchema !== undefined && { schema: { body: route.requestSchema } }),
      // Identity before validation: an unauthenticated caller learns nothing about the body's rules.
      onRequest: async (request) => {
        request.caller = callerOf(request, route);
      },
      handler: async (request, reply) => handler({ request, reply, caller: request.caller ?? callerOf(request, route) }),
    });
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

/** The caller from the gateway's identity headers; the service trusts these headers and only these. */
function callerOf(request: FastifyRequest, route: RouteSpec): Caller {
  const userId = request.headers[GATEWAY_HEADERS.userId];
  if (typeof userId !== 'string' || userId.length === 0) {
    throw new ServiceError('UNAUTHENTICATED', `the ${GATEWAY_HEADERS.userId} header is missing: call through the gateway`);
  }
  const header = request.headers[GATEWAY_HEADERS.userScopes];
  const scopes = new Set(typeof header === 'string' ? header.split(' ').filter((scope) => scope.length > 0) : []);
  // The gateway checked this already; checking again costs nothing and keeps a misrouted call out.
  if (!isRoutePermitted(route, scopes)) throw new ServiceError('FORBIDDEN', `${routeKey(route)} needs one of the scopes ${route.scopes.join(', ')}`);
  return { userId, scopes };
}
