/**
 * The HTTP_PROXY integration (local/gateway/upstream.ts) over real loopback HTTP: the instance order,
 * the retry on a refused or reset connection, the one deadline, and a client that leaves.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Upstreams } from '../../local/gateway/upstream';
import type { UpstreamOutcome, UpstreamRequest } from '../../local/gateway/upstream';
import { refusingUrl } from '../support/refusing';

/** A service whose answer each test decides; it records what reached it. */
class Service {
  readonly seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  /** Resolves each time a request has arrived (its body read). */
  private arrivals: (() => void)[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(handle: (request: IncomingMessage, response: ServerResponse) => void): Promise<Service> {
    let service: Service | undefined;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        service?.seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString() });
        for (const arrived of service?.arrivals.splice(0) ?? []) arrived();
        handle(request, response);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    service = new Service(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return service;
  }

  /** Resolves once `count` requests have arrived in all. */
  async arrived(count: number): Promise<void> {
    while (this.seen.length < count) await new Promise<void>((resolve) => this.arrivals.push(resolve));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const answering = (_request: IncomingMessage, response: ServerResponse): void => void response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
const resetting = (request: IncomingMessage): void => void request.socket.destroy();

function requestFor(service: string, overrides: Partial<UpstreamRequest> = {}): UpstreamRequest {
  return {
    service,
    method: 'GET',
    pathAndQuery: '/products?limit=5',
    headers: (host) => ['host', host, 'x-user-id', 'alice'],
    body: Buffer.alloc(0),
    ...overrides,
  };
}

/** The body of a 'response' outcome, read whole. */
async function bodyOf(outcome: UpstreamOutcome): Promise<string> {
  if (outcome.kind !== 'response') throw new Error(`expected a response, got ${JSON.stringify(outcome)}`);
  const chunks: Buffer[] = [];
  for await (const chunk of outcome.response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

const services: Service[] = [];
const pools: Upstreams[] = [];

async function service(handle: (request: IncomingMessage, response: ServerResponse) => void): Promise<Service> {
  const started = await Service.start(handle);
  services.push(started);
  return started;
}

function upstreams(instances: (name: string) => Promise<readonly string[]>, timeoutMs = 5_000): Upstreams {
  const pool = new Upstreams(instances, timeoutMs);
  pools.push(pool);
  return pool;
}

afterEach(async () => {
  for (const pool of pools.splice(0)) pool.close();
  for (const started of services.splice(0)) await started.close();
}, 30_000);

describe('Upstreams.forward', () => {
  it("sends the method, the path under the instance's base path, the headers made for its host, and the body", async () => {
    const target = await service(answering);
    const pool = upstreams(async () => [`${target.url}/base/`]);
    const outcome = await pool.forward(
      requestFor('product', { method: 'POST', body: Buffer.from('{"a":1}'), headers: (host) => ['host', host, 'content-length', '7'] }),
    ).outcome;
    expect(await bodyOf(outcome)).toBe('ok');
    expect(outcome).toMatchObject({ kind: 'response', attempts: 1, instance: `${target.url}/base/` });
    expect(target.seen).toEqual([expect.objectContaining({ method: 'POST', url: '/base/products?limit=5', body: '{"a":1}' })]);
    expect(target.seen[0].headers.host).toBe(new URL(target.url).host);
  });

  it('takes the instances in turn', async () => {
    const [a, b] = [await service(answering), await service(answering)];
    const pool = upstreams(async () => [a.url, b.url]);
    const served: string[] = [];
    for (let index = 0; index < 4; index += 1) {
      const outcome = await pool.forward(requestFor('product')).outcome;
      await bodyOf(outcome);
      if (outcome.kind === 'response') served.push(outcome.instance);
    }
    expect(served).toEqual([a.url, b.url, a.url, b.url]);
  });

  it('retries once on the next instance when the connection is reset before an answer, or refused', async () => {
    const [reset, good] = [await service(resetting), await service(answering)];
    const refused = await refusingUrl();
    const resetFirst = await upstreams(async () => [reset.url, good.url]).forward(requestFor('product')).outcome;
    expect(await bodyOf(resetFirst)).toBe('ok');
    expect(resetFirst).toMatchObject({ attempts: 2, instance: good.url });
    const refusedFirst = await upstreams(async () => [refused, good.url]).forward(requestFor('product')).outcome;
    expect(await bodyOf(refusedFirst)).toBe('ok');
    expect(refusedFirst).toMatchObject({ attempts: 2, instance: good.url });
  });

  it('gives up after the second attempt, naming the last failure', async () => {
    const reset = await service(resetting);
    const outcome = await upstreams(async () => [reset.url]).forward(requestFor('product')).outcome;
    expect(outcome).toEqual({ kind: 'unreachable', attempts: 2, instance: reset.url, detail: 'ECONNRESET' });
    expect(reset.seen).toHaveLength(2);
  });

  it('skips an instance URL it cannot use, and says why when no other is left', async () => {
    const good = await service(answering);
    const skipped = await upstreams(async () => ['https://10.0.0.1:8443', good.url]).forward(requestFor('product')).outcome;
    expect(await bodyOf(skipped)).toBe('ok');
    expect(skipped).toMatchObject({ attempts: 2, instance: good.url });
    expect(await upstreams(async () => ['not a url']).forward(requestFor('product')).outcome).toMatchObject({
      kind: 'unreachable',
      detail: expect.stringMatching(/is not a URL/),
    });
  });

  it('is unreachable with no instance, or when resolving fails (rejecting or throwing)', async () => {
    expect(await upstreams(async () => []).forward(requestFor('order')).outcome).toEqual({
      kind: 'unreachable',
      attempts: 0,
      detail: 'no healthy instance of order',
    });
    expect(await upstreams(async () => Promise.reject(new Error('registry down'))).forward(requestFor('order')).outcome).toMatchObject({
      kind: 'unreachable',
      detail: 'resolving order failed: registry down',
    });
    const throwing = (): Promise<readonly string[]> => {
      throw new Error('bad resolver');
    };
    expect(await upstreams(throwing).forward(requestFor('order')).outcome).toMatchObject({
      kind: 'unreachable',
      detail: 'resolving order failed: bad resolver',
    });
  });

  it('times out while resolving, with no attempt, and while a service holds its answer, naming it', async () => {
    let release: (instances: readonly string[]) => void = () => undefined;
    const hanging = new Promise<readonly string[]>((resolve) => {
      release = resolve;
    });
    expect(await upstreams(() => hanging, 100).forward(requestFor('order')).outcome).toEqual({ kind: 'timeout', attempts: 0 });
    release([]);

    const silent = await service(() => undefined);
    const outcome = await upstreams(async () => [silent.url], 100).forward(requestFor('order')).outcome;
    expect(outcome).toEqual({ kind: 'timeout', attempts: 1, instance: silent.url });
  });

  it('rejects, without ending the process, when Node refuses the headers, on the first attempt or on the retry', async () => {
    const good = await service(answering);
    const badHeaders = (): string[] => ['host', 'x', 'x-user-id', 'li\u96f7'];
    await expect(upstreams(async () => [good.url]).forward(requestFor('product', { headers: badHeaders })).outcome).rejects.toMatchObject({
      code: 'ERR_INVALID_CHAR',
    });

    const reset = await service(resetting);
    let calls = 0;
    const badOnRetry = (host: string): string[] => (calls++ === 0 ? ['host', host] : badHeaders());
    await expect(upstreams(async () => [reset.url, good.url]).forward(requestFor('product', { headers: badOnRetry })).outcome).rejects.toMatchObject({
      code: 'ERR_INVALID_CHAR',
    });
    expect(good.seen).toHaveLength(0);
  });

  it('drops the request in flight when abandoned, and settles as abandoned; abandoning after the answer changes nothing', async () => {
    const closed: Promise<void>[] = [];
    const silent = await service((request) => closed.push(new Promise((resolve) => request.socket.once('close', () => resolve()))));
    const forwarding = upstreams(async () => [silent.url]).forward(requestFor('product'));
    await silent.arrived(1);
    forwarding.abandon();
    expect(await forwarding.outcome).toEqual({ kind: 'abandoned', attempts: 1 });
    // The service sees the connection go: nothing waits on its answer any more.
    await Promise.all(closed);

    const good = await service(answering);
    const answered = upstreams(async () => [good.url]).forward(requestFor('product'));
    const outcome = await answered.outcome;
    answered.abandon();
    expect(await answered.outcome).toBe(outcome);
    expect(await bodyOf(outcome)).toBe('ok');
  });
});
