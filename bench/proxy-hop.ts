/**
 * The local gateway's proxy hop, side by side with a bare Node keep-alive proxy and with no proxy at
 * all, in front of the same small upstream. Each server runs in its own process, so that the CPU time
 * it reports (process.cpuUsage, user + system, read just before and after each autocannon run) is its
 * own: CPU per request is that delta over the responses the run completed.
 *
 * - upstream: a node:http server that answers every request with the same 10-item JSON product list.
 * - bare proxy: node:http server → http.request on a keep-alive Agent, `pipe` both ways, the client's
 *   headers forwarded as Node parsed them. What every proxy has to do, and nothing more.
 * - local gateway: LocalGateway from local/gateway with Gatehouse's routes, the real authorizer handler
 *   (its 300 s result cache, so after the warm-up a token costs a cache lookup and a policy evaluation),
 *   an API key, the stage, route and tier throttles and the quota checked on every request (limits too
 *   high to refuse), request ids, identity headers, the deadline: the whole gateway, checks included.
 * - local gateway, hop only: the same, except that its Gatekeeper replays the decision it made for the
 *   first request (the bench sends the same request over and over) instead of checking again: what is
 *   left is the proxy hop (exchange, request id, deadline, retries, headers, streaming), which is what
 *   compares like for like with the bare proxy.
 * - direct: the client calls the upstream itself; no proxy CPU.
 *
 * Every target gets the same request (GET /products with a Bearer token and an x-api-key), so that
 * the proxies forward the same headers. Targets alternate within each round, ratios to the bare proxy
 * are taken round by round, and medians are reported. Run alone: `node --import tsx
 * bench/proxy-hop.ts [--loads 1,16,16@2000] [--duration S] [--rounds N] [--profile DIR]` (DIR/<role>
 * receives a .cpuprofile per thread of each proxy process; the largest is the main thread's).
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { AUTHORIZER_DEFAULTS, buildScopeTable } from '../lib/auth/authorizer-contract';
import { createAuthorizerHandler } from '../lambda/authorizer/handler';
import { GATEHOUSE_ROUTES, SCOPES } from '../lib/routes/gatehouse-routes';
import { DEV_AUDIENCE, DEV_ISSUER, DevIssuer, loadOrCreateDevKey, mintDevToken } from '../local/issuer/dev-issuer';
import { LocalGateway } from '../local/gateway';
import { Gatekeeper } from '../local/gateway/gatekeeper';
import type { GateDecision, GateLog, ReceivedRequest } from '../local/gateway/gatekeeper';
import { median } from './stats';

/** Settings of the hop section. */
export interface HopSettings {
  /** Each target runs under each of these loads. */
  readonly loads: readonly HopLoad[];
  /** Seconds per measured run. */
  readonly durationSeconds: number;
  readonly rounds: number;
}

/**
 * Connections, each sending its next request when the last is answered; with `rate`, autocannon's
 * overallRate caps them at that many requests per second together (so that every proxy sees the same
 * arrivals: as fast as it goes, a faster proxy also idles less, and a process woken from idle pays
 * more per request, as the upstream's own CPU per request shows).
 */
export interface HopLoad {
  readonly connections: number;
  readonly rate?: number;
}

/** The default settings: about 90 s on 2 cores. */
export const HOP_DEFAULTS: HopSettings = { loads: [{ connections: 1 }, { connections: 16 }], durationSeconds: 2, rounds: 5 };

/** The targets, in the order of the table. */
export const HOP_TARGETS = ['local gateway', 'local gateway, hop only', 'bare Node keep-alive proxy', 'direct to the upstream'] as const;
type HopTarget = (typeof HOP_TARGETS)[number];

/** One row: a target under one load, medians over the rounds. */
export interface HopRow {
  readonly target: HopTarget;
  readonly load: HopLoad;
  /** CPU (user + system) of the proxying process per completed response, µs; null for direct. */
  readonly proxyCpuUsPerRequest: number | null;
  /** The proxy's CPU per request over the bare proxy's, taken round by round (median); null for direct. */
  readonly vsBare: number | null;
  /** CPU of the upstream process per completed response, µs. */
  readonly upstreamCpuUsPerRequest: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Non-2xx answers and socket errors over all rounds. */
  readonly failures: number;
}

type Role = 'upstream' | 'bare' | 'gateway' | 'gateway-hop';

/** A message from the parent to a server child. */
type Command = { readonly kind: 'cpu' } | { readonly kind: 'stop' };

/** What a server child says: first where it listens, then its CPU time on each 'cpu' command. */
type Report = { readonly kind: 'listening'; readonly url: string } | { readonly kind: 'cpu'; readonly micros: number };

const API_KEY = 'bench-hop-0123456789abcdefghij';

// A product list of ten, about the size of what GET /products returns.
const UPSTREAM_BODY = JSON.stringify({
  items: Array.from({ length: 10 }, (_, index) => ({
    id: `p-${index}`,
    name: `bench product ${index}`,
    price: { amount: 100 + index, currency: 'EUR' },
    stock: 1000,
  })),
});

/** A server child process, and its answer to "how much CPU so far?". */
class Child {
  private waiting: ((report: Report) => void)[] = [];
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (report: Report) => this.waiting.shift()?.(report));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  static async start(role: Role, args: readonly string[], profileDir: string | undefined): Promise<{ child: Child; url: string }> {
    const execArgv = [
      '--import',
      'tsx',
      ...(profileDir !== undefined && role !== 'upstream' ? ['--cpu-prof', '--cpu-prof-dir', path.join(profileDir, role)] : []),
    ];
    const child = new Child(fork(__filename, ['--role', role, ...args], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    try {
      const listening = await child.next(`${role} to listen`);
      if (listening.kind !== 'listening') throw new Error(`${role} said ${listening.kind} before it listened`);
      return { child, url: listening.url };
    } catch (error) {
      await child.stop();
      throw error;
    }
  }

  /** CPU time (user + system) of the child so far, µs. */
  async cpuMicros(): Promise<number> {
    this.child.send({ kind: 'cpu' } satisfies Command);
    const report = await this.next('a CPU reading');
    if (report.kind !== 'cpu') throw new Error(`expected a CPU reading, got ${report.kind}`);
    return report.micros;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      if (this.child.connected) this.child.send({ kind: 'stop' } satisfies Command);
      else this.child.kill();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
  }

  private next(what: string): Promise<Report> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`child exited (${code}) while the bench waited for ${what}`));
      this.child.once('exit', onExit);
      this.waiting.push((report) => {
        this.child.off('exit', onExit);
        resolve(report);
      });
    });
  }
}

/** One measured autocannon run of one target. */
interface Run {
  readonly result: autocannon.Result;
  readonly proxyUs: number | null;
  readonly upstreamUs: number;
}

/** Runs the section: starts the servers, measures, stops them. */
export async function runProxyHop(settings: HopSettings = HOP_DEFAULTS, profileDir?: string): Promise<HopRow[]> {
  const started: Child[] = [];
  // Both gateways trust one development key, so that one token passes both.
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-hop-'));
  try {
    const key = await loadOrCreateDevKey(stateDir);
    const token = await mintDevToken(key, { sub: 'bench-user', scopes: Object.values(SCOPES), ttlSeconds: 3600 });
    const begin = async (role: Role, args: readonly string[]): Promise<{ child: Child; url: string }> => {
      const server = await Child.start(role, args, profileDir);
      started.push(server.child);
      return server;
    };
    const upstream = await begin('upstream', []);
    const proxyArgs = ['--upstream', upstream.url, '--state-dir', stateDir];
    const gateway = await begin('gateway', proxyArgs);
    const hopOnly = await begin('gateway-hop', proxyArgs);
    const bare = await begin('bare', proxyArgs);
    const targets: Record<HopTarget, { url: string; proxy: Child | undefined }> = {
      'local gateway': { url: new URL('products', gateway.url).toString(), proxy: gateway.child },
      'local gateway, hop only': { url: new URL('products', hopOnly.url).toString(), proxy: hopOnly.child },
      'bare Node keep-alive proxy': { url: `${bare.url}/products`, proxy: bare.child },
      'direct to the upstream': { url: `${upstream.url}/products`, proxy: undefined },
    };
    const headers = { authorization: `Bearer ${token}`, 'x-api-key': API_KEY };

    const rows: HopRow[] = [];
    for (const load of settings.loads) {
      const shape = { headers, connections: load.connections, ...(load.rate !== undefined && { overallRate: load.rate }) };
      // Untimed: JIT, the authorizer's first (uncached) call, pooled sockets.
      for (const target of HOP_TARGETS) await autocannon({ url: targets[target].url, ...shape, duration: 1 });
      const runs = new Map<HopTarget, Run[]>(HOP_TARGETS.map((target) => [target, []]));
      for (let round = 0; round < settings.rounds; round += 1) {
        // Alternate the order, so that no target always runs on the warmer (or busier) machine.
        const order = round % 2 === 0 ? HOP_TARGETS : [...HOP_TARGETS].reverse();
        for (const target of order) {
          const { url, proxy } = targets[target];
          const proxyBefore = await proxy?.cpuMicros();
          const upstreamBefore = await upstream.child.cpuMicros();
          const result = await autocannon({ url, ...shape, duration: settings.durationSeconds });
          const upstreamAfter = await upstream.child.cpuMicros();
          const proxyAfter = await proxy?.cpuMicros();
          const completed = Math.max(1, result['2xx'] + result.non2xx);
          runs.get(target)?.push({
            result,
            proxyUs: proxyBefore === undefined || proxyAfter === undefined ? null : (proxyAfter - proxyBefore) / completed,
            upstreamUs: (upstreamAfter - upstreamBefore) / completed,
          });
        }
      }
      const bareRuns = runs.get('bare Node keep-alive proxy') ?? [];
      for (const target of HOP_TARGETS) rows.push(summarize(target, load, runs.get(target) ?? [], bareRuns));
    }
    return rows;
  } finally {
    for (const child of started.reverse()) await child.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

function summarize(target: HopTarget, load: HopLoad, runs: readonly Run[], bareRuns: readonly Run[]): HopRow {
  const proxyUs = runs.map((run) => run.proxyUs).filter((value): value is number => value !== null);
  return {
    target,
    load,
    proxyCpuUsPerRequest: proxyUs.length === 0 ? null : round1(median(proxyUs)),
    vsBare: proxyUs.length === 0 ? null : round2(median(runs.map((run, index) => (run.proxyUs ?? Number.NaN) / (bareRuns[index]?.proxyUs ?? Number.NaN)))),
    upstreamCpuUsPerRequest: round1(median(runs.map((run) => run.upstreamUs))),
    requestsPerSecond: Math.round(median(runs.map((run) => run.result.requests.average))),
    p50Ms: median(runs.map((run) => run.result.latency.p50)),
    p99Ms: median(runs.map((run) => run.result.latency.p99)),
    failures: runs.reduce((sum, run) => sum + run.result.non2xx + run.result.errors + run.result.timeouts, 0),
  };
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

// ---- The server children -------------------------------------------------------------------------

/** Runs one server until the parent says stop (or goes away), answering its CPU questions. */
async function serve(role: Role, flags: { readonly upstream?: string; readonly stateDir?: string }): Promise<void> {
  const stops: (() => Promise<void> | void)[] = [];
  const stop = async (): Promise<void> => {
    for (const close of stops.reverse()) await close();
    // An explicit exit, so that --cpu-prof writes its profile.
    process.exit(0);
  };
  process.on('message', (command: Command) => {
    if (command.kind === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send?.({ kind: 'cpu', micros: user + system } satisfies Report);
    } else void stop();
  });
  process.once('disconnect', () => void stop());
  const listening = (url: string): void => void process.send?.({ kind: 'listening', url } satisfies Report);

  if (role === 'upstream') {
    const server = createServer((request, response) => {
      // Drain the (empty) request body so the connection can be reused.
      request.resume();
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(UPSTREAM_BODY) }).end(UPSTREAM_BODY);
    });
    // Longer than any pause of the bench between runs, so that no proxy meets a closed pooled socket.
    server.keepAliveTimeout = 60_000;
    await listen(server);
    stops.push(() => void server.close());
    listening(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return;
  }
  const { upstream: upstreamUrl, stateDir } = flags;
  if (upstreamUrl === undefined || stateDir === undefined) throw new Error(`--upstream and --state-dir are required for ${role}`);

  if (role === 'bare') {
    const target = new URL(upstreamUrl);
    const agent = new Agent({ keepAlive: true });
    const server = createServer((request, response) => {
      const outgoing = httpRequest(
        { agent, hostname: target.hostname, port: target.port, method: request.method, path: request.url, headers: request.headers },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      outgoing.on('error', () => {
        if (!response.headersSent) response.writeHead(502);
        response.end();
      });
      request.pipe(outgoing);
    });
    await listen(server);
    stops.push(() => {
      server.close();
      agent.destroy();
    });
    listening(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return;
  }

  if (role === 'gateway-hop') replayFirstDecision();
  // The gateway as local/system.ts builds it, with the development issuer and a tier the bench cannot exhaust.
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
    { prefetchKeys: true, logger: { info: () => undefined, warn: () => undefined, error: () => undefined } },
  );
  const lifted = { rateLimit: 1_000_000, burstLimit: 1_000_000 };
  const gateway = await LocalGateway.start({
    routes: GATEHOUSE_ROUTES,
    stageName: 'v1',
    tiers: [{ name: 'bench', ...lifted, apiKeys: [API_KEY] }],
    stageThrottle: lifted,
    authorizer,
    authorizerCacheTtlSeconds: 300,
    resolveService: async () => [upstreamUrl],
  });
  stops.push(() => gateway.close());
  listening(gateway.apiUrl);
}

/**
 * Makes every Gatekeeper answer each request with the decision it reached for the first one (with this
 * request's id): the bench repeats one request, so the hop sees what it would, minus the checks.
 */
function replayFirstDecision(): void {
  const check = Gatekeeper.prototype.check;
  let first: GateDecision | undefined;
  Gatekeeper.prototype.check = async function replay(this: Gatekeeper, request: ReceivedRequest, log: GateLog): Promise<GateDecision> {
    first ??= await check.call(this, request, log);
    return first.kind === 'pass' ? { ...first, identity: { ...first.identity, requestId: request.requestId } } : first;
  };
}

function listen(server: ReturnType<typeof createServer>): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
}

/** `16 connections`, `16 connections at 2000 req/s`. */
export function loadName(load: HopLoad): string {
  return `${load.connections} connection${load.connections === 1 ? '' : 's'}${load.rate === undefined ? '' : ` at ${load.rate} req/s`}`;
}

/** `16` or `16@2000` (connections, then the overall rate). */
function parseLoad(text: string): HopLoad {
  const [connections, rate] = text.split('@').map(Number);
  return rate === undefined ? { connections } : { connections, rate };
}

/** The table of this section alone. */
export function renderHopTable(rows: readonly HopRow[]): string {
  const lines = [
    '| Proxy hop, GET /products | load | proxy CPU µs/req | × bare | upstream CPU µs/req | req/s | p50 ms | p99 ms | failures |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.target} | ${loadName(row.load)} | ${row.proxyCpuUsPerRequest?.toFixed(1) ?? '-'} | ${row.vsBare?.toFixed(2) ?? '-'} | ${row.upstreamCpuUsPerRequest.toFixed(1)} | ${row.requestsPerSecond} | ${row.p50Ms} | ${row.p99Ms} | ${row.failures} |`,
    );
  }
  return lines.join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const index = args.indexOf(name);
    return index >= 0 ? args[index + 1] : undefined;
  };
  const role = flag('--role');
  if (role === 'upstream' || role === 'bare' || role === 'gateway' || role === 'gateway-hop') {
    serve(role, { upstream: flag('--upstream'), stateDir: flag('--state-dir') }).catch((error: unknown) => {
      process.stderr.write(`proxy-hop ${role}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    });
  } else {
    const profile = flag('--profile');
    if (profile !== undefined) fs.mkdirSync(profile, { recursive: true });
    const settings: HopSettings = {
      loads: flag('--loads')?.split(',').map(parseLoad) ?? HOP_DEFAULTS.loads,
      durationSeconds: Number(flag('--duration') ?? HOP_DEFAULTS.durationSeconds),
      rounds: Number(flag('--rounds') ?? HOP_DEFAULTS.rounds),
    };
    runProxyHop(settings, profile === undefined ? undefined : path.resolve(profile))
      .then((rows) => process.stdout.write(`${renderHopTable(rows)}\n`))
      .catch((error: unknown) => {
        process.stderr.write(`proxy-hop: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
        process.exit(1);
      });
  }
}
