/**
 * The process of one part of the local runtime: `node parts.js <dynamo|registry|issuer> '<json options>'`.
 * dynalite, the registry and the dev issuer each run here, out of the gateway's process, so that their
 * work never takes the gateway's event loop (dynalite alone took 11–30 % of it).
 *
 * Readiness is the services' signal: one JSON line `{"msg":"listening","port":N,...}` on stdout.
 * It stops on SIGTERM, and when its stdin ends (the runtime that started it is gone, even SIGKILLed);
 * it ignores SIGINT, which a terminal's Ctrl-C sends to the whole process group: the runtime stops its
 * parts itself, last, so that the services can still deregister on their way out.
 */
import type { HealthCheckOptions, RegistryServiceSpec } from './registry';

/** What each part is started with, as the second argument (JSON). */
export interface PartOptions {
  readonly dynamo: { readonly dataDir?: string };
  readonly registry: { readonly services: readonly RegistryServiceSpec[]; readonly healthCheck?: HealthCheckOptions };
  readonly issuer: { readonly stateDir: string };
}

/** The names of the parts. */
export type PartName = keyof PartOptions;

/** A started part: its port, what else the runtime must know, and how to stop it. */
interface Started {
  readonly port: number;
  readonly details?: Record<string, unknown>;
  close(): Promise<void>;
}

const STARTERS: { readonly [P in PartName]: (options: PartOptions[P]) => Promise<Started> } = {
  // Each part loads only its own modules (dynalite, jose...), so one bundle serves all three; require
  // rather than import(), which TypeScript's nodenext rules refuse without file extensions here.
  async dynamo(options) {
    const { LocalDynamo } = require('./dynamo/local-dynamo') as typeof import('./dynamo/local-dynamo');
    const { ORDERS_TABLE, PRODUCTS_TABLE } = require('../lib/data/tables') as typeof import('../lib/data/tables');
    const dynamo = await LocalDynamo.start(options.dataDir !== undefined ? { dataDir: options.dataDir } : {});
    // Ready means the tables exist: the services describe theirs as soon as they start.
    await dynamo.ensureTables([PRODUCTS_TABLE, ORDERS_TABLE].map((definition) => ({ definition, name: definition.id })));
    return { port: Number(new URL(dynamo.endpoint).port), close: () => dynamo.close() };
  },
  async registry(options) {
    const { LocalRegistry } = require('./registry') as typeof import('./registry');
    const registry = await LocalRegistry.start({ services: options.services, ...(options.healthCheck !== undefined && { healthCheck: options.healthCheck }) });
    return { port: Number(new URL(registry.endpoint).port), details: { services: registry.services() }, close: () => registry.close() };
  },
  async issuer(options) {
    const { DevIssuer } = require('./issuer/dev-issuer') as typeof import('./issuer/dev-issuer');
    const issuer = await DevIssuer.start(options.stateDir);
    return { port: Number(new URL(issuer.jwksUri).port), close: () => issuer.close() };
  },
};

function startPart(name: PartName, options: unknown): Promise<Started> {
  switch (name) {
    case 'dynamo':
      return STARTERS.dynamo(options as PartOptions['dynamo']);
    case 'registry':
      return STARTERS.registry(options as PartOptions['registry']);
    case 'issuer':
      return STARTERS.issuer(options as PartOptions['issuer']);
  }
}

function isPartName(name: string | undefined): name is PartName {
  return name !== undefined && Object.hasOwn(STARTERS, name);
}

async function main(): Promise<void> {
  const [name, json] = process.argv.slice(2);
  if (!isPartName(name)) throw new Error(`the part must be one of ${Object.keys(STARTERS).join(', ')}, got ${JSON.stringify(name)}`);
  // The runtime wrote these options for this part (system.ts, startPart); they are not user input.
  const options: unknown = JSON.parse(json ?? '{}');
  const started = await startPart(name, options);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    started.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${name}: stopping failed: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => undefined);
  process.once('SIGTERM', stop);
  process.stdin.once('end', stop);
  process.stdin.once('error', stop);
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ msg: 'listening', part: name, port: started.port, ...started.details })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`part failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
