/**
 * Local gateway overhead: GET /products through the local gateway (authorizer with its cache, API key,
 * throttle, quota, proxy) against one product instance called directly, with autocannon at a fixed
 * concurrency. The two targets alternate within each round and the median round is reported.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import { GATEWAY_HEADERS, IDEMPOTENCY_KEY_HEADER } from '../lib/routes/headers';
import { DISCOVERY_STATS_PATH } from '../services/order/app';
import type { DiscoveryStats } from '../services/order/discovery';
import { SCOPES } from '../lib/routes/gatehouse-routes';
import type { LocalSystemInfo } from './local-system';
import { median } from './stats';

/** Settings of the load sections. */
export interface LoadSettings {
  readonly connections: number;
  /** Seconds per measured run. */
  readonly durationSeconds: number;
  readonly rounds: number;
}

/** The default settings: about 25 s. */
export const LOAD_DEFAULTS: LoadSettings = { connections: 16, durationSeconds: 3, rounds: 3 };

/** One row of a load section (medians over the rounds). */
export interface LoadRow {
  readonly target: string;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Non-2xx answers and socket errors over all rounds: a row with errors measures failures, not service. */
  readonly failures: number;
}

/** A running local system in a child process. */
export interface RunningSystem {
  readonly info: LocalSystemInfo;
  stop(): Promise<void>;
}

/** Starts bench/local-system.ts in a child process and waits for its JSON line. */
export async function startSystem(): Promise<RunningSystem> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'bench/local-system.ts'], {
    cwd: `${__dirname}/..`,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const info = await new Promise<LocalSystemInfo>((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const newline = buffered.indexOf('\n');
      if (newline >= 0) resolve(JSON.parse(buffered.slice(0, newline)) as LocalSystemInfo);
    });
    child.once('exit', (code) => reject(new Error(`local system exited (${code}) before it was up: ${stderr.slice(-2000)}`)));
  });
  return {
    info,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One autocannon run. */
export async function load(options: autocannon.Options): Promise<autocannon.Result> {
  return autocannon(options);
}

/** Runs the GET /products comparison against a running system. */
export async function runGatewayLoad(system: LocalSystemInfo, settings: LoadSettings = LOAD_DEFAULTS): Promise<LoadRow[]> {
  const targets: Record<string, autocannon.Options> = {
    'GET /products via local gateway': {
      url: new URL('products', system.apiUrl).toString(),
      headers: { authorization: `Bearer ${system.token}`, 'x-api-key': system.apiKey },
    },
    // The identity headers the gateway would set: the service refuses a request without them.
    'GET /products direct to product service': {
      url: new URL('/products', system.productUrl).toString(),
      headers: { [GATEWAY_HEADERS.userId]: 'bench-user', [GATEWAY_HEADERS.userScopes]: Object.values(SCOPES).join(' '), [GATEWAY_HEADERS.requestId]: 'bench' },
    },
  };
  return compare(targets, settings);
}

/** Runs each target once untimed, then `rounds` alternating measured runs; medians per target. */
export async function compare(targets: Record<string, autocannon.Options>, settings: LoadSettings): Promise<LoadRow[]> {
  const names = Object.keys(targets);
  for (const name of names) await load({ ...targets[name], connections: settings.connections, duration: 1 });
  const results = new Map<string, autocannon.Result[]>(names.map((name) => [name, []]));
  for (let round = 0; round < settings.rounds; round += 1) {
    // Alternate which target goes first, so neither always runs on the warmer machine.
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) results.get(name)?.push(await load({ ...targets[name], connections: settings.connections, duration: settings.durationSeconds }));
  }
  return names.map((name) => {
    const runs = results.get(name) ?? [];
    return {
      target: name,
      requestsPerSecond: Math.round(median(runs.map((run) => run.requests.average))),
      p50Ms: median(runs.map((run) => run.latency.p50)),
      p99Ms: median(runs.map((run) => run.latency.p99)),
      failures: runs.reduce((sum, run) => sum + run.non2xx + run.errors + run.timeouts, 0),
    };
  });
}

/** Order placement through the gateway, and how often the order service asked Cloud Map meanwhile. */
export interface OrderLoadResult extends LoadRow {
  readonly ordersPlaced: number;
  readonly discoveryCalls: number;
  readonly discoveryCallsPer1000Orders: number;
}

/** POST /orders through the gateway, one product of the seeded ten per order, a fresh idempotency key each. */
export async function runOrderLoad(system: LocalSystemInfo, settings: LoadSettings = LOAD_DEFAULTS): Promise<OrderLoadResult> {
  const statsUrl = new URL(DISCOVERY_STATS_PATH, system.orderUrl);
  const discoveryCalls = async (): Promise<number> => {
    const stats = (await (await fetch(statsUrl)).json()) as DiscoveryStats;
    return stats.discoveryCalls;
  };
  let sequence = 0;
  const options: autocannon.Options = {
    url: new URL('orders', system.apiUrl).toString(),
    connections: settings.connections,
    duration: settings.durationSeconds,
    requests: [
      {
        method: 'POST',
        setupRequest: (request) => {
          sequence += 1;
          const productId = system.productIds[sequence % system.productIds.length];
          return {
            ...request,
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${system.token}`,
              'x-api-key': system.apiKey,
              [IDEMPOTENCY_KEY_HEADER]: `bench-${process.pid}-${sequence}`,
            },
            body: JSON.stringify({ items: [{ productId, quantity: 1 }] }),
          };
        },
      },
    ],
  };
  const before = await discoveryCalls();
  const runs: autocannon.Result[] = [];
  for (let round = 0; round < settings.rounds; round += 1) runs.push(await load(options));
  const calls = (await discoveryCalls()) - before;
  const ordersPlaced = runs.reduce((sum, run) => sum + run['2xx'], 0);
  return {
    target: 'POST /orders via local gateway',
    // Orders placed per second (2xx only), so that a fast refusal can never pass for throughput.
    requestsPerSecond: Math.round(median(runs.map((run) => run['2xx'] / settings.durationSeconds))),
    p50Ms: median(runs.map((run) => run.latency.p50)),
    p99Ms: median(runs.map((run) => run.latency.p99)),
    failures: runs.reduce((sum, run) => sum + run.non2xx + run.errors + run.timeouts, 0),
    ordersPlaced,
    discoveryCalls: calls,
    discoveryCallsPer1000Orders: ordersPlaced === 0 ? Number.NaN : Math.round((calls / ordersPlaced) * 1000 * 10) / 10,
  };
}
