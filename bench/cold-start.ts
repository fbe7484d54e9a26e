/**
 * Authorizer cold start: each candidate (bench/cold/*.ts) is bundled the same way with esbuild, its size
 * read from the metafile, then started as a fresh process that loads it, fetches the JWKS from a
 * loopback issuer and verifies one token. Candidates alternate within each round; medians are reported.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { AUTHORIZER_CONFIG_ENV, encodeAuthorizerConfig } from '../lib/auth/authorizer-contract';
import { testConfig } from '../test/support/authorizer';
import { TestIssuer } from '../test/support/test-issuer';
import { median } from './stats';

/** Settings of the cold section. */
export interface ColdSettings {
  /** Fresh processes per candidate. */
  readonly rounds: number;
}

/** The default settings: a few seconds. */
export const COLD_DEFAULTS: ColdSettings = { rounds: 7 };

/** One row of the cold section. */
export interface ColdRow {
  readonly candidate: string;
  /** The minified bundle, harness included (about 1 KB, the same in every row). */
  readonly bundleKb: number;
  /** Median ms from process start (Node's timeOrigin) to the first verification done, JWKS fetch included. */
  readonly msToFirstVerify: number;
  /** The same minus the `empty` baseline's: what the library, its init and the first verification add. */
  readonly msOverEmpty: number;
}

/** Entry file (bench/cold/<name>.ts) of each candidate, in table order. */
const CANDIDATES: Record<string, string> = {
  'gatehouse authorizer (lambda/authorizer/index.ts)': 'gatehouse',
  'jose createRemoteJWKSet + jwtVerify': 'jose',
  'aws-jwt-verify': 'aws-jwt-verify',
  'jsonwebtoken + jwks-rsa': 'jsonwebtoken',
  'node:crypto verify (floor)': 'node-crypto',
  'empty process (baseline)': 'empty',
};

/** Bundles and runs the cold section for RS256. */
export async function runCold(settings: ColdSettings = COLD_DEFAULTS): Promise<ColdRow[]> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-cold-'));
  const issuer = await TestIssuer.start();
  try {
    const bundles = new Map<string, { file: string; bytes: number }>();
    for (const [name, entry] of Object.entries(CANDIDATES)) bundles.set(name, await bundle(entry, outdir));
    const token = await issuer.sign({}, { key: issuer.key('RS256'), expiresIn: 3600 });
    const env = {
      PATH: process.env.PATH ?? '',
      BENCH_TOKEN: token,
      BENCH_ISSUER: issuer.issuer,
      BENCH_AUDIENCE: issuer.audience,
      BENCH_JWKS_URI: issuer.jwksUri,
      BENCH_ALG: 'RS256',
      [AUTHORIZER_CONFIG_ENV]: encodeAuthorizerConfig(testConfig([issuer])),
    };
    const samples = new Map<string, number[]>([...bundles.keys()].map((name) => [name, []]));
    for (let round = 0; round < settings.rounds; round += 1) {
      const names = round % 2 === 0 ? [...bundles.keys()] : [...bundles.keys()].reverse();
      for (const name of names) samples.get(name)?.push(await runOnce(bundles.get(name)?.file ?? '', env));
    }
    const emptyMs = median(samples.get('empty process (baseline)') ?? []);
    return [...bundles].map(([name, { bytes }]) => {
      const ms = median(samples.get(name) ?? []);
      return {
        candidate: name,
        bundleKb: Math.round(bytes / 102.4) / 10,
        msToFirstVerify: Math.round(ms * 10) / 10,
        msOverEmpty: Math.round((ms - emptyMs) * 10) / 10,
      };
    });
  } finally {
    await issuer.close();
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * Bundles one entry as the authorizer's Lambda is bundled (minified, module before main), except CJS
 * for every candidate: jsonwebtoken's CommonJS requires of Node built-ins do not survive an ESM bundle.
 */
async function bundle(entry: string, outdir: string): Promise<{ file: string; bytes: number }> {
  const outfile = path.join(outdir, `${entry}.cjs`);
  const result = await build({
    entryPoints: [path.join(__dirname, 'cold', `${entry}.ts`)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    mainFields: ['module', 'main'],
    minify: true,
    metafile: true,
    logLevel: 'error',
  });
  const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
  return { file: outfile, bytes };
}

/** Runs one bundle in a fresh process; resolves with the ms it reports. */
async function runOnce(file: string, env: Record<string, string>): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = stdout.split('\n').find((candidate) => candidate.startsWith('BENCH '));
      if (code !== 0 || line === undefined) {
        reject(new Error(`${path.basename(file)} exited ${code}: ${stderr.slice(-500)}`));
        return;
      }
      resolve((JSON.parse(line.slice('BENCH '.length)) as { ms: number }).ms);
    });
  });
}

if (require.main === module) {
  runCold()
    .then((rows) => process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`cold-start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    });
}
