/**
 * The local gateway: an HTTP server on loopback that serves the route spec under `/{stage}/` the way
 * the deployed REST API does (lib/gateway/microservices-gateway.ts renders the same spec), so one
 * end-to-end suite runs against both. This file is the edge: it reads and bounds the request, hands
 * it to the Gatekeeper's checks, writes error answers, and streams the service's answer back.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthorizerHandler } from '../../lambda/authorizer/handler';
import { GATEWAY_HEADERS } from '../../lib/routes/headers';
import type { ApiKeySource, GatewayCorsSpec } from '../../lib/routes/gateway-spec';
import { corsErrorOrigin, GATEWAY_DEFAULTS, validateCors, validateIntegrationTimeoutMs, validateStageName } from '../../lib/routes/gateway-spec';
import type { RouteSpec, RouteThrottle } from '../../lib/routes/route-spec';
import type { GatewayAnswer, LocalResponseType } from './answers';
import { errorBody, gatewayAnswer, UPSTREAM_FAILURE_STATUS } from './answers';
import { MAX_BODY_BYTES } from './body-validation';
import type { GateLog } from './gatekeeper';
import { Gatekeeper } from './gatekeeper';
import { CorsPreflight } from './cors';
import { OpenApiRoute } from './openapi-route';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './proxy-headers';
import type { Forwarding, ServiceResolver } from './upstream';
import { Upstreams } from './upstream';
import type { LocalTier } from './usage-plans';
import { readBody } from '../http-body';

/** Options of {@link LocalGateway.start}. */
export interface LocalGatewayOptions {
  /** The routes to serve (lib/routes/route-spec.ts), checked as the CDK gateway checks them. */
  readonly routes: readonly RouteSpec[];
  /** The stage: routes are served under `/{stageName}/`, as in the execute-api URL. */
  readonly stageName: string;
  /**
   * The TCP port to listen on.
   * @default - 0, a free port picked by the OS (read it from `url`)
   */
  readonly port?: number;
  /**
   * The address to listen on.
   * @default - '127.0.0.1', loopback only
   */
  readonly host?: string;
  /** Usage plan tiers and their API keys; every route needs a key of one of them. */
  readonly tiers: readonly LocalTier[];
  /** Throttle of the whole stage, above every tier. */
  readonly stageThrottle: RouteThrottle;
  /** The authorizer handler (lambda/authorizer/handler.ts createAuthorizerHandler), run in process. */
  readonly authorizer: AuthorizerHandler;
  /** How long an authorizer result is cached per Authorization value, in seconds (0 to 3600); 0 turns the cache off. */
  readonly authorizerCacheTtlSeconds: number;
  /**
   * Where a request's API key is read: the `x-api-key` header, or the authorizer's `usageIdentifierKey`.
   * @default - 'HEADER'
   */
  readonly apiKeySource?: ApiKeySource;
  /**
   * CORS for browsers: preflight answers on every route's resource, and the origin on the gateway's own answers.
   * @default - no CORS
   */
  readonly cors?: GatewayCorsSpec;
  /** Base URLs of the healthy instances of a service, such as the local Cloud Map registry gives. */
  readonly resolveService: ServiceResolver;
  /**
   * How long a service has to start answering before the gateway answers 504, in milliseconds (50 to 29000, as API Gateway allows).
   * @default - 10000
   */
  readonly integrationTimeoutMs?: number;
  /**
   * Receives one line per request: ids, route, status, timings; never a token, a key or a body.
   * @default - none, except that 5xx answers the gateway makes itself are written to stderr
   */
  readonly log?: LogSink;
  /**
   * The clock of throttles, quotas and the authorizer cache, in milliseconds since the epoch.
   * @default - Date.now
   */
  readonly now?: () => number;
}

/** Receives the log line of a request. */
export type LogSink = (fields: Record<string, unknown>) => void;

/** Default integration timeout, the gateway spec's (the CDK gateway's too). */
export const DEFAULT_INTEGRATION_TIMEOUT_MS = GATEWAY_DEFAULTS.integrationTimeoutMs;

// The status of an answer to a request the gateway itself failed on (a bug, never a client's doing).
const INTERNAL_FAILURE_STATUS = 500;

// A client that stops mid-request must not hold a connection open for Node's default five minutes.
const REQUEST_TIMEOUT_MS = 30_000;

/** A local API Gateway, listening until {@link LocalGateway.close}. */
export class LocalGateway {
  /**
   * Checks the options, starts listening, and resolves once it does.
   * @throws Error naming the option and the rule; the listen error (EADDRINUSE) as Node raises it.
   */
  static async start(options: LocalGatewayOptions): Promise<LocalGateway> {
    const port = options.port ?? 0;
    const host = options.host ?? '127.0.0.1';
    const timeoutMs = options.integrationTimeoutMs ?? DEFAULT_INTEGRATION_TIMEOUT_MS;
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`port must be an integer from 0 to 65535, got ${port}`);
    // The gateway spec's rules, the same the CDK gateway checks.
    validateStageName(options.stageName);
    validateIntegrationTimeoutMs(timeoutMs);
    if (options.cors !== undefined) validateCors(options.cors);
    const gatekeeper = new Gatekeeper({
      routes: options.routes,
      stageName: options.stageName,
      tiers: options.tiers,
      stageThrottle: options.stageThrottle,
      authorizer: options.authorizer,
      authorizerCacheTtlSeconds: options.authorizerCacheTtlSeconds,
      apiKeySource: options.apiKeySource ?? GATEWAY_DEFAULTS.apiKeySource,
      now: options.now ?? Date.now,
    });
    const upstreams = new Upstreams(options.resolveService, timeoutMs);
    const hop: Hop = { gatekeeper, upstreams, log: options.log, corsOrigin: corsErrorOrigin(options.cors) };
    // The document answers before the gatekeeper: a client needs the contract before it has a token or a key.
    const openApi = new OpenApiRoute(options.routes, options.stageName, options.apiKeySource ?? GATEWAY_DEFAULTS.apiKeySource);
    const preflight = options.cors === undefined ? undefined : new CorsPreflight(options.routes, options.stageName, options.cors);
    const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS }, (request, response) => {
      if (!openApi.serve(request, response) && preflight?.serve(request, response) !== true) new Exchange(hop, request, response).run();
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      upstreams.close();
      throw error;
    }
    return new LocalGateway(server, upstreams, host, options.stageName);
  }

  /** The gateway's base URL, such as `http://127.0.0.1:49152`. */
  readonly url: string;
  /** The API's URL, `${url}/${stageName}/`, as the execute-api URL of a stage. */
  readonly apiUrl: string;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly upstreams: Upstreams,
    host: string,
    stageName: string,
  ) {
    const { port } = server.address() as AddressInfo;
    this.url = `http://${urlHost(host)}:${port}`;
    this.apiUrl = `${this.url}/${stageName}/`;
  }

  /** Stops listening, closes every connection (idle keep-alive ones and those to services too). Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve, reject) => {
      this.server.close((error) => (error ? reject(error) : resolve()));
      // After close(): it stops accepting first, so no new connection slips in behind this.
      this.server.closeAllConnections();
      this.upstreams.close();
    });
    return this.closing;
  }
}

/** What every exchange of one gateway shares. */
interface Hop {
  readonly gatekeeper: Gatekeeper;
  readonly upstreams: Upstreams;
  readonly log: LogSink | undefined;
  /** The Access-Control-Allow-Origin of the gateway's own answers, as the CDK gateway's gateway responses have it. */
  readonly corsOrigin: string | undefined;
}

/**
 * One request, start to end, and its log line when the response is done. A class, not closures: its
 * methods are made once, where closures would be made (and, under tsx, named) on every request.
 */
class Exchange {
  private readonly requestId = randomUUID();
  private readonly started = performance.now();
  private readonly gate: GateLog = {};
  private readonly fields: Record<string, unknown>;
  private readonly url: string;
  private readonly queryAt: number;
  // What a client that leaves early stops: the request to the service, then the stream of its answer.
  private forwarding: Forwarding | undefined;
  private streaming: IncomingMessage | undefined;

  constructor(
    private readonly hop: Hop,
    private readonly request: IncomingMessage,
    private readonly response: ServerResponse,
  ) {
    this.url = request.url ?? '/';
    this.queryAt = this.url.indexOf('?');
    this.fields = { requestId: this.requestId, method: request.method, path: this.rawPath() };
    response.once('close', () => this.closed());
  }

  /** Answers the request; never rejects (a bug becomes a 500 with the request id, and a line on stderr). */
  run(): void {
    this.proceed().catch((error: unknown) => this.failed(error));
  }

  private async proceed(): Promise<void> {
    const { request, requestId } = this;
    // RFC 9112 section 6.3: a request with neither a length nor a chunked encoding has no body; not
    // waiting for its end saves a promise, four listeners and Node's parsed header object.
    const body = hasBody(request.rawHeaders) ? await readBody(request, MAX_BODY_BYTES) : NO_BODY;
    // The client went away mid-request: there is no one to answer.
    if (body === 'aborted') return;
    if (body === 'too-large') {
      // The rest of an oversized body is not worth reading to keep the connection.
      this.response.setHeader('connection', 'close');
      this.answer('REQUEST_TOO_LARGE');
      return;
    }
    const sourceIp = request.socket.remoteAddress ?? '127.0.0.1';
    const method = request.method ?? 'GET';
    const query = this.queryAt < 0 ? '' : this.url.slice(this.queryAt + 1);
    const decision = await this.hop.gatekeeper.check(
      { requestId, method, rawPath: this.rawPath(), query, rawHeaders: request.rawHeaders, body, sourceIp },
      this.gate,
    );
    if (decision.kind === 'refuse') {
      this.answer(decision.responseType);
      return;
    }

    const { identity } = decision;
    this.forwarding = this.hop.upstreams.forward({
      service: decision.route.service,
      method,
      pathAndQuery: this.queryAt < 0 ? decision.upstreamPath : `${decision.upstreamPath}?${query}`,
      headers(host) {
        return upstreamRequestHeaders(request.rawHeaders, identity, { host, method, bodyBytes: body.length, clientIp: sourceIp });
      },
      body,
    });
    const outcome = await this.forwarding.outcome;
    this.fields.attempts = outcome.attempts;
    if (outcome.kind !== 'abandoned' && outcome.instance !== undefined) this.fields.upstream = outcome.instance;
    switch (outcome.kind) {
      case 'abandoned':
        return;
      case 'timeout':
        this.answer('INTEGRATION_TIMEOUT');
        return;
      case 'unreachable':
        this.gate.detail = outcome.detail;
        this.answer('DEFAULT_5XX');
        return;
      case 'response':
        this.stream(outcome.response);
    }
  }

  // pipe, not stream.pipeline: pipeline makes an AbortController per call and aborts it on finish (a
  // DOMException each time); the two ways a stream breaks off are handled here and in closed().
  private stream(upstream: IncomingMessage): void {
    const { response, fields } = this;
    fields.upstreamStatus = upstream.statusCode;
    if (response.destroyed) {
      // The client left while the service answered: nothing will read the body.
      upstream.destroy();
      return;
    }
    try {
      response.writeHead(upstream.statusCode ?? UPSTREAM_FAILURE_STATUS, downstreamResponseHeaders(upstream.rawHeaders, this.requestId));
    } catch (error) {
      // A status or header Node will not write (failed() answers 500): the unread answer must not hold its socket.
      upstream.destroy();
      throw error;
    }
    this.streaming = upstream;
    // The service broke off mid-body: the status is sent, so the connection is all there is to end.
    upstream.on('error', (error) => {
      fields.streamError = errorCode(error);
      response.destroy();
    });
    upstream.pipe(response);
  }

  private answer(responseType: LocalResponseType): void {
    this.fields.code = gatewayAnswer(responseType).code;
    sendError(this.response, gatewayAnswer(responseType), this.requestId, this.hop.corsOrigin);
  }

  private closed(): void {
    const { response, fields, streaming } = this;
    if (!response.writableFinished) {
      this.forwarding?.abandon();
      if (streaming !== undefined && !streaming.readableEnded) {
        fields.streamError ??= 'ERR_STREAM_PREMATURE_CLOSE';
        streaming.destroy();
      }
    }
    const status = response.statusCode;
    const { log } = this.hop;
    // Without a `log` option, the gateway's own 5xx answers still reach stderr (none goes unrecorded),
    // and no line is built for anything else.
    if (log === undefined && (status < 500 || fields.upstreamStatus !== undefined)) return;
    const line = { ...fields, ...this.gate, status, completed: response.writableFinished, ms: Math.round((performance.now() - this.started) * 100) / 100 };
    if (log !== undefined) log(line);
    else console.error(`local gateway: ${JSON.stringify(line)}`);
  }

  private failed(error: unknown): void {
    const { response, fields, requestId } = this;
    // Only a bug gets here: always on stderr, with the request id the client sees.
    console.error(`local gateway: request ${requestId} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    fields.error = error instanceof Error ? error.name : typeof error;
    if (response.headersSent) {
      response.destroy();
      return;
    }
    // DEFAULT_5XX's code, with 500: this is the gateway's own fault, not an unreachable service (502).
    fields.code = gatewayAnswer('DEFAULT_5XX').code;
    sendError(response, { ...gatewayAnswer('DEFAULT_5XX'), status: INTERNAL_FAILURE_STATUS }, requestId, this.hop.corsOrigin);
  }

  /** The path as received, without the query. */
  private rawPath(): string {
    return this.queryAt < 0 ? this.url : this.url.slice(0, this.queryAt);
  }
}

const NO_BODY = Buffer.alloc(0);

/** Whether the request's head announces a body: a Content-Length or a Transfer-Encoding, in any case. */
function hasBody(rawHeaders: readonly string[]): boolean {
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index];
    if ((name.length === 14 || name.length === 17) && /^(?:content-length|transfer-encoding)$/i.test(name)) return true;
  }
  return false;
}

function sendError(response: ServerResponse, answer: GatewayAnswer, requestId: string, corsOrigin: string | undefined): void {
  const json = JSON.stringify(errorBody(answer, requestId));
  response
    .writeHead(answer.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(json),
      [GATEWAY_HEADERS.requestId]: requestId,
      ...(corsOrigin !== undefined && { 'access-control-allow-origin': corsOrigin }),
    })
    .end(json);
}

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.name : typeof error;
}

// The host to put in the URL: a wildcard address is reached over loopback, and an IPv6 literal needs brackets.
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
