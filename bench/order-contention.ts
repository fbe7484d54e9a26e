/**
 * Orders under contention, and the round trips of one order. The services run as processes from their
 * bundles (as in `npm start`), over dynalite and the embedded registry, with a counting proxy in front
 * of DynamoDB and of the product service:
 *
 * - one-product contention: `concurrency` orders at once for one product (stock `stock`), each with its
 *   own key; p50, p99 and max of the answer times, the answers by status, and how many answered inside
 *   the gateway's integration timeout (10 s, the CDK default);
 * - round trips: one one-item order at rest, the DynamoDB and product-service calls made before its
 *   answer (all sequential for one item) and after it.
 *
 * Run alone: `node --import tsx bench/order-contention.ts`.
 */
import { createServer, request as httpRequest } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RegisterInstanceCommand } from '@aws-sdk/client-servicediscovery';
import { ORDERS_TABLE, PRODUCTS_TABLE } from '../lib/data/tables';
import { GATEWAY_HEADERS, IDEMPOTENCY_KEY_HEADER } from '../lib/routes/headers';
import { SCOPES, SERVICES } from '../lib/routes/gatehouse-routes';
import { SERVICE_ENV } from '../lib/runtime-env';
import { SERVICE_ENTRIES } from '../lib/gatehouse-services';
import { bundleService } from '../lib/service/service-bundle';
import { createServiceDiscoveryClient } from '../services/common/lifecycle';
import { LocalDynamo } from '../local/dynamo/local-dynamo';
import { startServiceProcess } from '../local/processes';
import type { ServiceProcess } from '../local/processes';
import { LocalRegistry } from '../local/registry';
import { median } from './stats';

/** Settings of the section. */
export interface ContentionSettings {
  readonly concurrency: number;
  readonly stock: number;
  /** The gateway's integration timeout, in ms. */
  readonly timeoutMs: number;
}

export const CONTENTION_DEFAULTS: ContentionSettings = { concurrency: 200, stock: 100, timeoutMs: 10_000 };

/** What the section measured. */
export interface OrderContentionResult {
  readonly concurrency: number;
  readonly stock: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Answers by HTTP status (0: no answer). */
  readonly statuses: Readonly<Record<string, number>>;
  readonly insideTimeout: number;
  readonly timeoutMs: number;
  /** Orders placed, and units taken from stock. */
  readonly placed: number;
  readonly stockTaken: number;
  /**
   * Units still reserved for requests that answered 503 while their reserve was on its way: released by
   * the sweeper once their lease is over (stockTaken = placed + awaitingSweep, or stock was lost).
   */
  readonly awaitingSweep: number;
  /** One one-item order: calls before its answer (sequential), and after it. */
  readonly roundTrips: {
    readonly beforeAnswer: Readonly<Record<string, number>>;
    readonly beforeAnswerTotal: number;
    readonly afterAnswer: Readonly<Record<string, number>>;
  };
}

const NAMESPACE = 'gatehouse.bench';

/** A proxy that counts calls by a label taken from each call. */
async function countingProxy(
  target: string,
  label: (method: string, headers: Record<string, string | string[] | undefined>, body: string) => string,
): Promise<{ url: string; counts: Map<string, number>; close(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const counts = new Map<string, number>();
  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const key = label(incoming.method ?? 'GET', incoming.headers, body.toString('utf8'));
      counts.set(key, (counts.get(key) ?? 0) + 1);
      const forwarded = httpRequest({ hostname, port, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      });
      forwarded.on('error', () => outgoing.destroy());
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Runs the section. */
export async function runOrderContention(settings: ContentionSettings = CONTENTION_DEFAULTS): Promise<OrderContentionResult> {
  const stops: (() => Promise<unknown>)[] = [];
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-contention-'));
  stops.push(async () => fs.rmSync(stateDir, { recursive: true, force: true }));
  try {
    const [productBundle, orderBundle] = await Promise.all([
      bundleService(SERVICE_ENTRIES.product, path.join(stateDir, 'product')),
      bundleService(SERVICE_ENTRIES.order, path.join(stateDir, 'order')),
    ]);
    const dynamo = await LocalDynamo.start();
    stops.push(() => dynamo.close());
    await dynamo.ensureTables([PRODUCTS_TABLE, ORDERS_TABLE].map((definition) => ({ definition, name: definition.id })));
    const registry = await LocalRegistry.start({ services: Object.values(SERVICES).map((name) => ({ namespace: NAMESPACE, name })) });
    stops.push(() => registry.close());
    const db = await countingProxy(dynamo.endpoint, (_method, headers, body) => {
      const target =
        String(headers['x-amz-target'] ?? '')
          .split('.')
          .pop() ?? '?';
      return `${body.includes(`"TableName":"${ORDERS_TABLE.id}"`) ? 'order' : 'product'} DynamoDB ${target}`;
    });
    stops.push(() => db.close());

    const common = { [SERVICE_ENV.port]: '0', [SERVICE_ENV.host]: '127.0.0.1', [SERVICE_ENV.region]: 'local', [SERVICE_ENV.dynamodbEndpoint]: db.url };
    const started: ServiceProcess[] = [];
    stops.push(async () => {
      for (const service of started) service.child.kill('SIGTERM');
      await Promise.all(started.map((service) => service.exited));
    });
    const product = await startServiceProcess(productBundle.file, { ...common, [SERVICE_ENV.productsTable]: PRODUCTS_TABLE.id }, { keepLogs: 0 });
    started.push(product);
    const productHttp = await countingProxy(
      product.url,
      (method, _headers, body) => `order → product HTTP ${method === 'PUT' ? 'reserve' : body.includes('"token"') ? 'release' : 'commit'}`,
    );
    stops.push(() => productHttp.close());
    // Registered at the counting proxy, as ECS would register the task.
    const cloudMap = createServiceDiscoveryClient(registry.endpoint, 'local');
    stops.push(async () => cloudMap.destroy());
    const { hostname, port } = new URL(productHttp.url);
    await cloudMap.send(
      new RegisterInstanceCommand({
        ServiceId: registry.serviceId(NAMESPACE, SERVICES.product),
        InstanceId: 'product-1',
        Attributes: { AWS_INSTANCE_IPV4: hostname, AWS_INSTANCE_PORT: port },
      }),
    );
    const order = await startServiceProcess(
      orderBundle.file,
      {
        ...common,
        [SERVICE_ENV.ordersTable]: ORDERS_TABLE.id,
        [SERVICE_ENV.cloudMapEndpoint]: registry.endpoint,
        [SERVICE_ENV.discoveryNamespace]: NAMESPACE,
        [SERVICE_ENV.sweepIntervalMs]: '0',
      },
      { keepLogs: 0 },
    );
    started.push(order);

    const admin = { [GATEWAY_HEADERS.userId]: 'bench-admin', [GATEWAY_HEADERS.userScopes]: SCOPES.productsWrite };
    const createProduct = async (stock: number): Promise<string> => {
      const response = await fetch(`${product.url}/products`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'hot', price: { amount: 100, currency: 'EUR' }, stock }),
      });
      return ((await response.json()) as { id: string }).id;
    };
    let keys = 0;
    const place = async (productId: string): Promise<{ status: number; ms: number }> => {
      const begun = performance.now();
      try {
        const response = await fetch(`${order.url}/orders`, {
          method: 'POST',
          headers: {
            [GATEWAY_HEADERS.userId]: `bench-${keys % 50}`,
            [GATEWAY_HEADERS.userScopes]: SCOPES.ordersWrite,
            [IDEMPOTENCY_KEY_HEADER]: `bench-${(keys += 1)}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ items: [{ productId, quantity: 1 }] }),
          signal: AbortSignal.timeout(60_000),
        });
        await response.arrayBuffer();
        return { status: response.status, ms: performance.now() - begun };
      } catch {
        return { status: 0, ms: performance.now() - begun };
      }
    };

    // Round trips of one order at rest (a warm-up order first, so discovery is cached).
    const quiet = await createProduct(10);
    await place(quiet);
    await waitForQuiet([db.counts, productHttp.counts]);
    const before = snapshot([db.counts, productHttp.counts]);
    await place(quiet);
    const atAnswer = snapshot([db.counts, productHttp.counts]);
    await waitForQuiet([db.counts, productHttp.counts]);
    const after = snapshot([db.counts, productHttp.counts]);
    const beforeAnswer = difference(atAnswer, before);
    const afterAnswer = difference(after, atAnswer);

    // One hot product.
    const hot = await createProduct(settings.stock);
    const results = await Promise.all(Array.from({ length: settings.concurrency }, () => place(hot)));
    const times = results.map((result) => result.ms).sort((a, b) => a - b);
    const statuses: Record<string, number> = {};
    for (const result of results) statuses[String(result.status)] = (statuses[String(result.status)] ?? 0) + 1;
    // Let the commits after the answers land, so that what is still reserved is what the sweeper will release.
    await waitForQuiet([db.counts, productHttp.counts]);
    const remaining = (await (
      await fetch(`${product.url}/products/${hot}`, { headers: { [GATEWAY_HEADERS.userId]: 'bench-admin', [GATEWAY_HEADERS.userScopes]: SCOPES.productsRead } })
    ).json()) as { stock: number };
    const open = (await (
      await fetch(`${product.url}/internal/reservations-open`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    ).json()) as { items: { productId: string; quantity: number }[] };
    const awaitingSweep = open.items.filter((reservation) => reservation.productId === hot).reduce((sum, reservation) => sum + reservation.quantity, 0);
    return {
      concurrency: settings.concurrency,
      stock: settings.stock,
      p50Ms: Math.round(median(times)),
      p99Ms: Math.round(times[Math.min(times.length - 1, Math.floor(times.length * 0.99))]),
      maxMs: Math.round(times[times.length - 1]),
      statuses,
      insideTimeout: results.filter((result) => result.status !== 0 && result.ms < settings.timeoutMs).length,
      timeoutMs: settings.timeoutMs,
      placed: statuses['201'] ?? 0,
      stockTaken: settings.stock - remaining.stock,
      awaitingSweep,
      roundTrips: { beforeAnswer, beforeAnswerTotal: Object.values(beforeAnswer).reduce((sum, count) => sum + count, 0), afterAnswer },
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

function snapshot(maps: readonly Map<string, number>[]): Map<string, number> {
  return new Map(maps.flatMap((map) => [...map]));
}

function difference(later: Map<string, number>, earlier: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...later].map(([key, count]) => [key, count - (earlier.get(key) ?? 0)]).filter(([, count]) => Number(count) > 0));
}

/** Waits until no call has come for 300 ms (work after an answer has settled). */
async function waitForQuiet(maps: readonly Map<string, number>[]): Promise<void> {
  let last = JSON.stringify([...snapshot(maps)]);
  for (let round = 0; round < 50; round += 1) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const now = JSON.stringify([...snapshot(maps)]);
    if (now === last) return;
    last = now;
  }
}

if (require.main === module) {
  runOrderContention().then(
    (result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
