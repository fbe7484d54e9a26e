/**
 * `npm start` time to ready: `node --import tsx local/start.ts --port 0 --state-dir <tmp>` (what
 * `npm start` runs, without npm's own start-up) timed by the wall clock from the spawn to
 * - the URL: the line `... running at <url>` on stdout;
 * - an answer: the first 200 to GET /products through the gateway, with an API key from the outputs
 *   file and a token signed with the development key in the state folder, so the gateway, the
 *   authorizer's JWKS, the registry, a product instance and DynamoDB all answered;
 * - and, after SIGINT, the exit (every part stopped).
 * The first run gets a fresh state folder (bundles built, keys made: a first `npm start`); the next
 * reuse it, as every later `npm start` does (warm).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SCOPES } from '../lib/routes/gatehouse-routes';
import { loadOrCreateDevKey, mintDevToken } from '../local/issuer/dev-issuer';
import { OUTPUTS_FILE } from '../local/state';
import { median } from './stats';

/** Settings of the start section. */
export interface StartSettings {
  /** Starts in one state folder: the first cold, the rest warm. */
  readonly runs: number;
  /** Give up on a start after this long, in milliseconds. */
  readonly timeoutMs: number;
}

/** The default settings: one cold start and three warm ones, well under a minute. */
export const START_DEFAULTS: StartSettings = { runs: 4, timeoutMs: 120_000 };

/** One start, in milliseconds from the spawn. */
export interface StartRun {
  readonly msToUrl: number;
  readonly msToAnswer: number;
  /** From SIGINT to the exit. */
  readonly msToStop: number;
}

/** The cold start and the medians of the warm ones. */
export interface StartResult {
  readonly cold: StartRun;
  readonly warm: StartRun;
  readonly runs: readonly StartRun[];
}

const ROOT = path.join(__dirname, '..');
const URL_LINE = /running at (http:\/\/\S+)/;

/** Runs the section. */
export async function runStartTime(settings: StartSettings = START_DEFAULTS): Promise<StartResult> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-start-'));
  try {
    const runs: StartRun[] = [];
    for (let run = 0; run < settings.runs; run += 1) runs.push(await startOnce(stateDir, settings.timeoutMs));
    const [cold, ...warm] = runs;
    return {
      cold,
      warm: {
        msToUrl: median(warm.map((run) => run.msToUrl)),
        msToAnswer: median(warm.map((run) => run.msToAnswer)),
        msToStop: median(warm.map((run) => run.msToStop)),
      },
      runs,
    };
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

async function startOnce(stateDir: string, timeoutMs: number): Promise<StartRun> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', '--port', '0', '--state-dir', stateDir], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  const deadline = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    const apiUrl = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const found = URL_LINE.exec(output);
        if (found !== null) resolve(found[1]);
      });
      void exited.then((code) => reject(new Error(`npm start exited (${code}) before printing its URL: ${output.slice(-2000)}`)));
    });
    const msToUrl = performance.now() - started;
    await firstAnswer(apiUrl, stateDir, exited);
    const msToAnswer = performance.now() - started;
    const stopping = performance.now();
    child.kill('SIGINT');
    const code = await exited;
    if (code !== 0) throw new Error(`npm start exited ${code} on SIGINT: ${output.slice(-2000)}`);
    return { msToUrl: round(msToUrl), msToAnswer: round(msToAnswer), msToStop: round(performance.now() - stopping) };
  } finally {
    clearTimeout(deadline);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
}

/** Polls GET /products until it is a 200; rejects if the process exits first. */
async function firstAnswer(apiUrl: string, stateDir: string, exited: Promise<number | null>): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const outputs = JSON.parse(fs.readFileSync(path.join(stateDir, OUTPUTS_FILE), 'utf8')) as { Gatehouse?: Record<string, unknown> };
  const apiKey = Object.entries(outputs.Gatehouse ?? {}).find(([name, value]) => name.startsWith('ApiKey') && typeof value === 'string')?.[1];
  if (typeof apiKey !== 'string') throw new Error(`no ApiKey… string in ${OUTPUTS_FILE}`);
  const token = await mintDevToken(await loadOrCreateDevKey(stateDir), { sub: 'bench-user', scopes: Object.values(SCOPES), ttlSeconds: 600 });
  let last = 'no answer yet';
  while (!gone) {
    try {
      const response = await fetch(new URL('products', apiUrl), { headers: { authorization: `Bearer ${token}`, 'x-api-key': apiKey } });
      await response.arrayBuffer();
      if (response.status === 200) return;
      last = `status ${response.status}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`npm start exited before GET /products answered 200 (last: ${last})`);
}

function round(ms: number): number {
  return Math.round(ms);
}

if (require.main === module) {
  runStartTime()
    .then((result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`start-time: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    });
}
