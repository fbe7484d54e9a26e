/**
 * Builds the package into dist/: the construct library's JavaScript and declarations
 * (tsconfig.build.json), and the authorizer's Lambda bundle, prebuilt so that a consumer's synth needs
 * no esbuild and no path outside its project; then API.md from the doc comments (scripts/api-docs.ts).
 * `npm run build` runs it after the type-check; `npm pack` runs it first (prepack), so a tarball never
 * carries a stale dist/ or API.md.
 *
 *   node --import tsx scripts/build.ts
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { AUTHORIZER_BUNDLE_FILE, AUTHORIZER_BUNDLING, AUTHORIZER_SOURCE_ENTRY } from '../lib/auth/authorizer-code';
import { API_DOCS, generateApiDocs } from './api-docs';

const ROOT = path.join(__dirname, '..');
/** The package's build output; `files` in package.json ships it. */
export const DIST = path.join(ROOT, 'dist');
/** Where the prebuilt authorizer lands: what AUTHORIZER_PREBUILT_DIR names from dist/lib/auth/. */
export const DIST_AUTHORIZER = path.join(DIST, 'assets', 'authorizer');

function main(): void {
  // A file deleted from lib/ must not live on in the tarball.
  fs.rmSync(DIST, { recursive: true, force: true });
  const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc');
  execFileSync(tsc, ['-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
  bundleAuthorizer();
  const files = listFiles(DIST);
  const bytes = files.reduce((sum, file) => sum + fs.statSync(file).size, 0);
  console.log(`dist/: ${files.length} files, ${(bytes / 1024).toFixed(0)} KiB`);
  fs.writeFileSync(API_DOCS, generateApiDocs());
}

/** The same build as the JwtAuthorizer's NodejsFunction makes from the source (lib/auth/authorizer-code.ts). */
function bundleAuthorizer(): void {
  const result = buildSync({
    entryPoints: [AUTHORIZER_SOURCE_ENTRY],
    outfile: path.join(DIST_AUTHORIZER, AUTHORIZER_BUNDLE_FILE),
    bundle: true,
    platform: 'node',
    format: AUTHORIZER_BUNDLING.format,
    target: AUTHORIZER_BUNDLING.target,
    mainFields: [...AUTHORIZER_BUNDLING.mainFields],
    minify: AUTHORIZER_BUNDLING.minify,
    sourcemap: AUTHORIZER_BUNDLING.sourceMap,
    sourcesContent: AUTHORIZER_BUNDLING.sourcesContent,
    external: [...AUTHORIZER_BUNDLING.externalModules],
    logLevel: 'warning',
    metafile: true,
  });
  const out = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith(AUTHORIZER_BUNDLE_FILE));
  console.log(`authorizer: ${path.relative(ROOT, path.join(DIST_AUTHORIZER, AUTHORIZER_BUNDLE_FILE))}, ${((out?.[1].bytes ?? 0) / 1024).toFixed(1)} KiB`);
}

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    return entry.isDirectory() ? listFiles(file) : [file];
  });
}

main();
