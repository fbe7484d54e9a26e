/**
 * The embedded Cloud Map-compatible registry: an HTTP server on loopback that speaks the AWS JSON 1.1
 * protocol of Cloud Map, so the unmodified `@aws-sdk/client-servicediscovery` client (given the
 * registry's `endpoint` and `disableHostPrefix`, as services/common/lifecycle.ts builds it) registers
 * and discovers instances against it. This file is the edge: it reads and bounds the request, finds
 * the operation, and maps results and errors to the wire.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HealthChecker } from './health-check';
import type { HealthCheckOptions } from './health-check';
import { AWS_JSON_CONTENT_TYPE, findOperation, TARGET_PREFIX } from './operations';
import { RegistryError, RegistryState } from './state';
import type { RegistryServiceSpec } from './state';
import { readBody } from '../http-body';

export type { RegistryServiceSpec } from './state';

/** Options of {@link LocalRegistry.start}. */
export interface LocalRegistryOptions {
  /** The services instances can register in; Cloud Map's services are made at deploy, these at start. */
  readonly services: readonly RegistryServiceSpec[];
  /**
   * The TCP port to listen on.
   * @default - 0, a free port picked by the OS (read it from `endpoint`)
   */
  readonly port?: number;
  /**
   * The address to listen on.
   * @default - '127.0.0.1', loopback only: the registry has no authentication
   */
  readonly host?: string;
  /**
   * Check each registered instance's health over HTTP and set its custom health from the results, as
   * ECS does for the tasks it registers (see health-check.ts).
   * @default - no checks: health changes only through UpdateInstanceCustomHealthStatus, as on a bare Cloud Map service
   */
  readonly healthCheck?: HealthCheckOptions;
}

/** The largest request body the registry reads; a larger one is answered 413 and never buffered. */
export const MAX_REQUEST_BYTES = 1024 * 1024;

// A client that stops mid-request must not hold a connection open for Node's default five minutes.
const REQUEST_TIMEOUT_MS = 30_000;

/** An embedded Cloud Map-compatible registry, listening until {@link LocalRegistry.close}. */
export class LocalRegistry {
  /** Starts a registry with the declared services and resolves once it listens. */
  static async start(options: LocalRegistryOptions): Promise<LocalRegistry> {
    const port = options.port ?? 0;
    const host = options.host ?? '127.0.0.1';
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`port must be an integer from 0 to 65535, got ${port}`);
    const state = new RegistryState(options.services);
    // Built before listening, so that a bad setting fails the start and leaves nothing open.
    const checker = options.healthCheck === undefined ? undefined : new HealthChecker(state, options.healthCheck);
    const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS }, (request, response) => {
      const requestId = randomUUID();
      response.setHeader('x-amzn-RequestId', requestId);
      handle(state, request, response).catch((error: unknown) => fail(response, requestId, error));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    checker?.start();
    return new LocalRegistry(server, state, host, checker);
  }

  /** The URL to give the SDK client as `endpoint`, such as `http://127.0.0.1:49152`. */
  readonly endpoint: string;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly state: RegistryState,
    host: string,
    private readonly checker?: HealthChecker,
  ) {
    const { port } = server.address() as AddressInfo;
    this.endpoint = `http://${urlHost(host)}:${port}`;
  }

  /**
   * The id of a declared service, as `RegisterInstance` and the other instance operations take it.
   * @throws Error naming the service, and the declared ones, when it was not declared.
   */
  serviceId(namespace: string, name: string): string {
    const id = this.state.serviceId(namespace, name);
    if (id === undefined) {
      const declared = this.state
        .services()
        .map((service) => `${service.namespace}/${service.name}`)
        .join(', ');
      throw new Error(`service "${name}" in namespace "${namespace}" was not declared when the registry started (declared: ${declared || 'none'})`);
    }
    return id;
  }

  /** Every declared service with its id, in declaration order. */
  services(): ReadonlyArray<RegistryServiceSpec & { readonly id: string }> {
    return this.state.services();
  }

  /** Stops listening and closes every connection, idle keep-alive ones included. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= Promise.all([
      this.checker?.stop(),
      new Promise<void>((resolve, reject) => {
        this.server.close((error) => (error ? reject(error) : resolve()));
        // After close(): it stops accepting first, so no new connection slips in behind this.
        this.server.closeAllConnections();
      }),
    ]).then(() => undefined);
    return this.closing;
  }
}

/** The AWS error type of an unknown `X-Amz-Target`, as AWS JSON services name it. */
const UNKNOWN_OPERATION = 'UnknownOperationException';

async function handle(state: RegistryState, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.url?.split('?')[0] !== '/') {
    sendError(response, 404, UNKNOWN_OPERATION, `Cloud Map is served at "/", not "${request.url ?? ''}"`);
    return;
  }
  if (request.method !== 'POST') {
    response.setHeader('allow', 'POST');
    sendError(response, 405, UNKNOWN_OPERATION, 'Cloud Map operations are POST requests');
    return;
  }
  const header = request.headers['x-amz-target'];
  const target = typeof header === 'string' ? header : undefined;
  const operation = findOperation(target);
  if (operation === undefined) {
    sendError(
      response,
      400,
      UNKNOWN_OPERATION,
      `X-Amz-Target must be ${TARGET_PREFIX}<operation> naming an operation this registry serves, got "${target ?? ''}"`,
    );
    return;
  }
  const body = await readBody(request, MAX_REQUEST_BYTES);
  // The client went away mid-request: there is no one to answer, and nothing went wrong here.
  if (body === 'aborted') return;
  if (body === 'too-large') {
    // Close the connection: the rest of the oversized body is not worth reading to reuse it.
    response.setHeader('connection', 'close');
    sendError(response, 413, 'RequestEntityTooLarge', `the request body exceeds ${MAX_REQUEST_BYTES} bytes`);
    return;
  }
  let input: unknown;
  try {
    // An empty body is an empty input, as AWS JSON services read it; the operation then names what is missing.
    input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    sendError(response, 400, 'InvalidInput', 'the request body is not valid JSON');
    return;
  }
  let output: object;
  try {
    output = operation(state, input);
  } catch (error) {
    if (!(error instanceof RegistryError)) throw error;
    sendError(response, 400, error.code, error.message);
    return;
  }
  send(response, 200, output);
}

function send(response: ServerResponse, status: number, body: object): void {
  const json = JSON.stringify(body);
  response.writeHead(status, { 'content-type': AWS_JSON_CONTENT_TYPE, 'content-length': Buffer.byteLength(json) }).end(json);
}

// The SDK takes the error type from `__type` (or the x-amzn-ErrorType header, sent too, as Cloud Map
// does) and maps it to its exception class: ServiceNotFound, InstanceNotFound and so on.
function sendError(response: ServerResponse, status: number, type: string, message: string): void {
  response.setHeader('x-amzn-ErrorType', type);
  send(response, status, { __type: type, Message: message });
}

// Only a bug gets here (client mistakes are 4xx, a client that left is dropped): logged with the
// request id, since the client sees only an InternalFailure.
function fail(response: ServerResponse, requestId: string, error: unknown): void {
  console.error(`local registry: request ${requestId} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  if (response.headersSent) {
    response.destroy();
    return;
  }
  sendError(response, 500, 'InternalFailure', 'the registry failed to handle the request');
}

// The host to put in the endpoint URL: a wildcard address is reached over loopback, and an IPv6
// literal needs brackets.
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
