/**
 * The local gateway's proxy hop at its edges, over real loopback HTTP: a service that breaks off in the
 * middle of its body, a client that leaves while the service thinks or while it streams, a body sent
 * chunked. The checks before the hop are local-gateway.test.ts's; here an authorizer stub allows all.
 */
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { GATEHOUSE_ROUTES, SCOPES, SERVICES } from '../../lib/routes/gatehouse-routes';
import { GATEWAY_HEADERS } from '../../lib/routes/headers';
import { API_KEY_HEADER, LocalGateway } from '../../local/gateway';

const KEY = 'hop-key-0123456789abcdefghijk';
// The caller the authorizer names; a test may change it.
let principalId = 'alice';
const allowAll = (): APIGatewayAuthorizerResult => ({
  principalId,
  policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: '*' }] },
  context: { scopes: Object.values(SCOPES).join(' ') },
});

let handle: (request: IncomingMessage, response: ServerResponse) => void = () => undefined;
let service: Server | undefined;
let gateway: LocalGateway | undefined;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  const server = createServer((request, response) => handle(request, response));
  service = server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  gateway = await LocalGateway.start({
    routes: GATEHOUSE_ROUTES,
    stageName: 'v1',
    tiers: [{ name: 'hop', rateLimit: 10_000, burstLimit: 10_000, apiKeys: [KEY] }],
    stageThrottle: { rateLimit: 10_000, burstLimit: 10_000 },
    authorizer: async () => allowAll(),
    authorizerCacheTtlSeconds: 300,
    resolveService: async (name) => (name === SERVICES.product || name === SERVICES.order ? [url] : []),
    log: (fields) => lines.push(fields),
  });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  service?.closeAllConnections();
  await new Promise<void>((resolve) => (service === undefined ? resolve() : service.close(() => resolve())));
}, 30_000);

beforeEach(() => {
  lines.length = 0;
  principalId = 'alice';
});

/** A request to the gateway; resolves with the response as soon as its head arrives. */
function send(method: string, path: string, options: { body?: string[] } = {}): { response: Promise<IncomingMessage>; destroy: () => void } {
  const outgoing = httpRequest(`${gateway?.apiUrl}${path}`, {
    method,
    headers: { authorization: 'Bearer anything', [API_KEY_HEADER]: KEY, ...(options.body !== undefined && { 'content-type': 'application/json' }) },
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    outgoing.once('response', resolve);
    outgoing.once('error', reject);
  });
  // Written in pieces with no length: Node sends them chunked.
  for (const piece of options.body ?? []) outgoing.write(piece);
  outgoing.end();
  return { response, destroy: () => outgoing.destroy() };
}

/** The log line of the request once its response has closed. */
async function logLine(): Promise<Record<string, unknown>> {
  while (lines.length === 0) await new Promise((resolve) => setImmediate(resolve));
  return lines[0];
}

it('passes a chunked request body on whole, with its length', async () => {
  let seen: { headers: IncomingMessage['headers']; body: string } | undefined;
  handle = (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      seen = { headers: request.headers, body: Buffer.concat(chunks).toString() };
      response.writeHead(201, { 'content-type': 'application/json' }).end('{}');
    });
  };
  const { response } = send('POST', 'orders', { body: ['{"items":[{"productId":', '"p-1","quantity":2}]}'] });
  expect((await response).statusCode).toBe(201);
  (await response).resume();
  expect(seen?.body).toBe('{"items":[{"productId":"p-1","quantity":2}]}');
  expect(seen?.headers['content-length']).toBe(String(seen?.body.length));
  expect(seen?.headers['transfer-encoding']).toBeUndefined();
  expect(seen?.headers[GATEWAY_HEADERS.userId]).toBe('alice');
});

it('streams an answer without a length to the client chunked, whole', async () => {
  handle = (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.write('first,');
    setImmediate(() => response.end('second'));
  };
  const response = await send('GET', 'products').response;
  expect(response.headers['transfer-encoding']).toBe('chunked');
  expect(response.headers[GATEWAY_HEADERS.requestId]).toMatch(/^[0-9a-f-]{36}$/);
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  expect(Buffer.concat(chunks).toString()).toBe('first,second');
  expect(await logLine()).toMatchObject({ status: 200, upstreamStatus: 200, completed: true });
});

it("cuts the client's connection when the service breaks off mid-body, and logs why", async () => {
  handle = (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
    response.write('{"partial":', () => response.socket?.destroy());
  };
  const response = await send('GET', 'products').response;
  expect(response.statusCode).toBe(200);
  // The client learns that the body is incomplete: the connection ends before the announced length.
  const ended = await new Promise<string>((resolve) => {
    response.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    response.on('end', () => resolve('end'));
    response.resume();
  });
  expect(ended).not.toBe('end');
  expect(await logLine()).toMatchObject({ status: 200, completed: false, streamError: expect.any(String) });
});

it('drops the request to the service when the client leaves before the answer', async () => {
  let gone: Promise<void> | undefined;
  let arrived: () => void = () => undefined;
  const arrival = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  handle = (request) => {
    gone = new Promise((resolve) => request.socket.once('close', () => resolve()));
    arrived();
  };
  const call = send('GET', 'products');
  call.response.catch(() => undefined);
  await arrival;
  call.destroy();
  await gone;
  expect(await logLine()).toMatchObject({ completed: false, route: 'GET /products' });
});

it("destroys the service's answer when the client leaves while it streams", async () => {
  let serviceSaw: Promise<boolean> | undefined;
  handle = (_request, response) => {
    serviceSaw = new Promise((resolve) => response.once('close', () => resolve(response.writableFinished)));
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.write('first chunk of many');
  };
  const call = send('GET', 'products');
  const response = await call.response;
  await new Promise((resolve) => response.once('data', resolve));
  call.destroy();
  // The service's response closes unfinished: the gateway let go of it.
  expect(await serviceSaw).toBe(false);
  expect(await logLine()).toMatchObject({ status: 200, completed: false, streamError: 'ERR_STREAM_PREMATURE_CLOSE' });
});

it('answers 500 when Node refuses an identity header (a principal outside Latin-1), and goes on serving', async () => {
  handle = (_request, response) => void response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  // Another token (the cache is keyed by the Authorization value), whose principal no header can carry.
  principalId = '\u674e\u96f7';
  const stderr = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  const refused = await new Promise<IncomingMessage>((resolve, reject) => {
    const outgoing = httpRequest(`${gateway?.apiUrl}products`, { headers: { authorization: 'Bearer another', [API_KEY_HEADER]: KEY } }, resolve);
    outgoing.once('error', reject).end();
  });
  refused.resume();
  expect(refused.statusCode).toBe(500);
  expect(refused.headers[GATEWAY_HEADERS.requestId]).toMatch(/^[0-9a-f-]{36}$/);
  // The gateway's own failure: on stderr with the request id the client saw, whatever the log option.
  expect(stderr).toHaveBeenCalledWith(expect.stringContaining(`request ${String(refused.headers[GATEWAY_HEADERS.requestId])} failed`));
  stderr.mockRestore();
  expect(await logLine()).toMatchObject({ status: 500, code: expect.any(String), error: expect.any(String) });
  const after = await send('GET', 'products').response;
  after.resume();
  expect(after.statusCode).toBe(200);
});
