/**
 * Starting the whole system on one machine: dynalite with the tables, the embedded registry, the
 * product service twice and the order service as processes from their bundles, the development issuer
 * (or an external one), the authorizer in process, and the local gateway. `npm start` and the
 * benchmarks both start it through here; they differ only in their options.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AUTHORIZER_DEFAULTS, buildScopeTable } from '../lambda/authorizer/config';
import type { TrustedIssuer } from '../lambda/authorizer/config';
import { createAuthorizerHandler } from '../lambda/authorizer/handler';
import type { Logger } from '../lambda/authorizer/logger';
import { IDEMPOTENCY_TABLE, ORDERS_TABLE, PRODUCTS_TABLE } from '../lib/data/tables';
import { GATEHOUSE_ROUTES, SERVICES } from '../lib/routes/gatehouse-routes';
import type { RouteSpec, RouteThrottle } from '../lib/routes/route-spec';
import { SERVICE_ENV } from '../lib/runtime-env';
import { bundleService, SERVICE_ENTRIES } from '../lib/service/service-bundle';
import { createServiceDiscoveryClient } from '../services/common/lifecycle';
import { InstanceDirectory } from '../services/order/discovery';
import { LocalDynamo } from './dynamo/local-dynamo';
import { LocalGateway } from './gateway';
import type { LocalTier } from './gateway';
import { DEV_AUDIENCE, DEV_ISSUER, DevIssuer } from './issuer/dev-issuer';
import { startServiceProcess } from './processes';
import type { ServiceProcess } from './processes';
import { LocalRegistry } from './registry';

/** The Cloud Map namespace of the local system. */
export const LOCAL_NAMESPACE = 'gatehouse.local';
/** The stage of the local gateway, as on AWS. */
export const LOCAL_STAGE = 'v1';
const REGION = 'local';

/** Options of {@link startLocalSystem}. */
export interface LocalSystemOptions {
  /** Bundles, dev issuer key, logs. */
  readonly stateDir: string;
  /** The gateway port; 0 picks a free one. */
  readonly port: number;
  /** The usage-plan tiers and their keys. */
  readonly tiers: readonly LocalTier[];
  /** @default - 500 requests per second, bursts of 1000 */
  readonly stageThrottle?: RouteThrottle;
  /** @default - GATEHOUSE_ROUTES */
  readonly routes?: readonly RouteSpec[];
  /** Keep DynamoDB data in this folder. @default - in memory */
  readonly dataDir?: string;
  /** An external issuer to trust. @default - the development issuer */
  readonly issuer?: TrustedIssuer;
  /** Where the service processes' log lines go. @default - `stateDir/logs/<instance>.log` */
  readonly serviceLogs?: 'files' | 'none';
  /** The authorizer's logger. @default - JSON lines on stdout */
  readonly authorizerLogger?: Logger;
  /** Told when a service process exits while the system is not stopping. */
  readonly onUnexpectedExit?: (instance: string, code: number | null) => void;
}

/** A running local system. */
export interface LocalSystem {
  readonly gateway: LocalGateway;
  readonly trusted: TrustedIssuer;
  /** The development issuer, unless an external one is trusted. */
  readonly devIssuer?: DevIssuer;
  readonly processes: readonly { readonly instance: string; readonly process: ServiceProcess }[];
  readonly logsDir: string;
  /** Stops everything, in reverse order of starting; safe to call twice. */
  stop(): Promise<void>;
}

/** Starts the system; if any part fails to start, what had started is stopped and the error thrown. */
export async function startLocalSystem(options: LocalSystemOptions): Promise<LocalSystem> {
  const stops: (() => Promise<unknown>)[] = [];
  let stopping = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    for (const step of stops.reverse()) {
      await step().catch((error: unknown) => process.stderr.write(`stopping: ${error instanceof Error ? error.message : String(error)}\n`));
    }
    stops.length = 0;
  };
  const logsDir = path.join(options.stateDir, 'logs');
  try {
    fs.mkdirSync(logsDir, { recursive: true });
    const bundlesDir = path.join(options.stateDir, 'bundles');
    const [product, order] = await Promise.all([
      bundleService(SERVICE_ENTRIES.product, path.join(bundlesDir, SERVICES.product)),
      bundleService(SERVICE_ENTRIES.order, path.join(bundlesDir, SERVICES.order)),
    ]);

    const dynamo = await LocalDynamo.start(options.dataDir !== undefined ? { dataDir: options.dataDir } : {});
    stops.push(() => dynamo.close());
    await dynamo.ensureTables([PRODUCTS_TABLE, ORDERS_TABLE, IDEMPOTENCY_TABLE].map((definition) => ({ definition, name: definition.id })));

    const registry = await LocalRegistry.start({ services: Object.values(SERVICES).map((name) => ({ namespace: LOCAL_NAMESPACE, name })) });
    stops.push(() => registry.close());

    const start = async (file: string, service: string, instance: string, env: Record<string, string>): Promise<{ instance: string; process: ServiceProcess }> => {
      const log = options.serviceLogs === 'none' ? undefined : fs.createWriteStream(path.join(logsDir, `${instance}.log`), { flags: 'a' });
      const started = await startServiceProcess(
        file,
        {
          [SERVICE_ENV.port]: '0',
          [SERVICE_ENV.host]: '127.0.0.1',
          [SERVICE_ENV.region]: REGION,
          [SERVICE_ENV.dynamodbEndpoint]: dynamo.endpoint,
          [SERVICE_ENV.cloudMapEndpoint]: registry.endpoint,
          [SERVICE_ENV.registryServiceId]: registry.serviceId(LOCAL_NAMESPACE, service),
          [SERVICE_ENV.instanceId]: instance,
          [SERVICE_ENV.advertiseHost]: '127.0.0.1',
          ...env,
        },
        { ...(log !== undefined && { onLine: (line: string) => log.write(`${line}\n`) }), keepLogs: 0 },
      );
      stops.push(async () => {
        if (started.child.exitCode === null && started.child.signalCode === null) {
          started.child.kill('SIGTERM');
          const timer = setTimeout(() => started.child.kill('SIGKILL'), 30_000);
          await started.exited;
          clearTimeout(timer);
        }
        log?.end();
      });
      void started.exited.then((code) => {
        if (!stopping) options.onUnexpectedExit?.(instance, code);
      });
      return { instance, process: started };
    };
    const processes = await Promise.all([
      start(product.file, SERVICES.product, 'product-1', { [SERVICE_ENV.productsTable]: PRODUCTS_TABLE.id }),
      start(product.file, SERVICES.product, 'product-2', { [SERVICE_ENV.productsTable]: PRODUCTS_TABLE.id }),
      start(order.file, SERVICES.order, 'order-1', {
        [SERVICE_ENV.ordersTable]: ORDERS_TABLE.id,
        [SERVICE_ENV.idempotencyTable]: IDEMPOTENCY_TABLE.id,
        [SERVICE_ENV.discoveryNamespace]: LOCAL_NAMESPACE,
        [SERVICE_ENV.discoveryTtlMs]: '2000',
      }),
    ]);

    let devIssuer: DevIssuer | undefined;
    let trusted = options.issuer;
    if (trusted === undefined) {
      const issuer = await DevIssuer.start(options.stateDir);
      stops.push(() => issuer.close());
      devIssuer = issuer;
      trusted = { issuer: DEV_ISSUER, audience: [DEV_AUDIENCE], jwksUri: issuer.jwksUri };
    }
    const routes = options.routes ?? GATEHOUSE_ROUTES;
    const authorizer = createAuthorizerHandler(
      {
        issuers: [trusted],
        algorithms: AUTHORIZER_DEFAULTS.algorithms,
        clockToleranceSeconds: AUTHORIZER_DEFAULTS.clockToleranceSeconds,
        scopeTable: buildScopeTable(routes),
        jwks: AUTHORIZER_DEFAULTS.jwks,
      },
      { prefetchKeys: true, ...(options.authorizerLogger !== undefined && { logger: options.authorizerLogger }) },
    );

    // The gateway finds the services the way the order service finds products: through the registry.
    const cloudMap = createServiceDiscoveryClient(registry.endpoint, REGION);
    stops.push(async () => cloudMap.destroy());
    const directories = new Map<string, InstanceDirectory>(
      Object.values(SERVICES).map((service) => [service, new InstanceDirectory({ client: cloudMap, namespace: LOCAL_NAMESPACE, service, ttlMs: 1_000 })]),
    );
    const gateway = await LocalGateway.start({
      routes,
      stageName: LOCAL_STAGE,
      port: options.port,
      tiers: options.tiers,
      stageThrottle: options.stageThrottle ?? { rateLimit: 500, burstLimit: 1000 },
      authorizer,
      authorizerCacheTtlSeconds: 300,
      resolveService: async (service) => {
        const directory = directories.get(service);
        return directory === undefined ? [] : (await directory.instances()).map((instance) => instance.url);
      },
    });
    stops.push(() => gateway.close());
    return { gateway, trusted, ...(devIssuer !== undefined && { devIssuer }), processes, logsDir, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
