/**
 * The services' esbuild bundles: one self-contained `server.js` per service (the AWS SDK, Fastify
 * and everything else inside), so the container image is that file on a Node.js base image, and the
 * local runtime and the tests run the very same file.
 */
import * as path from 'node:path';
import { build } from 'esbuild';
import type { Metafile } from 'esbuild';

/** The services' entry points, by service name. */
export const SERVICE_ENTRIES = {
  product: path.join(__dirname, '..', '..', 'services', 'product', 'server.ts'),
  order: path.join(__dirname, '..', '..', 'services', 'order', 'server.ts'),
} as const;

/** A bundled service. */
export interface ServiceBundle {
  /** The folder holding `server.js` and its source map. */
  readonly outdir: string;
  /** `outdir/server.js`. */
  readonly file: string;
  /** Bytes of `server.js`. */
  readonly bytes: number;
}

/** The Node.js version the bundles target: the oldest that runs them (local runs on Node.js 20). */
export const SERVICE_NODE_TARGET = 'node20';

/** Bundles `entry` into `outdir/server.js`. */
export async function bundleService(entry: string, outdir: string): Promise<ServiceBundle> {
  const result = await build({
    entryPoints: { server: entry },
    outdir,
    bundle: true,
    platform: 'node',
    target: SERVICE_NODE_TARGET,
    format: 'cjs',
    minify: true,
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    logLevel: 'silent',
    legalComments: 'none',
  });
  const file = path.join(outdir, 'server.js');
  return { outdir, file, bytes: outputBytes(result.metafile, file) };
}

function outputBytes(metafile: Metafile, file: string): number {
  const entry = Object.entries(metafile.outputs).find(([output]) => path.resolve(output) === file);
  return entry?.[1].bytes ?? 0;
}
