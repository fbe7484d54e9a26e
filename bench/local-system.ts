/**
 * The local system for the load sections, started the way local/start.ts starts it (same bundles,
 * registry, dev issuer, authorizer and gateway), with one difference: a `bench` tier whose limits are
 * far above what one machine can send, and no route-level throttles (POST /orders has 50/s, burst 100),
 * because those would make the figures a measure of the configured limits instead of the gateway and
 * the services. Throttle, key and quota checks still run on every request; they just never refuse.
 *
 * Run as its own process by bench/run.ts, so that autocannon does not share the gateway's event loop.
 * It prints one JSON line ({@link LocalSystemInfo}) once everything listens, and stops on SIGINT/SIGTERM.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AUTHORIZER_DEFAULTS, buildScopeTable } from '../lambda/authorizer/config';
import { createAuthorizerHandler } from '../lambda/authorizer/handler';
import { IDEMPOTENCY_TABLE, ORDERS_TABLE, PRODUCTS_TABLE } from '../lib/data/tables';
import { GATEHOUSE_ROUTES, SCOPES, SERVICES } from '../lib/routes/gatehouse-routes';
import type { RouteSpec } from '../lib/routes/route-spec';
import { SERVICE_ENV } from '../lib/runtime-env';
import { bundleService, SERVICE_ENTRIES } from '../lib/service/service-bundle';
import { createServiceDiscoveryClient } from '../services/common/lifecycle';
import { InstanceDirectory } from '../services/order/discovery';
import { LocalDynamo } from '../local/dynamo/local-dynamo';
import { LocalGateway } from '../local/gateway';
import { DEV_AUDIENCE, DEV_ISSUER, DevIssuer, mintDevToken } from '../local/issuer/dev-issuer';
import { startServiceProcess } from '../local/processes';
import type { ServiceProcess } from '../local/processes';
import { LocalRegistry } from '../local/registry';

const NAMESPACE = 'gatehouse.local';
const REGION = 'local';

/** What the parent needs to drive load at the system. */
export interface LocalSystemInfo {
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly token: string;
  /** One product instance, called directly (the gateway balances over two). */
  readonly productUrl: string;
  readonly orderUrl: string;
  readonly productIds: readonly string[];
  /** The bench tier's limits, stated in the results. */
  readonly tier: { readonly rateLimit: number; readonly burstLimit: number };
}

/** The bench tier: limits no 2-core machine reaches, so that the gateway is measured, not the throttle. */
export const BENCH_TIER = { name: 'bench', rateLimit: 1_000_000, burstLimit: 1_000_000 } as const;

/** The route with its method throttle lifted (see the module comment). */
function withoutThrottle(route: RouteSpec): RouteSpec {
  const { throttle, ...rest } = route;
  void throttle;
  return rest;
}

async function main(): Promise<void> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-'));
  const stops: (() => Promise<unknown>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    fs.rmSync(stateDir, { recursive: true, force: true });
  };
  const shutdown = (): void => void stopAll().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  try {
    const [product, order] = await Promise.all([
      bundleService(SERVICE_ENTRIES.product, path.join(stateDir, 'bundles', SERVICES.product)),
      bundleService(SERVICE_ENTRIES.order, path.join(stateDir, 'bundles', SERVICES.order)),
    ]);
    const dynamo = await LocalDynamo.start({});
    stops.push(() => dynamo.close());
    await dynamo.ensureTables([
      { definition: PRODUCTS_TABLE, name: PRODUCTS_TABLE.id },
      { definition: ORDERS_TABLE, name: ORDERS_TABLE.id },
      { definition: IDEMPOTENCY_TABLE, name: IDEMPOTENCY_TABLE.id },
    ]);
    const registry = await LocalRegistry.start({ services: [{ namespace: NAMESPACE, name: SERVICES.product }, { namespace: NAMESPACE, name: SERVICES.order }] });
    stops.push(() => registry.close());
    const env = (service: string, instance: string, extra: Record<string, string>): Record<string, string> => ({
      [SERVICE_ENV.port]: '0',
      [SERVICE_ENV.host]: '127.0.0.1',
      [SERVICE_ENV.region]: REGION,
      [SERVICE_ENV.dynamodbEndpoint]: dynamo.endpoint,
      [SERVICE_ENV.cloudMapEndpoint]: registry.endpoint,
      [SERVICE_ENV.registryServiceId]: registry.serviceId(NAMESPACE, service),
      [SERVICE_ENV.instanceId]: instance,
      [SERVICE_ENV.advertiseHost]: '127.0.0.1',
      ...extra,
    });
    const start = async (file: string, service: string, instance: string, extra: Record<string, string>): Promise<ServiceProcess> => {
      const started = await startServiceProcess(file, env(service, instance, extra), { keepLogs: 0 });
      stops.push(async () => {
        if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill('SIGTERM');
        await started.exited;
      });
      return started;
    };
    const [product1] = await Promise.all([
      start(product.file, SERVICES.product, 'product-1', { [SERVICE_ENV.productsTable]: PRODUCTS_TABLE.id }),
      start(product.file, SERVICES.product, 'product-2', { [SERVICE_ENV.productsTable]: PRODUCTS_TABLE.id }),
    ]);
    const order1 = await start(order.file, SERVICES.order, 'order-1', {
      [SERVICE_ENV.ordersTable]: ORDERS_TABLE.id,
      [SERVICE_ENV.idempotencyTable]: IDEMPOTENCY_TABLE.id,
      [SERVICE_ENV.discoveryNamespace]: NAMESPACE,
      [SERVICE_ENV.discoveryTtlMs]: '2000',
    });
    const issuer = await DevIssuer.start(stateDir);
    stops.push(() => issuer.close());
    const authorizer = createAuthorizerHandler(
      {
        issuers: [{ issuer: DEV_ISSUER, audience: [DEV_AUDIENCE], jwksUri: issuer.jwksUri }],
        algorithms: AUTHORIZER_DEFAULTS.algorithms,
        clockToleranceSeconds: AUTHORIZER_DEFAULTS.clockToleranceSeconds,
        scopeTable: buildScopeTable(GATEHOUSE_ROUTES),
        jwks: AUTHORIZER_DEFAULTS.jwks,
      },
      { logger: { info: () => undefined, warn: () => undefined, error: () => undefined } },
    );
    const cloudMap = createServiceDiscoveryClient(registry.endpoint, REGION);
    stops.push(async () => cloudMap.destroy());
    const directories = new Map<string, InstanceDirectory>(
      Object.values(SERVICES).map((service) => [service, new InstanceDirectory({ client: cloudMap, namespace: NAMESPACE, service, ttlMs: 1_000 })]),
    );
    const apiKey = `bench-${Date.now().toString(36)}`;
    const gateway = await LocalGateway.start({
      routes: GATEHOUSE_ROUTES.map(withoutThrottle),
      stageName: 'v1',
      tiers: [{ ...BENCH_TIER, apiKeys: [apiKey] }],
      stageThrottle: { rateLimit: BENCH_TIER.rateLimit, burstLimit: BENCH_TIER.burstLimit },
      authorizer,
      authorizerCacheTtlSeconds: 300,
      resolveService: async (service) => {
        const directory = directories.get(service);
        return directory === undefined ? [] : (await directory.instances()).map((instance) => instance.url);
      },
    });
    stops.push(() => gateway.close());

    const token = await mintDevToken(issuer.key, { sub: 'bench-user', scopes: Object.values(SCOPES), ttlSeconds: 3600 });
    // Seeded through the gateway: the services trust only the identity headers the gateway sets.
    const productIds: string[] = [];
    for (let index = 0; index < 10; index += 1) {
      const response = await fetch(new URL('products', gateway.apiUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-api-key': apiKey },
        body: JSON.stringify({ name: `bench product ${index}`, price: { amount: 100 + index, currency: 'EUR' }, stock: 1_000_000_000 }),
      });
      const body = (await response.json()) as { id?: unknown };
      if (!response.ok || typeof body.id !== 'string') throw new Error(`seeding products failed: ${response.status} ${JSON.stringify(body)}`);
      productIds.push(body.id);
    }
    const info: LocalSystemInfo = {
      apiUrl: gateway.apiUrl,
      apiKey,
      token,
      productUrl: product1.url,
      orderUrl: order1.url,
      productIds,
      tier: { rateLimit: BENCH_TIER.rateLimit, burstLimit: BENCH_TIER.burstLimit },
    };
    process.stdout.write(`${JSON.stringify(info)}\n`);
  } catch (error) {
    process.stderr.write(`local-system: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    await stopAll();
    process.exit(1);
  }
}

if (require.main === module) void main();
