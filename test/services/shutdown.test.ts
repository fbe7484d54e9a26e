/**
 * The product service as a process from its bundle: it registers itself, and on SIGTERM deregisters,
 * finishes every request it accepted, and exits 0. DynamoDB is slowed down so that requests are
 * still in flight when the signal comes.
 */
import { createServer, request as httpRequest } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiscoverInstancesCommand } from '@aws-sdk/client-servicediscovery';
import { PRODUCTS_TABLE } from '../../lib/data/tables';
import { SCOPES, SERVICES } from '../../lib/routes/gatehouse-routes';
import { SERVICE_ENV } from '../../lib/runtime-env';
import { ProductStore } from '../../services/product/products';
import { asUser, request } from '../support/http';
import { bundle, startProcess } from '../support/processes';
import type { ServiceProcess } from '../support/processes';
import { startDynamo, startRegistry, TEST_NAMESPACE } from '../support/services';

const DB_DELAY_MS = 300;
let data: Awaited<ReturnType<typeof startDynamo>>;
let cloudMap: Awaited<ReturnType<typeof startRegistry>>;
let slowProxy: Server | undefined;
let serverFile: string | undefined;
let service: ServiceProcess | undefined;
/** DynamoDB calls the slow proxy has received. */
let dbCalls = 0;

/** Forwards to dynalite after a delay: every DynamoDB call of the service takes at least DB_DELAY_MS. */
function startSlowProxy(target: string): Promise<Server> {
  const { hostname, port } = new URL(target);
  const proxy = createServer((incoming, outgoing) => {
    dbCalls += 1;
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      setTimeout(() => {
        const forwarded = httpRequest({ hostname, port, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        });
        forwarded.on('error', () => outgoing.destroy());
        forwarded.end(Buffer.concat(chunks));
      }, DB_DELAY_MS);
    });
  });
  return new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => resolve(proxy)));
}

// Bundling and starting dynalite and the registry: generous for a loaded two-core machine. Each part is
// kept as soon as it exists, so that afterAll stops whatever started even when a later step failed.
beforeAll(async () => {
  serverFile = await bundle('product');
  data = await startDynamo();
  cloudMap = await startRegistry();
  await data.dynamo.ensureTables([{ definition: PRODUCTS_TABLE, name: data.tableName(PRODUCTS_TABLE.id) }]);
  slowProxy = await startSlowProxy(data.dynamo.endpoint);
}, 120_000);
afterAll(async () => {
  if (service !== undefined && service.child.exitCode === null && service.child.signalCode === null) {
    service.child.kill('SIGKILL');
    await service.exited;
  }
  if (slowProxy !== undefined) {
    const proxy = slowProxy;
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
  }
  await cloudMap?.close();
  await data?.close();
  if (serverFile !== undefined) fs.rmSync(path.dirname(serverFile), { recursive: true, force: true });
}, 60_000);

const discover = async () =>
  (await cloudMap.client.send(new DiscoverInstancesCommand({ NamespaceName: TEST_NAMESPACE, ServiceName: SERVICES.product }))).Instances ?? [];

it('finishes every accepted request after SIGTERM, deregisters, and exits 0', async () => {
  if (serverFile === undefined || slowProxy === undefined) throw new Error('beforeAll did not start everything (see its error)');
  service = await startProcess(serverFile, {
    [SERVICE_ENV.port]: '0',
    [SERVICE_ENV.host]: '127.0.0.1',
    [SERVICE_ENV.productsTable]: data.tableName(PRODUCTS_TABLE.id),
    [SERVICE_ENV.dynamodbEndpoint]: `http://127.0.0.1:${(slowProxy.address() as AddressInfo).port}`,
    [SERVICE_ENV.cloudMapEndpoint]: cloudMap.registry.endpoint,
    [SERVICE_ENV.registryServiceId]: cloudMap.productServiceId,
    [SERVICE_ENV.instanceId]: 'product-under-test',
    [SERVICE_ENV.advertiseHost]: '127.0.0.1',
    [SERVICE_ENV.shutdownTimeoutMs]: '10000',
  });
  const { port } = new URL(service.url);
  expect((await discover()).map((instance) => [instance.InstanceId, instance.Attributes?.AWS_INSTANCE_PORT])).toEqual([['product-under-test', port]]);

  const writer = asUser('alice', SCOPES.productsWrite);
  const inFlight = Array.from({ length: 40 }, (_, index) =>
    request(`${service!.url}/products`, {
      method: 'POST',
      headers: writer,
      body: { name: `drain-${index}`, price: { amount: 100, currency: 'EUR' }, stock: 1 },
    }),
  );
  // Every request is accepted and waiting on the slowed DynamoDB when the signal comes.
  const callsBefore = dbCalls;
  while (dbCalls < callsBefore + 40) await new Promise((resolve) => setTimeout(resolve, 5));
  service.child.kill('SIGTERM');

  const responses = await Promise.all(inFlight);
  expect(responses.map((response) => response.status)).toEqual(Array(40).fill(201));

  expect(await service.exited).toBe(0);
  expect(await discover()).toEqual([]);

  const stored = await new ProductStore(data.db, data.tableName(PRODUCTS_TABLE.id)).list({ limit: 100 });
  expect(stored.items.map((item) => item.name).sort()).toEqual(responses.map((response) => String(response.body.name)).sort());
  expect(service.logs.map((line) => line.msg)).toEqual(expect.arrayContaining(['stopping: draining in-flight requests', 'stopped']));
  await expect(fetch(`${service.url}/health`)).rejects.toThrow();
}, 20_000);

it('logs one JSON line per request with its id, method, path, status and duration, and never the body', () => {
  const lines = service!.logs.filter((line) => line.msg === 'request');
  expect(lines).toHaveLength(40);
  expect(lines[0]).toEqual({
    level: 'info',
    time: expect.any(String),
    service: 'product',
    requestId: expect.any(String),
    method: 'POST',
    path: '/products',
    status: 201,
    ms: expect.any(Number),
    msg: 'request',
  });
  expect(JSON.stringify(service!.logs)).not.toContain('drain-');
});
