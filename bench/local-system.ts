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
import { GATEHOUSE_ROUTES, SCOPES } from '../lib/routes/gatehouse-routes';
import type { RouteSpec } from '../lib/routes/route-spec';
import { mintDevToken } from '../local/issuer/dev-issuer';
import { startLocalSystem } from '../local/system';
import type { LocalSystem } from '../local/system';

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
  const apiKey = `bench-${Date.now().toString(36)}`;
  let system: LocalSystem | undefined;
  const stopAll = async (): Promise<void> => {
    await system?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  };
  const shutdown = (): void => void stopAll().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  try {
    system = await startLocalSystem({
      stateDir,
      port: 0,
      tiers: [{ ...BENCH_TIER, apiKeys: [apiKey] }],
      stageThrottle: { rateLimit: BENCH_TIER.rateLimit, burstLimit: BENCH_TIER.burstLimit },
      routes: GATEHOUSE_ROUTES.map(withoutThrottle),
      serviceLogs: 'none',
      authorizerLogger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    const { gateway, devIssuer, processes } = system;
    if (devIssuer === undefined) throw new Error('the bench system runs the development issuer');
    const url = (instance: string): string => {
      const found = processes.find((entry) => entry.instance === instance);
      if (found === undefined) throw new Error(`no ${instance} process`);
      return found.process.url;
    };

    const token = await mintDevToken(devIssuer.key, { sub: 'bench-user', scopes: Object.values(SCOPES), ttlSeconds: 3600 });
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
      productUrl: url('product-1'),
      orderUrl: url('order-1'),
      productIds,
      tier: { rateLimit: BENCH_TIER.rateLimit, burstLimit: BENCH_TIER.burstLimit },
    };
    process.stdout.write(`${JSON.stringify(info)}\n`);
  } catch (error) {
    process.stderr.write(`local-system: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    await stopAll();
    process.exit(1);
  }
}

if (require.main === module) void main();
