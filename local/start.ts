/**
 * `npm start`: the whole system on one machine, no AWS account, no Docker. dynalite for DynamoDB, the
 * embedded Cloud Map registry, the product service (two instances) and the order service as processes
 * from the same bundles the containers ship, the development issuer, the authorizer in process, and
 * the local gateway rendered from the same route spec as the REST API. A service process that dies is
 * restarted, as ECS replaces a task (local/system.ts).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { gatewaySpecOf, readGatehouseConfigFile } from '../lib/config';
import type { GatehouseConfig } from '../lib/config';
import { SCOPES } from '../lib/routes/gatehouse-routes';
import type { UsagePlanTier } from '../lib/routes/gateway-spec';
import type { LocalTier } from './gateway';
import { mintDevToken } from './issuer/dev-issuer';
import { DEFAULT_STATE_DIR, OUTPUTS_FILE } from './state';
import { formatPhases, PhaseLog } from './phases';
import { startLocalSystem } from './system';
import type { InstanceEvent, LocalSystem } from './system';

/** What `npm start` was asked for. */
interface StartFlags {
  readonly port: number;
  readonly stateDir: string;
  /** The cdk.json whose `gatehouse` context configures the gateway, as it configures the deployed one. */
  readonly configFile: string;
  readonly dataDir?: string;
  readonly verbose: boolean;
  readonly issuer?: { readonly issuer: string; readonly audience: string; readonly jwksUri: string };
}

function readFlags(argv: readonly string[]): StartFlags {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string', default: '8080' },
      'state-dir': { type: 'string', default: DEFAULT_STATE_DIR },
      'data-dir': { type: 'string' },
      config: { type: 'string', default: DEFAULT_CONFIG_FILE },
      issuer: { type: 'string' },
      audience: { type: 'string' },
      'jwks-uri': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      'npm start -- [--port 8080] [--config FILE] [--data-dir DIR] [--issuer URL --audience AUD [--jwks-uri URL]] [--state-dir DIR] [--verbose]\n' +
        '  --port       the gateway port (0: any free port)\n  --data-dir   keep DynamoDB data in DIR across restarts (default: in memory)\n' +
        '  --config     the cdk.json whose "gatehouse" context sets the stage, tiers, throttles and timeouts (default: the app\'s cdk.json)\n' +
        '  --issuer     trust this external issuer instead of the development one (needs --audience)\n' +
        '  --verbose    print what the start spent its time on, one line per phase\n',
    );
    process.exit(0);
  }
  const port = Number(values.port);
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new UsageError(`--port must be a port from 0 to 65535, got ${JSON.stringify(values.port)}`);
  if ((values.issuer === undefined) !== (values.audience === undefined)) throw new UsageError('--issuer and --audience go together');
  if (values['jwks-uri'] !== undefined && values.issuer === undefined) throw new UsageError('--jwks-uri needs --issuer');
  const issuer =
    values.issuer !== undefined && values.audience !== undefined
      ? { issuer: values.issuer, audience: values.audience, jwksUri: values['jwks-uri'] ?? `${values.issuer.replace(/\/+$/, '')}/.well-known/jwks.json` }
      : undefined;
  return {
    port,
    stateDir: path.resolve(values['state-dir']),
    configFile: path.resolve(values.config),
    verbose: values.verbose,
    ...(values['data-dir'] !== undefined && { dataDir: path.resolve(values['data-dir']) }),
    ...(issuer && { issuer }),
  };
}

/** The app's cdk.json: `npm start` runs the gateway the CDK app deploys. */
const DEFAULT_CONFIG_FILE = path.join(__dirname, '..', 'cdk.json');

/** A mistake in the command line: said plainly, exit code 2. */
class UsageError extends Error {}

/** The API keys of the tiers, kept in the state folder so that they survive restarts. */
function apiKeys(stateDir: string, tiers: readonly UsagePlanTier[]): Record<string, string> {
  const file = path.join(stateDir, 'api-keys.json');
  const existing = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>) : {};
  const keys = Object.fromEntries(tiers.map((tier) => [tier.name, existing[tier.name] ?? `dev-${tier.name}-${randomBytes(12).toString('hex')}`]));
  fs.writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}

/**
 * Fails at once when the gateway's port is taken, before anything is written: a second `npm start`
 * must not overwrite the running one's outputs or bundles only to learn that its port is in use.
 * The port is let go again right away; were it taken in between, the gateway's own listen says so.
 */
async function checkPortFree(port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new UsageError(`port ${port} is in use: stop what runs there, or pass --port to choose another (--port 0 picks a free one)`)
          : error,
      ),
    );
    // The gateway's own address (LocalGateway's default host).
    probe.listen(port, '127.0.0.1', () => resolve());
  });
  await new Promise((resolve) => probe.close(resolve));
}

/** Writes the outputs file whole or not at all: `npm run e2e` may read it while a restart rewrites it. */
function writeOutputs(file: string, outputs: object): void {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, JSON.stringify(outputs, null, 2));
  fs.renameSync(temporary, file);
}

/** One line about a service instance the supervisor restarts. */
function describeEvent(event: InstanceEvent, logsDir: string): string {
  switch (event.kind) {
    case 'exited':
      return `${event.instance} exited (${event.code}); it is out of the registry, see ${path.join(logsDir, `${event.instance}.log`)}`;
    case 'restarting':
      return `${event.instance}: restarting in ${event.delayMs} ms`;
    case 'restarted':
      return `${event.instance} is back (pid ${event.pid}, ${event.url})`;
    case 'failed':
      return `${event.instance} failed to restart: ${event.message}`;
  }
}

/** The app's config, read and checked as the CDK app reads it; a config it would refuse is a usage error. */
function readConfig(file: string): GatehouseConfig {
  try {
    const config = readGatehouseConfigFile(file);
    gatewaySpecOf(config);
    return config;
  } catch (error) {
    throw new UsageError(`--config ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function main(): Promise<void> {
  const flags = readFlags(process.argv.slice(2));
  // Before anything is written: a config the app would refuse stops npm start too.
  const config = readConfig(flags.configFile);
  const spec = gatewaySpecOf(config);
  const phases = new PhaseLog();
  await phases.time(
    'check port',
    () => checkPortFree(flags.port),
    () => (flags.port === 0 ? 'any free port' : `port ${flags.port} free`),
  );
  fs.mkdirSync(flags.stateDir, { recursive: true });
  const keys = apiKeys(flags.stateDir, spec.tiers);
  const tiers: LocalTier[] = spec.tiers.map((tier) => ({ ...tier, apiKeys: [keys[tier.name]] }));

  let system: LocalSystem | undefined;
  let writeCurrentOutputs = (): void => undefined;
  const logsDir = path.join(flags.stateDir, 'logs');
  try {
    system = await startLocalSystem({
      stateDir: flags.stateDir,
      port: flags.port,
      tiers,
      gateway: spec,
      ...(config.authorizer !== undefined && { authorizer: config.authorizer }),
      ...(flags.dataDir !== undefined && { dataDir: flags.dataDir }),
      ...(flags.issuer !== undefined && { issuer: { issuer: flags.issuer.issuer, audience: [flags.issuer.audience], jwksUri: flags.issuer.jwksUri } }),
      phases,
      onPartExit: (part, code) => {
        process.stderr.write(`npm start: ${part} exited (${code}), and what it held is gone; stopping (see ${path.join(logsDir, `${part}.log`)})\n`);
        void system?.stop().then(() => process.exit(1));
      },
      onInstanceEvent: (event) => {
        process.stderr.write(`${describeEvent(event, logsDir)}\n`);
        // The outputs name each process's pid: a restarted one has a new pid.
        if (event.kind === 'restarted') writeCurrentOutputs();
      },
    });
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'EADDRINUSE') {
      throw new UsageError(`port ${flags.port} is in use: stop what runs there, or pass --port to choose another (--port 0 picks a free one)`);
    }
    throw error;
  }
  const stop = async (): Promise<never> => {
    await system.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());

  const { gateway, trusted, devIssuer } = system;
  // With apiKeySource AUTHORIZER the client's key travels in its token, as the deployed authorizer reads it.
  const keyClaim = spec.apiKeySource === 'AUTHORIZER' ? config.authorizer?.usageIdentifierClaim : undefined;
  const token =
    devIssuer === undefined
      ? undefined
      : await mintDevToken(devIssuer.key, {
          sub: 'dev-user',
          scopes: Object.values(SCOPES),
          ttlSeconds: 3600,
          ...(keyClaim !== undefined && { extraClaims: { [keyClaim]: keys[tiers[0].name] } }),
        });
  const outputs = () => ({
    Gatehouse: {
      ApiUrl: gateway.apiUrl,
      ...Object.fromEntries(Object.entries(keys).map(([tier, value]) => [`ApiKey${tier}`, value])),
      Tiers: Object.fromEntries(tiers.map(({ name, rateLimit, burstLimit, quota }) => [name, { rateLimit, burstLimit, quota: quota ?? null }])),
      Issuer: trusted.issuer,
      Audience: trusted.audience?.[0] ?? null,
      JwksUri: trusted.jwksUri,
      Namespace: system.namespace,
      Local: {
        stateDir: flags.stateDir,
        registryEndpoint: system.registryEndpoint,
        processes: system.processes.map(({ instance, process: started }) => ({ instance, pid: started.child.pid, url: started.url })),
        parts: system.parts,
      },
    },
  });
  writeCurrentOutputs = () => writeOutputs(path.join(flags.stateDir, OUTPUTS_FILE), outputs());
  writeCurrentOutputs();
  if (flags.verbose) {
    phases.record('ready', 0);
    process.stdout.write(
      `${['', 'Start-up (ms since the process started; phases overlap where they run together):', ...formatPhases(phases.list())].join('\n')}\n`,
    );
  }

  process.stdout.write(
    [
      '',
      `Gatehouse is running at ${gateway.apiUrl}`,
      '',
      ...tiers.map(
        (tier) =>
          `  API key (${tier.name}: ${tier.rateLimit}/s, burst ${tier.burstLimit}${tier.quota ? `, ${tier.quota.limit}/${tier.quota.period.toLowerCase()}` : ''}): ${keys[tier.name]}`,
      ),
      '',
      ...(token !== undefined
        ? [
            'Try it (a token for dev-user with every scope, valid for an hour; mint others with npm run token):',
            '',
            spec.apiKeySource === 'AUTHORIZER'
              ? `  curl -H 'Authorization: Bearer ${token}' ${gateway.apiUrl}products    (the token's ${keyClaim ?? 'usage identifier'} claim is the ${tiers[0].name} key)`
              : `  curl -H 'x-api-key: ${keys[tiers[0].name]}' -H 'Authorization: Bearer ${token}' ${gateway.apiUrl}products`,
          ]
        : [
            `Trusting ${trusted.issuer} (${trusted.audience !== undefined ? `audience ${trusted.audience[0]}` : `app clients ${(trusted.clientIds ?? []).join(', ')}`}); bring a token from it.`,
          ]),
      '',
      `Outputs: ${path.join(flags.stateDir, OUTPUTS_FILE)}   Service logs: ${system.logsDir}   Stop: Ctrl-C`,
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  // parseArgs reports an unknown or malformed flag with an ERR_PARSE_ARGS_* code: a usage error too.
  const usage = error instanceof UsageError || (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'));
  process.stderr.write(`npm start: ${error instanceof Error ? error.message : String(error)}${usage ? ' (npm start -- --help)' : ''}\n`);
  process.exit(usage ? 2 : 1);
});
