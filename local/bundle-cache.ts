/**
 * Bundles that `npm start` reuses while their inputs are unchanged. esbuild's metafile lists every file
 * a bundle read; a stamp next to the bundle keeps their content hashes (about 20 ms to check the
 * ~800 inputs of a service, against 1–3 s to bundle it on a two-core machine). Content, not mtimes:
 * a checkout or a copy that touches files without changing them does not force a rebuild.
 *
 * Limit: a new file that would change how an import resolves (a new `index.ts` beside a `.js`) is not
 * among the inputs, so it goes unnoticed until an input changes; `rm -r .gatehouse/bundles` rebuilds all.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build, version as esbuildVersion } from 'esbuild';

/** The stamp file inside a bundle's outdir. */
export const STAMP_FILE = '.inputs.json';

interface Stamp {
  /** What else decides the output: the esbuild version and the caller's key. */
  readonly key: string;
  /** Absolute path to SHA-256 of the content, for every input the bundle read. */
  readonly inputs: Readonly<Record<string, string>>;
}

/** A bundle reused or built. */
export interface CachedBundle {
  readonly file: string;
  /** True when the bundle on disk was up to date and nothing was built. */
  readonly reused: boolean;
}

/** What {@link cachedBundle} builds and checks. */
export interface CachedBundleSpec {
  /** The folder of the bundle and its stamp. */
  readonly outdir: string;
  /** The bundle's main file, inside `outdir`. */
  readonly file: string;
  /** Anything that changes the output besides the inputs, such as the build options' source file. */
  readonly key: string;
  /** Files that are not inputs but decide the output (the file that holds the build options). */
  readonly extraInputs?: readonly string[];
  /** Builds into `outdir` and gives back the absolute paths of the files it read (from esbuild's metafile). */
  build(): Promise<readonly string[]>;
}

/** Reuses the bundle when its stamp matches its inputs, else builds it and writes a new stamp. */
export async function cachedBundle(spec: CachedBundleSpec): Promise<CachedBundle> {
  const stampFile = path.join(spec.outdir, STAMP_FILE);
  const key = `esbuild ${esbuildVersion}\n${spec.key}`;
  if (fs.existsSync(spec.file) && (await upToDate(stampFile, key))) return { file: spec.file, reused: true };
  // Gone before building, so that a build that fails halfway leaves no stamp claiming it is current.
  fs.rmSync(stampFile, { force: true });
  const files = [...(await spec.build()), ...(spec.extraInputs ?? [])];
  const inputs: Record<string, string> = {};
  for (const file of files) {
    const hash = await hashFile(file);
    // Virtual inputs (esbuild namespaces such as "<define:...>") are not files: nothing to watch.
    if (hash !== undefined) inputs[file] = hash;
  }
  const stamp: Stamp = { key, inputs };
  fs.writeFileSync(stampFile, JSON.stringify(stamp));
  return { file: spec.file, reused: false };
}

async function upToDate(stampFile: string, key: string): Promise<boolean> {
  let stamp: Stamp;
  try {
    stamp = JSON.parse(await fs.promises.readFile(stampFile, 'utf8')) as Stamp;
  } catch {
    // No stamp, or one that is not JSON: build.
    return false;
  }
  if (stamp.key !== key || typeof stamp.inputs !== 'object') return false;
  const checks = await Promise.all(Object.entries(stamp.inputs).map(async ([file, hash]) => (await hashFile(file)) === hash));
  return checks.every(Boolean);
}

async function hashFile(file: string): Promise<string | undefined> {
  try {
    return createHash('sha256')
      .update(await fs.promises.readFile(file))
      .digest('hex');
  } catch {
    return undefined;
  }
}

/** The entry of the runtime's own parts (dynalite, registry, issuer). */
export const PART_ENTRY = path.join(__dirname, 'part-main.ts');
/** The preload that stops a service process when `npm start` is gone. */
export const GUARD_ENTRY = path.join(__dirname, 'orphan-guard.ts');

/** The runtime's own bundle: `parts.js` runs a part, `guard.js` is preloaded into the services. */
export interface PartsBundle extends CachedBundle {
  readonly guard: string;
}

/**
 * Bundles local/part-main.ts into `outdir/parts.js` and local/orphan-guard.ts into `outdir/guard.js`,
 * or reuses them. Packages are left out of the bundle
 * (dynalite's storage is native code): the part processes find them through NODE_PATH, set to
 * {@link NODE_MODULES}. A bundle still starts in about 0.1 s where `node --import tsx` takes 0.25–0.4 s.
 */
export async function cachedPartsBundle(outdir: string): Promise<PartsBundle> {
  const file = path.join(outdir, 'parts.js');
  const guard = path.join(outdir, 'guard.js');
  const bundle = await cachedBundle({
    outdir,
    file,
    key: `parts ${PART_ENTRY} ${GUARD_ENTRY}`,
    extraInputs: [__filename],
    build: async () => {
      const result = await build({
        entryPoints: { parts: PART_ENTRY, guard: GUARD_ENTRY },
        outdir,
        bundle: true,
        platform: 'node',
        target: 'node20',
        format: 'cjs',
        packages: 'external',
        sourcemap: 'linked',
        metafile: true,
        logLevel: 'silent',
      });
      // Relative to esbuild's working directory, the process's by default.
      return Object.keys(result.metafile.inputs).map((input) => path.resolve(input));
    },
  });
  // The guard is part of the same build and stamp; should it be missing, build both again.
  if (bundle.reused && !fs.existsSync(guard)) {
    fs.rmSync(path.join(outdir, STAMP_FILE), { force: true });
    return cachedPartsBundle(outdir);
  }
  return { ...bundle, guard };
}

/** The repository's node_modules, where the parts bundle finds its packages. */
export const NODE_MODULES = path.join(__dirname, '..', 'node_modules');
