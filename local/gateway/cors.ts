/**
 * CORS on the local gateway, as the CDK gateway configures API Gateway (the gateway spec's `cors`):
 * an OPTIONS request to a route's resource under the stage gets the preflight answer of API Gateway's
 * mock integration (204, no authorizer, no API key), with the headers `corsPreflightHeaders` gives both
 * renderers. Every other request is left to the gateway's checks.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayCorsSpec } from '../../lib/routes/gateway-spec';
import { corsPreflightHeaders } from '../../lib/routes/gateway-spec';
import { GATEWAY_HEADERS } from '../../lib/routes/headers';
import type { RouteSpec } from '../../lib/routes/route-spec';
import { RouteTable } from './routing';

/** The status of a preflight answer (aws-cdk-lib's `addCorsPreflight` default). */
export const PREFLIGHT_STATUS = 204;

/** Answers the preflight requests of one gateway's routes. */
export class CorsPreflight {
  private readonly routes: RouteTable;
  private readonly stagePrefix: string;

  constructor(
    routes: readonly RouteSpec[],
    stageName: string,
    private readonly cors: GatewayCorsSpec,
  ) {
    this.routes = new RouteTable(routes);
    this.stagePrefix = `/${stageName}`;
  }

  /** Answers an OPTIONS request to a route's resource and says so; leaves every other request alone. */
  serve(request: IncomingMessage, response: ServerResponse): boolean {
    if (request.method !== 'OPTIONS') return false;
    const url = request.url ?? '/';
    const queryAt = url.indexOf('?');
    const rawPath = queryAt < 0 ? url : url.slice(0, queryAt);
    if (!rawPath.startsWith(`${this.stagePrefix}/`)) return false;
    // A resource of the spec has routes but never an OPTIONS one: API Gateway's preflight method is the gateway's.
    if (this.routes.match('OPTIONS', rawPath.slice(this.stagePrefix.length)).kind !== 'no-method') return false;
    const origin = request.headers.origin;
    response.writeHead(PREFLIGHT_STATUS, {
      ...corsPreflightHeaders(this.cors, typeof origin === 'string' ? origin : undefined),
      [GATEWAY_HEADERS.requestId]: randomUUID(),
    });
    response.end();
    return true;
  }
}
