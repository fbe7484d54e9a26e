/**
 * `npm run bench`: Gatehouse's performance, measured side by side with the alternatives and the floor
 * in one run, printed as a table and saved to bench/results/latest.json. Ratios matter more than
 * absolute times on a shared machine, so every comparison is interleaved in the same run and reported
 * as the median of several rounds. Benchmarks are never tests: nothing here can fail `npm test`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runWarm, WARM_DEFAULTS } from './authorizer-warm';
import type { WarmRow } from './authorizer-warm';
import { LOAD_DEFAULTS, runGatewayLoad, runOrderLoad, startSystem } from './gateway-load';
import type { LoadRow, OrderLoadResult } from './gateway-load';
import { COLD_DEFAULTS, runCold } from './cold-start';
import { CONTENTION_DEFAULTS, runOrderContention } from './order-contention';
import type { OrderContentionResult } from './order-contention';
import type { ColdRow } from './cold-start';
import { HOP_DEFAULTS, renderHopTable, runProxyHop } from './proxy-hop';
import type { HopRow } from './proxy-hop';
import { runStartTime, START_DEFAULTS } from './start-time';
import type { StartResult } from './start-time';

const ROOT = path.join(__dirname, '..');
const RESULTS_FILE = path.join(__dirname, 'results', 'latest.json');

/** What bench/results/latest.json holds. */
export interface BenchResults {
  readonly date: string;
  readonly machine: { readonly cpus: number; readonly model: string; readonly platform: string; readonly totalMemoryMb: number };
  readonly node: string;
  readonly settings: Record<string, unknown>;
  readonly authorizerWarm: readonly WarmRow[];
  /** The same section re-run in a child process pinned to one core; empty when taskset is missing. */
  readonly authorizerWarmOneCore: readonly WarmRow[];
  readonly gatewayLoad: readonly LoadRow[];
  /** Null when the section failed (see notes). */
  readonly orderLoad: OrderLoadResult | null;
  /** The local gateway's hop next to a bare keep-alive proxy and no proxy; empty when the section failed. */
  readonly proxyHop?: readonly HopRow[];
  /** `npm start` to ready; null when the section failed. */
  readonly startTime?: StartResult | null;
  /** One hot product, and the round trips of one order; null when the section failed (see notes). */
  readonly orderContention?: OrderContentionResult | null;
  readonly cdkSynthSeconds: readonly number[];
  readonly authorizerCold: readonly ColdRow[];
  /** What was skipped or failed, and why. */
  readonly notes: readonly string[];
}

async function main(): Promise<void> {
  const started = Date.now();
  const notes: string[] = [];
  const cpus = os.cpus();
  const section = (name: string): void => void process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${name}\n`);

  section('authorizer, warm (as is)');
  const authorizerWarm = await runWarm(WARM_DEFAULTS);

  let authorizerWarmOneCore: WarmRow[] = [];
  if (hasTaskset()) {
    section('authorizer, warm (taskset -c 0)');
    try {
      const output = execFileSync('taskset', ['-c', '0', process.execPath, '--import', 'tsx', path.join(__dirname, 'authorizer-warm.ts'), '--json'], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        timeout: 120_000,
      });
      authorizerWarmOneCore = JSON.parse(output.trim().split('\n').pop() ?? '[]') as WarmRow[];
    } catch (error) {
      notes.push(`authorizer warm on one core failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  } else {
    notes.push('taskset not found: the one-core (taskset -c 0) run of the warm authorizer section was skipped');
  }

  section('local gateway load');
  let gatewayLoad: LoadRow[] = [];
  let orderLoad: OrderLoadResult | null = null;
  try {
    const system = await startSystem();
    try {
      gatewayLoad = await runGatewayLoad(system.info, LOAD_DEFAULTS);
      section('order placement load');
      orderLoad = await runOrderLoad(system.info, LOAD_DEFAULTS);
    } finally {
      await system.stop();
    }
  } catch (error) {
    notes.push(`local gateway load failed: ${error instanceof Error ? error.message : String(error)}`);
  }

  section('proxy hop: local gateway, bare keep-alive proxy, direct');
  const proxyHop = (await attempt('proxy hop', notes, () => runProxyHop(HOP_DEFAULTS))) ?? [];

  section('order contention (one product) and round trips per order');
  let orderContention: OrderContentionResult | null = null;
  try {
    orderContention = await runOrderContention(CONTENTION_DEFAULTS);
  } catch (error) {
    notes.push(`order contention failed: ${error instanceof Error ? error.message : String(error)}`);
  }

  section('cdk synth');
  const cdkSynthSeconds: number[] = [];
  try {
    for (let run = 0; run < 2; run += 1) cdkSynthSeconds.push(await cdkSynth());
  } catch (error) {
    notes.push(`cdk synth failed: ${error instanceof Error ? error.message : String(error)}`);
  }

  section('authorizer, cold');
  let authorizerCold: ColdRow[] = [];
  try {
    authorizerCold = await runCold(COLD_DEFAULTS);
  } catch (error) {
    notes.push(`authorizer cold failed: ${error instanceof Error ? error.message : String(error)}`);
  }

  section('npm start to ready');
  const startTime = await attempt('npm start to ready', notes, () => runStartTime(START_DEFAULTS));

  const results: BenchResults = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus.length,
      model: cpus[0]?.model.trim() ?? 'unknown',
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      totalMemoryMb: Math.round(os.totalmem() / 2 ** 20),
    },
    node: process.version,
    settings: {
      authorizerWarm: {
        ...WARM_DEFAULTS,
        note: 'distinct pre-signed tokens (a jti each); candidates shuffled each round; median round; ratio to jose taken round by round, median of those; untimed warm-up passes first',
      },
      gatewayLoad: {
        ...LOAD_DEFAULTS,
        tool: 'autocannon',
        note: 'bench tier 1,000,000/s and route throttles lifted (POST /orders has 50/s, burst 100), so throttles are checked but never bite; POST /orders req/s counts 2xx only; authorizer cache TTL 300 s; gateway balances over two product instances, direct hits one',
      },
      authorizerCold: {
        ...COLD_DEFAULTS,
        alg: 'RS256',
        note: 'esbuild bundle per candidate (CJS, minified, node20, no source maps); fresh process each; ms from Node timeOrigin to first verification, JWKS fetched from loopback',
      },
      cdkSynth: 'npx cdk synth --quiet --no-notices -o <tmp>, CDK_DISABLE_CLI_TELEMETRY=true, wall time',
      proxyHop: {
        ...HOP_DEFAULTS,
        tool: 'autocannon',
        note: 'GET /products, one process per server; CPU = process.cpuUsage (user + system) of the proxying process over a run / responses; × bare taken round by round, median; the gateway with its real checks (bench tier, authorizer cache 300 s) and with its first decision replayed (the hop alone)',
      },
      startTime: {
        ...START_DEFAULTS,
        note: 'node --import tsx local/start.ts --port 0 --state-dir <one tmp dir>: the first run cold (fresh state), the rest warm (median); wall time from spawn to the URL line, to the first 200 of GET /products through the gateway, and from SIGINT to exit',
      },
    },
    authorizerWarm,
    authorizerWarmOneCore,
    gatewayLoad,
    orderLoad,
    proxyHop,
    orderContention,
    cdkSynthSeconds,
    authorizerCold,
    startTime,
    notes,
  };
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${renderTable(results)}\nSaved ${path.relative(ROOT, RESULTS_FILE)} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}

/** Runs one section; a failure becomes a note and null, so that one broken section never loses the others. */
async function attempt<T>(name: string, notes: string[], run: () => Promise<T>): Promise<T | null> {
  try {
    return await run();
  } catch (error) {
    notes.push(`${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
}

function hasTaskset(): boolean {
  return spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0;
}

/** Wall time of one full `cdk synth`, in seconds. */
async function cdkSynth(): Promise<number> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-synth-'));
  const started = process.hrtime.bigint();
  try {
    await new Promise<number | null>((resolve, reject) => {
      const child = spawn('npx', ['cdk', 'synth', '--quiet', '--no-notices', '-o', out], {
        cwd: ROOT,
        env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
      child.once('error', reject);
      child.once('exit', (exitCode) => (exitCode === 0 ? resolve(exitCode) : reject(new Error(`exit ${exitCode}: ${stderr.slice(-500)}`))));
    });
    return Math.round(Number(process.hrtime.bigint() - started) / 1e7) / 100;
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** The results as a plain-text table, the one the README's Performance section shows. */
export function renderTable(results: BenchResults): string {
  const lines: string[] = [];
  lines.push(`Machine: ${results.machine.cpus} × ${results.machine.model}, Node ${results.node}, ${results.date}`);
  lines.push('');
  const oneCore = new Map(results.authorizerWarmOneCore.map((row) => [`${row.alg} ${row.candidate}`, row]));
  lines.push(row(['Authorizer, warm', 'alg', 'µs/verify', '× jose', '1 core µs', '1 core × jose']));
  lines.push(row(['---', '---', '---', '---', '---', '---']));
  for (const warm of results.authorizerWarm) {
    const pinned = oneCore.get(`${warm.alg} ${warm.candidate}`);
    lines.push(
      row([warm.candidate, warm.alg, warm.usPerOp.toFixed(1), warm.vsJose.toFixed(2), pinned?.usPerOp.toFixed(1) ?? '-', pinned?.vsJose.toFixed(2) ?? '-']),
    );
  }
  lines.push('');
  lines.push(row(['Local gateway load', 'req/s', 'p50 ms', 'p99 ms', 'failures']));
  lines.push(row(['---', '---', '---', '---', '---']));
  for (const loadRow of [...results.gatewayLoad, ...(results.orderLoad === null ? [] : [results.orderLoad])]) {
    lines.push(row([loadRow.target, String(loadRow.requestsPerSecond), String(loadRow.p50Ms), String(loadRow.p99Ms), String(loadRow.failures)]));
  }
  if (results.orderLoad !== null) {
    const { ordersPlaced, discoveryCalls, discoveryCallsPer1000Orders } = results.orderLoad;
    lines.push(
      `Orders placed: ${ordersPlaced}; Cloud Map DiscoverInstances calls by the order service: ${discoveryCalls} (${discoveryCallsPer1000Orders} per 1,000 orders)`,
    );
  }
  if (results.proxyHop !== undefined && results.proxyHop.length > 0) lines.push('', renderHopTable(results.proxyHop));
  if (results.orderContention != null) {
    const contention = results.orderContention;
    lines.push('');
    lines.push(row(['One-product contention', 'orders', 'stock', 'p50 ms', 'p99 ms', 'max ms', `inside ${contention.timeoutMs / 1000} s`, 'answers']));
    lines.push(row(['---', '---', '---', '---', '---', '---', '---', '---']));
    const answers = Object.entries(contention.statuses)
      .map(([status, count]) => `${count}× ${status}`)
      .join(', ');
    lines.push(
      row([
        'order service (processes, dynalite)',
        String(contention.concurrency),
        String(contention.stock),
        String(contention.p50Ms),
        String(contention.p99Ms),
        String(contention.maxMs),
        String(contention.insideTimeout),
        answers,
      ]),
    );
    const trips = Object.entries(contention.roundTrips.beforeAnswer)
      .map(([call, count]) => `${call} ×${count}`)
      .join(', ');
    lines.push(
      `Placed ${contention.placed}, stock taken ${contention.stockTaken}, of which ${contention.awaitingSweep} left reserved for the sweeper (requests that answered 503 while their reserve was on its way)`,
    );
    lines.push(
      `Round trips of a one-item order before its answer: ${contention.roundTrips.beforeAnswerTotal} (${trips}); after it: ${Object.keys(contention.roundTrips.afterAnswer).join(', ') || 'none'}`,
    );
  }
  lines.push('');
  lines.push(row(['Authorizer, cold (RS256)', 'bundle KB', 'ms to 1st verify', 'ms over empty']));
  lines.push(row(['---', '---', '---', '---']));
  for (const cold of results.authorizerCold)
    lines.push(row([cold.candidate, cold.bundleKb.toFixed(1), cold.msToFirstVerify.toFixed(1), cold.msOverEmpty.toFixed(1)]));
  lines.push('');
  lines.push(`cdk synth (full app): ${results.cdkSynthSeconds.map((seconds) => `${seconds.toFixed(1)} s`).join(', ') || '-'}`);
  if (results.startTime != null) {
    const { cold, warm } = results.startTime;
    const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
    lines.push(
      `npm start to ready (URL printed / first 200 through the gateway / stop after SIGINT): warm ${seconds(warm.msToUrl)} / ${seconds(warm.msToAnswer)} / ${seconds(warm.msToStop)}; cold (fresh state folder) ${seconds(cold.msToUrl)} / ${seconds(cold.msToAnswer)} / ${seconds(cold.msToStop)}`,
    );
  }
  for (const note of results.notes) lines.push(`Note: ${note}`);
  return lines.join('\n');
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
