/**
 * Starting the whole system on one machine: dynalite with the tables, the embedded registry and the
 * development issuer (each its own process), the product service twice and the order service as
 * supervised processes from their bundles, the authorizer in process, and the local gateway. `npm start`
 * and the benchmarks both start it through here; they differ only in their options.
 *
 * The gateway's process runs only the gateway and the authorizer (as API Gateway does); everything
 * else runs in child processes that signal readiness, so that their work never takes its event loop.
 * Parts that do not depend on each other start together: bundles are reused while their inputs are
 * unchanged, and the parts, the services and the gateway start as soon as what they need is up.
 *
 * Like ECS, the runtime replaces a service process that dies: it leaves the gateway's targets and the
 * registry at once, and starts again with backoff (local/supervisor.ts). The registry also checks each
 * instance's /health, so that one that hangs is reported UNHEALTHY (local/registry/health-check.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DeregisterInstanceCommand, InstanceNotFound } from '@aws-sdk/client-servicediscovery';
import { AUTHORIZER_DEFAULTS, buildScopeTable } from '../lib/auth/authorizer-contract';
import type { TrustedIssuer } from '../lib/auth/authorizer-contract';
import { createAuthorizerHandler } from '../lambda/authorizer/handler';
import type { Logger } from '../lambda/authorizer/logger';
import { ORDERS_TABLE, PRODUCTS_TABLE } from '../lib/data/tables';
import type { AuthorizerSettings } from '../lib/config';
import { GATEHOUSE_ROUTES, SERVICES } from '../lib/routes/gatehouse-routes';
import type { GatewaySpec } from '../lib/routes/gateway-spec';
import { GATEWAY_DEFAULTS, resolveGatewaySpec, serviceBudgetMs } from '../lib/routes/gateway-spec';
import type { RouteSpec, RouteThrottle } from '../lib/routes/route-spec';
import { SERVICE_ENV } from '../lib/runtime-env';
import { SERVICE_ENTRIES } from '../lib/gatehouse-services';
import { bundleService } from '../lib/service/service-bundle';
import { createServiceDiscoveryClient } from '../services/common/lifecycle';
import { InstanceDirectory } from '../services/order/discovery';
import { cachedBundle, cachedPartsBundle, NODE_MODULES } from './bundle-cache';
import type { CachedBundle } from './bundle-cache';
import { LocalGateway, localGatewayOptionsOf } from './gateway';
import type { LocalTier } from './gateway';
import { DEV_AUDIENCE, DEV_ISSUER, devCognitoIssuer, loadOrCreateDevKey } from './issuer/dev-issuer';
import type { DevKey } from './issuer/dev-issuer';
import type { PartName, PartOptions } from './part-main';
import { PhaseLog } from './phases';
import { startServiceProcess, stopProcess } from './processes';
import type { ServiceProcess } from './processes';
import type { HealthCheckOptions, RegistryServiceSpec } from './registry';
import { Supervisor } from './supervisor';
import type { BackoffOptions, Incarnation } from './supervisor';

/** The Cloud Map namespace of the local system when the gateway spec names none (the stack `Gatehouse`'s). */
export const LOCAL_NAMESPACE = GATEWAY_DEFAULTS.namespace;
const REGION = 'local';

/** Options of {@link startLocalSystem}. */
export interface LocalSystemOptions {
  /** Bundles, dev issuer key, logs. */
  readonly stateDir: string;
  /** The gateway port; 0 picks a free one. */
  readonly port: number;
  /** The usage-plan tiers and their keys: the tiers of `gateway`, each with its keys. */
  readonly tiers: readonly LocalTier[];
  /**
   * The gateway's settings, as deployed (`gatewaySpecOf(readGatehouseConfigFile('cdk.json'))`): its
   * stage, throttle, API key source, timeouts and namespace. Its tiers are given with their keys in `tiers`.
   * @default - resolveGatewaySpec(): every default
   */
  readonly gateway?: GatewaySpec;
  /**
   * The authorizer's settings from the app's config (clock tolerance, algorithms, token type, usage
   * identifier claim, user ids); its cache TTL is `gateway.authorizerCacheTtlSeconds`.
   * @default - the authorizer's defaults
   */
  readonly authorizer?: AuthorizerSettings;
  /**
   * The stage throttle instead of `gateway.throttle`, for benchmarks that must not be throttled.
   * @default - gateway.throttle
   */
  readonly stageThrottle?: RouteThrottle;
  /** @default - GATEHOUSE_ROUTES */
  readonly routes?: readonly RouteSpec[];
  /** Keep DynamoDB data in this folder. @default - in memory */
  readonly dataDir?: string;
  /** An external issuer to trust. @default - the development issuer */
  readonly issuer?: TrustedIssuer;
  /** Where the processes' log lines go. @default - `stateDir/logs/<instance>.log` */
  readonly serviceLogs?: 'files' | 'none';
  /** The authorizer's logger. @default - JSON lines on stdout */
  readonly authorizerLogger?: Logger;
  /** Told when a service instance exits unasked, is restarted, or fails to restart. */
  readonly onInstanceEvent?: (event: InstanceEvent) => void;
  /** The waits between restarts of a service instance. @default - 200 ms doubling to 5 s, reset after 10 s up */
  readonly restartBackoff?: BackoffOptions;
  /** The registry's checks of each instance's /health. @default - every second, UNHEALTHY after two failures */
  readonly healthCheck?: HealthCheckOptions;
  /** Receives the timings of the start's phases. @default - kept nowhere */
  readonly phases?: PhaseLog;
  /**
   * Told when dynalite, the registry or the issuer exits while the system runs. They are not restarted:
   * the data and registrations they held in memory would be gone, so the system cannot go on as it was.
   * @default - nothing; `npm start` stops everything and exits with an error
   */
  readonly onPartExit?: (part: PartName, code: number | null) => void;
}

/** What happened to a supervised service instance. */
export type InstanceEvent =
  | { readonly kind: 'exited'; readonly instance: string; readonly code: number | null }
  | { readonly kind: 'restarting'; readonly instance: string; readonly delayMs: number }
  | { readonly kind: 'restarted'; readonly instance: string; readonly pid: number | undefined; readonly url: string }
  | { readonly kind: 'failed'; readonly instance: string; readonly message: string };

/** The development issuer: its JWKS endpoint (served by its own process) and its key, to mint tokens. */
export interface RunningDevIssuer {
  readonly jwksUri: string;
  readonly key: DevKey;
}

/** A running service instance. */
export interface RunningInstance {
  readonly instance: string;
  readonly process: ServiceProcess;
}

/** A running local system. */
export interface LocalSystem {
  readonly gateway: LocalGateway;
  readonly trusted: TrustedIssuer;
  /** The development issuer, unless an external one is trusted. */
  readonly devIssuer?: RunningDevIssuer;
  /** The service instances running now (an instance between a death and its restart is missing). */
  readonly processes: readonly RunningInstance[];
  /** The runtime's own processes: dynalite, the registry and the dev issuer. */
  readonly parts: readonly { readonly part: PartName; readonly pid: number | undefined }[];
  /** The embedded registry's endpoint (Cloud Map API). */
  readonly registryEndpoint: string;
  /** The Cloud Map namespace the services register in. */
  readonly namespace: string;
  /** dynalite's endpoint (DynamoDB API). */
  readonly dynamoEndpoint: string;
  readonly logsDir: string;
  /** Stops everything: the gateway, then the services, then the parts; safe to call twice. */
  stop(): Promise<void>;
}

/** A service instance the supervisor runs. */
type ServiceIncarnation = ServiceProcess & Incarnation;

/** Starts the system; if any part fails to start, what had started is stopped and the error thrown. */
export async function startLocalSystem(options: LocalSystemOptions): Promise<LocalSystem> {
  const spec = options.gateway ?? resolveGatewaySpec();
  const namespace = spec.namespace ?? LOCAL_NAMESPACE;
  const phases = options.phases ?? new PhaseLog();
  // Stopped in this order: first no new traffic, then the services (which deregister on the way
  // out, so the registry must still be up), then the parts, and last the log files they wrote to.
  const layers = {
    gateway: [] as (() => Promise<unknown>)[],
    services: [] as (() => Promise<unknown>)[],
    parts: [] as (() => Promise<unknown>)[],
    logs: [] as (() => Promise<unknown>)[],
  };
  const supervisors: { readonly instance: string; readonly supervisor: Supervisor<ServiceIncarnation> }[] = [];
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    // At once, before any await: an instance that exits from now on is not restarted.
    for (const { supervisor } of supervisors) supervisor.retire();
    stopped ??= (async () => {
      for (const layer of [layers.gateway, layers.services, layers.parts, layers.logs]) {
        await Promise.all(
          layer.map((step) => step().catch((error: unknown) => process.stderr.write(`stopping: ${error instanceof Error ? error.message : String(error)}\n`))),
        );
      }
    })();
    return stopped;
  };
  const logsDir = path.join(options.stateDir, 'logs');
  const bundlesDir = path.join(options.stateDir, 'bundles');
  /** A line writer to `logs/<name>.log`, or one that drops lines when logs are off. */
  const logWriter = (name: string): ((line: string) => void) => {
    if (options.serviceLogs === 'none') return () => undefined;
    const stream = fs.createWriteStream(path.join(logsDir, `${name}.log`), { flags: 'a' });
    // A full disk must not take the runtime down: the log is lost, the system goes on.
    stream.on('error', () => undefined);
    layers.logs.push(async () => new Promise((resolve) => stream.end(resolve)));
    return (line) => {
      if (!stream.writableEnded) stream.write(`${line}\n`);
    };
  };

  // Every phase that runs is in here, so that a failure can wait for the others before stopping them.
  const pending: Promise<unknown>[] = [];
  const track = <T>(promise: Promise<T>): Promise<T> => {
    pending.push(promise);
    // Handled where it is awaited; this only keeps a failure that nothing awaits yet from crashing the process.
    promise.catch(() => undefined);
    return promise;
  };
  const parts: { part: PartName; pid: number | undefined }[] = [];
  try {
    fs.mkdirSync(logsDir, { recursive: true });
    const bundleNote = (bundle: CachedBundle) => (bundle.reused ? 'reused' : 'built');
    const serviceBundle = (service: keyof typeof SERVICE_ENTRIES) => {
      const outdir = path.join(bundlesDir, SERVICES[service]);
      return phases.time(
        `bundle ${service}`,
        () =>
          cachedBundle({
            outdir,
            file: path.join(outdir, 'server.js'),
            key: `service ${SERVICE_ENTRIES[service]}`,
            extraInputs: [require.resolve('../lib/service/service-bundle')],
            build: async () => (await bundleService(SERVICE_ENTRIES[service], outdir)).inputs,
          }),
        bundleNote,
      );
    };
    const bundles = track(Promise.all([serviceBundle('product'), serviceBundle('order')]));
    const partsBundle = track(phases.time('bundle parts', () => cachedPartsBundle(path.join(bundlesDir, 'parts')), bundleNote));

    const startPart = <P extends PartName>(part: P, partOptions: PartOptions[P]): Promise<ServiceProcess> =>
      track(
        phases.time(`start ${part}`, async () => {
          const { file } = await partsBundle;
          const started = await startServiceProcess(
            file,
            { NODE_PATH: NODE_MODULES },
            {
              args: [part, JSON.stringify(partOptions)],
              stdinPipe: true,
              keepLogs: 0,
              onLine: logWriter(part),
            },
          );
          layers.parts.push(() => stopProcess(started, 10_000));
          void started.exited.then((code) => {
            if (stopped === undefined) options.onPartExit?.(part, code);
          });
          parts.push({ part, pid: started.child.pid });
          return started;
        }),
      );
    const dynamo = startPart('dynamo', options.dataDir !== undefined ? { dataDir: options.dataDir } : {});
    const registry = startPart('registry', {
      services: Object.values(SERVICES).map((name): RegistryServiceSpec => ({ namespace, name })),
      healthCheck: options.healthCheck ?? {},
    });
    // The key is made (or loaded) here before the issuer process starts, so that the two never both
    // create it; the issuer process only reads it.
    const devIssuer =
      options.issuer !== undefined
        ? undefined
        : track(
            (async (): Promise<RunningDevIssuer> => {
              const key = await phases.time('load dev key', () => loadOrCreateDevKey(options.stateDir));
              const issuer = await startPart('issuer', { stateDir: options.stateDir });
              return { key, jwksUri: `${issuer.url}/.well-known/jwks.json` };
            })(),
          );

    const registryProcess = await registry;
    const registryEndpoint = registryProcess.url;
    const serviceIds = new Map((registryProcess.ready.services as { name: string; id: string }[]).map((service) => [service.name, service.id]));
    const serviceId = (service: string): string => {
      const id = serviceIds.get(service);
      if (id === undefined) throw new Error(`the registry did not declare the service ${service}`);
      return id;
    };
    const cloudMap = createServiceDiscoveryClient(registryEndpoint, REGION);
    layers.parts.push(async () => cloudMap.destroy());

    // The gateway's target groups: the instances whose process is up. A dead one leaves at once, as an
    // ECS task leaves its ALB target group when it stops, however long the registry answer is cached.
    const live = new Set<string>();
    const supervise = async (file: string, service: string, instance: string, env: Record<string, string>): Promise<void> => {
      const write = logWriter(instance);
      const id = serviceId(service);
      const supervisor = new Supervisor<ServiceIncarnation>({
        name: instance,
        ...(options.restartBackoff !== undefined && { backoff: options.restartBackoff }),
        start: async () => {
          const started = await startServiceProcess(
            file,
            {
              [SERVICE_ENV.port]: '0',
              [SERVICE_ENV.host]: '127.0.0.1',
              [SERVICE_ENV.region]: REGION,
              [SERVICE_ENV.dynamodbEndpoint]: (await dynamo).url,
              [SERVICE_ENV.cloudMapEndpoint]: registryEndpoint,
              [SERVICE_ENV.registryServiceId]: id,
              [SERVICE_ENV.instanceId]: instance,
              [SERVICE_ENV.advertiseHost]: '127.0.0.1',
              ...env,
            },
            // The guard stops the service when npm start is gone, even SIGKILLed (local/orphan-guard.ts).
            { keepLogs: 0, onLine: write, stdinPipe: true, nodeOptions: ['--require', (await partsBundle).guard] },
          );
          return { ...started, stop: () => stopProcess(started) };
        },
        onReady: (started) => {
          live.add(started.url);
          if (supervisor.restarts > 0) options.onInstanceEvent?.({ kind: 'restarted', instance, pid: started.child.pid, url: started.url });
        },
        onDeath: async (dead, code) => {
          live.delete(dead.url);
          options.onInstanceEvent?.({ kind: 'exited', instance, code });
          // What ECS does when a task stops: out of Cloud Map at once. A service that stopped
          // gracefully has deregistered itself already.
          await cloudMap.send(new DeregisterInstanceCommand({ ServiceId: id, InstanceId: instance })).catch((error: unknown) => {
            if (!(error instanceof InstanceNotFound)) throw error;
          });
        },
        onRestartScheduled: (delayMs) => options.onInstanceEvent?.({ kind: 'restarting', instance, delayMs }),
        onError: (error) => {
          const message = error instanceof Error ? error.message : String(error);
          write(JSON.stringify({ msg: 'supervisor', instance, error: message }));
          options.onInstanceEvent?.({ kind: 'failed', instance, message });
        },
      });
      supervisors.push({ instance, supervisor });
      layers.services.push(() => supervisor.stop());
      await supervisor.start();
    };
    const services = track(
      (async () => {
        const [[product, order]] = await Promise.all([bundles, dynamo]);
        await phases.time('start services', () =>
          Promise.all([
            supervise(product.file, SERVICES.product, 'product-1', { [SERVICE_ENV.productsTable]: PRODUCTS_TABLE.id }),
            supervise(product.file, SERVICES.product, 'product-2', { [SERVICE_ENV.productsTable]: PRODUCTS_TABLE.id }),
            supervise(order.file, SERVICES.order, 'order-1', {
              [SERVICE_ENV.ordersTable]: ORDERS_TABLE.id,
              [SERVICE_ENV.discoveryNamespace]: namespace,
              [SERVICE_ENV.discoveryTtlMs]: '2000',
              [SERVICE_ENV.requestDeadlineMs]: String(serviceBudgetMs(spec.integrationTimeoutMs)),
            }),
          ]),
        );
      })(),
    );

    const issuer = await devIssuer;
    const trusted: TrustedIssuer = options.issuer ?? { issuer: DEV_ISSUER, audience: [DEV_AUDIENCE], jwksUri: (issuer as RunningDevIssuer).jwksUri };
    const gateway = await track(phases.time('start gateway', () => startGateway(options, spec, namespace, trusted, cloudMap, live)));
    layers.gateway.push(() => gateway.close());
    await services;
    return {
      gateway,
      trusted,
      ...(issuer !== undefined && { devIssuer: issuer }),
      get processes() {
        return supervisors.flatMap(({ instance, supervisor }) => {
          const current = supervisor.current;
          return current === undefined ? [] : [{ instance, process: current }];
        });
      },
      parts,
      registryEndpoint,
      namespace,
      dynamoEndpoint: (await dynamo).url,
      logsDir,
      stop,
    };
  } catch (error) {
    // Whatever was starting alongside the failed phase finishes starting first, so that it is stopped too.
    await Promise.allSettled(pending);
    await stop();
    throw error;
  }
}

/** The in-process authorizer and the gateway, finding services through the registry. */
async function startGateway(
  options: LocalSystemOptions,
  spec: GatewaySpec,
  namespace: string,
  trusted: TrustedIssuer,
  cloudMap: ReturnType<typeof createServiceDiscoveryClient>,
  live: ReadonlySet<string>,
): Promise<LocalGateway> {
  const routes = options.routes ?? GATEHOUSE_ROUTES;
  // The deployed authorizer's settings (lib/auth/jwt-authorizer.ts gets the same from the config).
  const settings = options.authorizer ?? {};
  const authorizer = createAuthorizerHandler(
    {
      // With the development issuer, its Cognito-shaped twin too (same keys): both token shapes work locally.
      issuers: options.issuer === undefined ? [trusted, devCognitoIssuer(trusted.jwksUri)] : [trusted],
      algorithms: settings.algorithms ?? AUTHORIZER_DEFAULTS.algorithms,
      clockToleranceSeconds: settings.clockToleranceSeconds ?? AUTHORIZER_DEFAULTS.clockToleranceSeconds,
      ...(settings.tokenType !== undefined && { tokenType: settings.tokenType }),
      ...(settings.usageIdentifierClaim !== undefined && { usageIdentifierClaim: settings.usageIdentifierClaim }),
      ...(settings.userIds !== undefined && { userIds: settings.userIds }),
      scopeTable: buildScopeTable(routes),
      jwks: AUTHORIZER_DEFAULTS.jwks,
    },
    { prefetchKeys: true, ...(options.authorizerLogger !== undefined && { logger: options.authorizerLogger }) },
  );
  // The gateway finds the services the way the order service finds products: through the registry.
  const directories = new Map<string, InstanceDirectory>(
    Object.values(SERVICES).map((service) => [service, new InstanceDirectory({ client: cloudMap, namespace, service, ttlMs: 1_000 })]),
  );
  return LocalGateway.start({
    routes,
    ...localGatewayOptionsOf(spec),
    ...(options.stageThrottle !== undefined && { stageThrottle: options.stageThrottle }),
    port: options.port,
    tiers: options.tiers,
    authorizer,
    resolveService: async (service) => {
      const directory = directories.get(service);
      if (directory === undefined) return [];
      return (await directory.instances()).map((instance) => instance.url).filter((url) => live.has(url));
    },
  });
}
