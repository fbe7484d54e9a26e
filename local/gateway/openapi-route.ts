/**
 * `GET /{stage}/openapi.json` on the local gateway: the OpenAPI document of the routes it serves,
 * without authentication (a client needs the contract before it has a token), rendered once at start.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { buildOpenApiDocument } from '../../lib/openapi/openapi';
import type { ApiKeySource } from '../../lib/routes/gateway-spec';
import { GATEWAY_HEADERS } from '../../lib/routes/headers';
import type { RouteSpec } from '../../lib/routes/route-spec';

/** The file name of the document under the stage. */
export const OPENAPI_FILE = 'openapi.json';

/** Serves the document of one gateway's routes. */
export class OpenApiRoute {
  /** The path it answers: `/{stage}/openapi.json`. */
  readonly path: string;
  private readonly body: Buffer;

  /** @param apiKeySource with AUTHORIZER the document asks for no `x-api-key`, as the deployed API's. */
  constructor(routes: readonly RouteSpec[], stageName: string, apiKeySource: ApiKeySource = 'HEADER') {
    this.path = `/${stageName}/${OPENAPI_FILE}`;
    // A server URL relative to the document: `/v1` on whatever host and port the gateway has.
    const document = buildOpenApiDocument(routes, { stageName, apiKeySource, servers: [{ url: `/${stageName}`, description: 'This gateway' }] });
    this.body = Buffer.from(JSON.stringify(document));
  }

  /** Answers a GET or HEAD of the document's path and says so; leaves every other request alone. */
  serve(request: IncomingMessage, response: ServerResponse): boolean {
    // Every request passes here first: the cheap test turns nearly all of them away before any slicing.
    const url = request.url ?? '/';
    if (!url.startsWith(this.path) || (request.method !== 'GET' && request.method !== 'HEAD')) return false;
    if (url.length > this.path.length && url[this.path.length] !== '?') return false;
    response.writeHead(200, {
      'content-type': 'application/json',
      'content-length': this.body.length,
      'cache-control': 'no-cache',
      [GATEWAY_HEADERS.requestId]: randomUUID(),
    });
    response.end(request.method === 'HEAD' ? undefined : this.body);
    return true;
  }
}
