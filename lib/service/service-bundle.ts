/**
 * The services' esbuild bundles: one self-contained `server.js` per service (the AWS SDK, Fastify
 * and everything else inside), so the container image is that file on a Node.js base image, and the
 * local runtime and the tests run the very same file.
 */
import * as path from 'node:path';
import type { BuildOptions, Metafile } from 'esbuild';

/**
 * esbuild, loaded when a bundle is first asked for: the installed package declares it as an optional
 * peer, so an app whose services all bring their own image synthesizes without it.
 */
function esbuild(): typeof import('esbuild') {
  try {
    return require('esbuild') as typeof import('esbuild');
  } catch (error) {
    throw new Error(`a Microservice with an entry is bundled with esbuild, which is not installed here (npm install --save-dev esbuild): ${String(error)}`);
  }
}

/** A bundled service. */
export interface ServiceBundle {
  /** The folder holding `server.js` and its source map. */
  readonly outdir: string;
  /** `outdir/server.js`. */
  readonly file: string;
  /** Bytes of `server.js`. */
  readonly bytes: number;
  /** Absolute paths of the files esbuild read: what the local runtime hashes to reuse an unchanged bundle. */
  readonly inputs: readonly string[];
}

/** The Node.js version the bundles target: the oldest that runs them (local runs on Node.js 20). */
export const SERVICE_NODE_TARGET = 'node20';

/** The files a bundle consists of, inside its outdir: what a container image copies. */
export const SERVICE_BUNDLE_FILES = ['server.js', 'server.js.map'] as const;

/**
 * The one set of esbuild options of a service bundle: the async build (local runtime, tests) and the
 * sync build (CDK constructors, which cannot await) must produce the same file.
 */
function serviceBuildOptions(entry: string, outdir: string) {
  return {
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
  } satisfies BuildOptions;
}

/** Bundles `entry` into `outdir/server.js`. */
export async function bundleService(entry: string, outdir: string): Promise<ServiceBundle> {
  const result = await esbuild().build(serviceBuildOptions(entry, outdir));
  return bundleOf(outdir, result.metafile);
}

/** Bundles `entry` into `outdir/server.js`, blocking: for CDK constructs, which bundle at synth in their constructor. */
export function bundleServiceSync(entry: string, outdir: string): ServiceBundle {
  const result = esbuild().buildSync(serviceBuildOptions(entry, outdir));
  return bundleOf(outdir, result.metafile);
}

function bundleOf(outdir: string, metafile: Metafile): ServiceBundle {
  const file = path.join(outdir, 'server.js');
  // esbuild's metafile paths are relative to its working directory, the process's by default.
  return { outdir, file, bytes: outputBytes(metafile, file), inputs: Object.keys(metafile.inputs).map((input) => path.resolve(input)) };
}

function outputBytes(metafile: Metafile, file: string): number {
  const entry = Object.entries(metafile.outputs).find(([output]) => path.resolve(output) === file);
  return entry?.[1].bytes ?? 0;
}
