/**
 * Where the authorizer function's code comes from. In this repository it is bundled from its
 * TypeScript source at synth, as any NodejsFunction; an installed package ships no sources, but the
 * bundle that `npm run build` made from them (scripts/build.ts), so a consumer's synth needs neither
 * esbuild nor a path outside its own project (the asset staging rejects one: PathNotUnderRoot).
 * The esbuild options are declared here once, for both.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';

/** The handler's source: present in this repository, absent from the installed package. */
export const AUTHORIZER_SOURCE_ENTRY = path.join(__dirname, '..', '..', 'lambda', 'authorizer', 'index.ts');
/**
 * The prebuilt bundle's folder, relative to the compiled module: `dist/lib/auth/` → `dist/assets/authorizer/`.
 * From the sources (`lib/auth/`) it names `assets/authorizer/` at the repository's root, which never exists.
 */
export const AUTHORIZER_PREBUILT_DIR = path.join(__dirname, '..', '..', 'assets', 'authorizer');
/** The bundle's file name: `.mjs`, as NodejsFunction names an ESM bundle, so Lambda loads it as a module. */
export const AUTHORIZER_BUNDLE_FILE = 'index.mjs';
/** The exported function the bundle's handler is. */
export const AUTHORIZER_HANDLER_EXPORT = 'handler';

/**
 * The esbuild options of the bundle, as NodejsFunction's bundling props and as esbuild's own names
 * (scripts/build.ts), which must describe the same build: ESM for Node.js 24, the ESM build of jose
 * (`module` before `main`), minified, with a source map whose sources are left out.
 */
export const AUTHORIZER_BUNDLING = {
  format: 'esm',
  target: 'node24',
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  /** NodejsFunction's default for Node.js 18 and later: the runtime's own AWS SDK v3. */
  externalModules: ['@aws-sdk/*'],
} as const;

const OUTPUT_FORMATS = { esm: nodejs.OutputFormat.ESM, cjs: nodejs.OutputFormat.CJS } as const;

/**
 * The code props of the authorizer's NodejsFunction: its source and bundling options where the
 * source exists, or else the prebuilt bundle as an asset.
 * @throws Error if there is neither, naming both paths and the command that builds the bundle.
 */
export function authorizerCode(): Pick<nodejs.NodejsFunctionProps, 'entry' | 'handler' | 'bundling' | 'code'> {
  if (fs.existsSync(AUTHORIZER_SOURCE_ENTRY)) {
    return {
      entry: AUTHORIZER_SOURCE_ENTRY,
      handler: AUTHORIZER_HANDLER_EXPORT,
      bundling: {
        format: OUTPUT_FORMATS[AUTHORIZER_BUNDLING.format],
        target: AUTHORIZER_BUNDLING.target,
        mainFields: [...AUTHORIZER_BUNDLING.mainFields],
        minify: AUTHORIZER_BUNDLING.minify,
        sourceMap: AUTHORIZER_BUNDLING.sourceMap,
        sourcesContent: AUTHORIZER_BUNDLING.sourcesContent,
        externalModules: [...AUTHORIZER_BUNDLING.externalModules],
      },
    };
  }
  if (fs.existsSync(path.join(AUTHORIZER_PREBUILT_DIR, AUTHORIZER_BUNDLE_FILE))) {
    return {
      code: lambda.Code.fromAsset(AUTHORIZER_PREBUILT_DIR),
      handler: `${path.parse(AUTHORIZER_BUNDLE_FILE).name}.${AUTHORIZER_HANDLER_EXPORT}`,
    };
  }
  throw new Error(
    `the authorizer's code is missing: neither its source ${AUTHORIZER_SOURCE_ENTRY} nor its prebuilt bundle ` +
      `${path.join(AUTHORIZER_PREBUILT_DIR, AUTHORIZER_BUNDLE_FILE)} exists; a package built with \`npm run build\` has the bundle`,
  );
}
