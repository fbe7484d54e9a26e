/**
 * `npm start`: the whole system on one machine, no AWS account, no Docker. dynalite for DynamoDB, the
 * embedded Cloud Map registry, the product service (two instances) and the order service as processes
 * from the same bundles the containers ship, the development issuer, the authorizer in process, and
 * the local gateway rendered from the same route spec as the REST API.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { AUTHORIZER_DEFAULTS, buildScopeTable } from '../lambda/authorizer/config';
import type { TrustedIssuer } from '../lambda/authorizer/config';
import { createAuthorizerHandler } from '../lambda/authorizer/handler';
import { IDEMPOTENCY_TABLE, ORDERS_TABLE, PRODUCTS_TABLE } from '../lib/data/tables';
import { DEFAULT_TIERS } from '../lib/gateway/microservices-gateway';
import { GATEHOUSE_ROUTES, SCOPES, SERVICES } from '../lib/routes/gatehouse-routes';
import { SERVICE_ENV } from '../lib/runtime-env';
import { bundleService, SERVICE_ENTRIES } from '../lib/service/service-bundle';
import { createServiceDiscoveryClient } from '../services/common/lifecycle';
import { InstanceDirectory } from '../services/order/discovery';
import { LocalDynamo } from './dynamo/local-dynamo';
import { LocalGateway } from './gateway';
import type { LocalTier } from './gateway';
import { DEV_AUDIENCE, DEV_ISSUER, DevIssuer, mintDevToken } from './issuer/dev-issuer';
import { startServiceProcess } from './processes';
import type { ServiceProcess } from './processes';
import { LocalRegistry } from './registry';
import { DEFAULT_STATE_DIR, OUTPUTS_FILE } from './state';

const NAMESPACE = 'gatehouse.local';
const STAGE = 'v1';
const REGION = 'local';

/** What `npm start` was asked for. */
interface StartFlags {
  readonly port: number;
  readonly stateDir: string;
  readonly dataDir?: string;
  readonly issuer?: { readonly issuer: string; readonly audience: string; readonly jwksUri: string };
}

function readFlags(argv: readonly string[]): StartFlags {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string', default: '8080' },
      'state-dir': { type: 'string', default: DEFAULT_STATE_DIR },
      'data-dir': { type: 'string' },
      issuer: { type: 'string' },
      audience: { type: 'string' },
      'jwks-uri': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      'npm start -- [--port 8080] [--data-dir DIR] [--issuer URL --audience AUD [--jwks-uri URL]] [--state-dir DIR]\n' +
        '  --port       the gateway port (0: any free port)\n  --data-dir   keep DynamoDB data in DIR across restarts (default: in memory)\n' +
        '  --issuer     trust this external issuer instead of the development one (needs --audience)\n',
    );
    process.exit(0);
  }
  const port = Number(values.port);
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new UsageError(`--port must be a port from 0 to 65535, got ${JSON.stringify(values.port)}`);
  if ((values.issuer === undefined) !== (values.audience === undefined)) throw new UsageError('--issuer and --audience go together');
  if (values['jwks-uri'] !== undefined && values.issuer === undefined) throw new UsageError('--jwks-uri needs --issuer');
  const issuer =
    values.issuer !== undefined && values.audience !== undefined
      ? { issuer: values.issuer, audience: values.audience, jwksUri: values['jwks-uri'] ?? `${values.issuer.replace(/\/+$/, '')}/.well-known/jwks.json` }
      : undefined;
  return { port, stateDir: path.resolve(values['state-dir']), ...(values['data-dir'] !== undefined && { dataDir: path.resolve(values['data-dir']) }), ...(issuer && { issuer }) };
}

/** A mistake in the command line: said plainly, exit code 2. */
class UsageError extends Error {}

/** The API keys of the tiers, kept in the state folder so that they survive restarts. */
function apiKeys(stateDir: string): Record<string, string> {
  const file = path.join(stateDir, 'api-keys.json');
  const existing = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>) : {};
  const keys = Object.fromEntries(DEFAULT_TIERS.map((tier) => [tier.name, existing[tier.name] ?? `dev-${tier.name}-${randomBytes(12).toString('hex')}`]));
  fs.writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}

/** Everything started, stopped in reverse order. */
class Running {
  private readonly stops: (() => Promise<void>)[] = [];

  add(stop: () => Promise<void>): void {
    this.stops.push(stop);
  }

  async stopAll(): Promise<void> {
    for (const stop of this.stops.reverse()) {
      await stop().catch((error: unknown) => process.stderr.write(`stopping: ${error instanceof Error ? error.message : String(error)}\n`));
    }
    this.stops.length = 0;
  }
}

async function stopProcess(service: ServiceProcess): Promise<void> {
  if (service.child.exitCode !== null || service.child.signalCode !== null) return;
  service.child.kill('SIGTERM');
  const timer = setTimeout(() => service.child.kill('SIGKILL'), 30_000);
  await service.exited;
  clearTimeout(timer);
}

async function main(): Promise<void> {
  const flags = readFlags(process.argv.slice(2));
  fs.mkdirSync(flags.stateDir, { recursive: true });
  const logsDir = path.join(flags.stateDir, 'logs');
  fs.mkdirSync(logsDir, { recursive: true });
  const running = new Running();
  let stopping = false;
  const shutdown = async (code: number): Promise<never> => {
    stopping = true;
    await running.stopAll();
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  try {
    const bundlesDir = path.join(flags.stateDir, 'bundles');
    const [product, order] = await Promise.all([
      bundleService(SERVICE_ENTRIES.product, path.join(bundlesDir, SERVICES.product)),
      bundleService(SERVICE_ENTRIES.order, path.join(bundlesDir, SERVICES.order)),
    ]);

    const dynamo = await LocalDynamo.start(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {});
    running.add(() => dynamo.close());
    const tables = { products: PRODUCTS_TABLE.id, orders: ORDERS_TABLE.id, idempotency: IDEMPOTENCY_TABLE.id };
    await dynamo.ensureTables([
      { definition: PRODUCTS_TABLE, name: tables.products },
      { definition: ORDERS_TABLE, name: tables.orders },
      { definition: IDEMPOTENCY_TABLE, name: tables.idempotency },
    ]);

    const registry = await LocalRegistry.start({ services: [{ namespace: NAMESPACE, name: SERVICES.product }, { namespace: NAMESPACE, name: SERVICES.order }] });
    running.add(() => registry.close());

    const serviceEnv = (service: string, instance: string): Record<string, string> => ({
      [SERVICE_ENV.port]: '0',
      [SERVICE_ENV.host]: '127.0.0.1',
      [SERVICE_ENV.region]: REGION,
      [SERVICE_ENV.dynamodbEndpoint]: dynamo.endpoint,
      [SERVICE_ENV.cloudMapEndpoint]: registry.endpoint,
      [SERVICE_ENV.registryServiceId]: registry.serviceId(NAMESPACE, service),
      [SERVICE_ENV.instanceId]: instance,
      [SERVICE_ENV.advertiseHost]: '127.0.0.1',
    });
    const start = async (file: string, service: string, instance: string, env: Record<string, string>): Promise<ServiceProcess> => {
      const log = fs.createWriteStream(path.join(logsDir, `${instance}.log`), { flags: 'a' });
      const started = await startServiceProcess(file, { ...serviceEnv(service, instance), ...env }, { onLine: (line) => log.write(`${line}\n`), keepLogs: 0 });
      running.add(async () => {
        await stopProcess(started);
        log.end();
      });
      void started.exited.then((code) => {
        if (!stopping) process.stderr.write(`${instance} exited (${code}); see ${path.join(logsDir, `${instance}.log`)}\n`);
      });
      return started;
    };
    const processes = await Promise.all([
      start(product.file, SERVICES.product, 'product-1', { [SERVICE_ENV.productsTable]: tables.products }),
      start(product.file, SERVICES.product, 'product-2', { [SERVICE_ENV.productsTable]: tables.products }),
      start(order.file, SERVICES.order, 'order-1', {
        [SERVICE_ENV.ordersTable]: tables.orders,
        [SERVICE_ENV.idempotencyTable]: tables.idempotency,
        [SERVICE_ENV.discoveryNamespace]: NAMESPACE,
        [SERVICE_ENV.discoveryTtlMs]: '2000',
      }),
    ]);

    let trusted: TrustedIssuer;
    let devIssuer: DevIssuer | undefined;
    if (flags.issuer !== undefined) {
      trusted = { issuer: flags.issuer.issuer, audience: [flags.issuer.audience], jwksUri: flags.issuer.jwksUri };
    } else {
      devIssuer = await DevIssuer.start(flags.stateDir);
      const issuer = devIssuer;
      running.add(() => issuer.close());
      trusted = { issuer: DEV_ISSUER, audience: [DEV_AUDIENCE], jwksUri: devIssuer.jwksUri };
    }
    const authorizer = createAuthorizerHandler({
      issuers: [trusted],
      algorithms: AUTHORIZER_DEFAULTS.algorithms,
      clockToleranceSeconds: AUTHORIZER_DEFAULTS.clockToleranceSeconds,
      scopeTable: buildScopeTable(GATEHOUSE_ROUTES),
      jwks: AUTHORIZER_DEFAULTS.jwks,
    });

    // The gateway finds the services the way the order service finds products: through the registry.
    const cloudMap = createServiceDiscoveryClient(registry.endpoint, REGION);
    running.add(async () => cloudMap.destroy());
    const directories = new Map<string, InstanceDirectory>(
      Object.values(SERVICES).map((service) => [service, new InstanceDirectory({ client: cloudMap, namespace: NAMESPACE, service, ttlMs: 1_000 })]),
    );
    const keys = apiKeys(flags.stateDir);
    const tiers: LocalTier[] = DEFAULT_TIERS.map((tier) => ({
      name: tier.name,
      rateLimit: tier.rateLimit,
      burstLimit: tier.burstLimit,
      ...(tier.quota !== undefined && { quota: { limit: tier.quota.limit, period: tier.quota.period } }),
      apiKeys: [keys[tier.name]],
    }));
    let gateway: LocalGateway;
    try {
      gateway = await LocalGateway.start({
        routes: GATEHOUSE_ROUTES,
        stageName: STAGE,
        port: flags.port,
        tiers,
        stageThrottle: { rateLimit: 500, burstLimit: 1000 },
        authorizer,
        authorizerCacheTtlSeconds: 300,
        resolveService: async (service) => {
          const directory = directories.get(service);
          return directory === undefined ? [] : (await directory.instances()).map((instance) => instance.url);
        },
      });
    } catch (error) {
      if (error instanceof Error && 'code' in error && error.code === 'EADDRINUSE') {
        throw new UsageError(`port ${flags.port} is in use: stop what runs there, or pass --port to choose another (--port 0 picks a free one)`);
      }
      throw error;
    }
    running.add(() => gateway.close());

    const token = devIssuer === undefined ? undefined : await mintDevToken(devIssuer.key, { sub: 'dev-user', scopes: Object.values(SCOPES), ttlSeconds: 3600 });
    const outputs = {
      Gatehouse: {
        ApiUrl: gateway.apiUrl,
        ...Object.fromEntries(Object.entries(keys).map(([tier, value]) => [`ApiKey${tier}`, value])),
        Tiers: Object.fromEntries(tiers.map(({ name, rateLimit, burstLimit, quota }) => [name, { rateLimit, burstLimit, quota: quota ?? null }])),
        Issuer: trusted.issuer,
        Audience: trusted.audience[0],
        JwksUri: trusted.jwksUri,
        Namespace: NAMESPACE,
        Local: { stateDir: flags.stateDir, processes: processes.map((started, index) => ({ instance: ['product-1', 'product-2', 'order-1'][index], pid: started.child.pid })) },
      },
    };
    fs.writeFileSync(path.join(flags.stateDir, OUTPUTS_FILE), JSON.stringify(outputs, null, 2));

    process.stdout.write(
      [
        '',
        `Gatehouse is running at ${gateway.apiUrl}`,
        '',
        ...tiers.map((tier) => `  API key (${tier.name}: ${tier.rateLimit}/s, burst ${tier.burstLimit}${tier.quota ? `, ${tier.quota.limit}/${tier.quota.period.toLowerCase()}` : ''}): ${keys[tier.name]}`),
        '',
        ...(token !== undefined
          ? [
              'Try it (a token for dev-user with every scope, valid for an hour; mint others with npm run token):',
              '',
              `  curl -H 'x-api-key: ${keys[tiers[0].name]}' -H 'Authorization: Bearer ${token}' ${gateway.apiUrl}products`,
            ]
          : [`Trusting ${trusted.issuer} (audience ${trusted.audience[0]}); bring a token from it.`]),
        '',
        `Outputs: ${path.join(flags.stateDir, OUTPUTS_FILE)}   Service logs: ${logsDir}   Stop: Ctrl-C`,
        '',
      ].join('\n'),
    );
  } catch (error) {
    process.stderr.write(`npm start: ${error instanceof Error ? error.message : String(error)}\n`);
    stopping = true;
    await running.stopAll();
    process.exit(error instanceof UsageError ? 2 : 1);
  }
}

main().catch((error: unknown) => {
  // parseArgs reports an unknown or malformed flag with an ERR_PARSE_ARGS_* code: a usage error too.
  const usage = error instanceof UsageError || (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'));
  process.stderr.write(`npm start: ${error instanceof Error ? error.message : String(error)}${usage ? ' (npm start -- --help)' : ''}\n`);
  process.exit(usage ? 2 : 1);
});
