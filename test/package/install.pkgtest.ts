/**
 * The package as a user gets it (`npm run test:package`, a few minutes; not part of `npm test`):
 * `npm pack` (which builds dist/ first), the tarball's file list, then a new TypeScript app and a new
 * JavaScript app as `cdk init app` lays them out today, each with the tarball installed from the
 * local npm cache and a service of its own behind MicroservicesGateway with the prebuilt authorizer
 * (test/package/apps/, the README's example), synthesized with no AWS credentials and no Docker.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { App, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import { JwtAuthorizer } from '../../lib/auth/jwt-authorizer';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');
const APPS = path.join(__dirname, 'apps');
const PACKAGE_NAME = 'cdk-gatehouse';
const STACK = 'Billing';
const IMAGE = 'public.ecr.aws/example/billing:1.4.2';
/** Generous: npm and the CDK CLI on a loaded two-core machine. */
const STEP_TIMEOUT_MS = 300_000;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-package-'));

/**
 * What a user's shell has, minus anything that could reach AWS or Docker: no AWS variables or
 * profiles, no instance metadata, a Docker command that does not exist (CDK would fail if it
 * tried to build), and none of the npm_* settings `npm run` hands its scripts.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(AWS_|CDK_|npm_)/i.test(name)));
  return {
    ...env,
    AWS_CONFIG_FILE: path.join(work, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(work, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DOCKER: path.join(work, 'no-docker'),
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
}

async function sh(cwd: string, command: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await run(command, [...args], { cwd, env: cleanEnv(), maxBuffer: 64 * 1024 * 1024, timeout: STEP_TIMEOUT_MS });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${String(stdout ?? '').slice(-4000)}\n${String(stderr ?? '').slice(-4000)}`);
  }
}

const npmInstall = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

/** The packages an app's node_modules holds, by their path in the lock. */
function installedPackages(app: string): Set<string> {
  const lock = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', '.package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
  return new Set(Object.keys(lock.packages).filter((key) => key !== ''));
}

interface PackedFile {
  readonly path: string;
  readonly size: number;
}
interface Packed {
  readonly filename: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly files: readonly PackedFile[];
}

let packed: Packed;
let tarball: string;
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  dependencies?: Record<string, string>;
  peerDependencies: Record<string, string>;
};

beforeAll(async () => {
  // As `npm publish` would: prepack builds dist/ first. Its log comes before the JSON on stdout.
  const stdout = await sh(ROOT, 'npm', ['pack', '--json', '--pack-destination', work]);
  const json = stdout.slice(Math.max(0, stdout.lastIndexOf('\n[') + 1));
  [packed] = JSON.parse(json) as [Packed];
  tarball = path.join(work, packed.filename);
}, STEP_TIMEOUT_MS);

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

describe('the tarball', () => {
  it('holds the compiled library, its declarations, the prebuilt authorizer and the docs, and nothing else', () => {
    const files = packed.files.map((file) => file.path);
    const allowed = [
      /^package\.json$/,
      /^README\.md$/,
      /^LICENSE$/,
      /^API\.md$/,
      /^dist\/lib\/.+\.(js|d\.ts)$/,
      /^dist\/lambda\/authorizer\/[a-z-]+\.(js|d\.ts)$/,
      /^dist\/assets\/authorizer\/index\.mjs(\.map)?$/,
    ];
    expect(files.filter((file) => !allowed.some((pattern) => pattern.test(file)))).toEqual([]);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'API.md',
        'dist/lib/index.js',
        'dist/lib/index.d.ts',
        'dist/lib/auth/jwt-authorizer.js',
        'dist/lib/service/microservice.d.ts',
        'dist/assets/authorizer/index.mjs',
      ]),
    );
    // What the repository is made of besides the library never ships.
    expect(files.filter((file) => /(^|\/)(test|bench|local|services|\.ci|scripts|node_modules)\/|jest|tsconfig|\.ts$(?<!\.d\.ts)/.test(file))).toEqual([]);
    console.log(
      `${packed.filename}: ${files.length} files, ${(packed.size / 1024).toFixed(0)} KiB packed, ${(packed.unpackedSize / 1024).toFixed(0)} KiB unpacked`,
    );
  });

  it('carries a README whose own-stack example is the one the apps below synthesize, word for word', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    for (const file of ['billing-stack.ts.tmpl', 'billing.ts.tmpl']) expect(readme).toContain(fs.readFileSync(path.join(APPS, file), 'utf8').trimEnd());
  });

  it(
    'carries an API.md, written by the build from the doc comments, with a section for every export',
    async () => {
      // The packed API.md is the one the build just wrote; the check also fails if the repository's copy was edited by hand.
      await sh(ROOT, process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'api-docs.ts'), '--check']);
      const headings = new Set([...fs.readFileSync(path.join(ROOT, 'API.md'), 'utf8').matchAll(/^### (\S+)$/gm)].map((match) => match[1]));
      // Every value the package exports and declares (an @internal one is in neither the declarations nor API.md).
      const declarations = packed.files
        .filter((file) => file.path.endsWith('.d.ts'))
        .map((file) => fs.readFileSync(path.join(ROOT, file.path), 'utf8'))
        .join('\n');
      const exported = Object.keys(require(path.join(ROOT, 'dist', 'lib', 'index.js')) as Record<string, unknown>).filter((name) =>
        new RegExp(`export declare (const|function|class|enum) ${name}\\b`).test(declarations),
      );
      expect(exported.length).toBeGreaterThan(10);
      expect(exported.filter((name) => !headings.has(name))).toEqual([]);
      for (const name of ['JwtAuthorizerProps', 'MicroserviceProps', 'MicroservicesGatewayProps', 'RouteSpec']) expect(headings).toContain(name);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "carries the authorizer bundle byte for byte as this repository's synth bundles it from the source",
    () => {
      const outdir = path.join(work, 'authorizer-from-source');
      const app = new App({ outdir });
      const stack = new Stack(app, 'Source');
      const authorizer = new JwtAuthorizer(stack, 'Jwt', {
        issuers: [{ issuer: 'https://login.example.com', audience: 'api' }],
        routes: [{ method: 'GET', path: '/a', service: 'a', scopes: ['a:read'] }],
      });
      new apigateway.RestApi(stack, 'Api').root.addResource('a').addMethod('GET', undefined, { authorizer: authorizer.authorizer });
      app.synth();
      const [fromSource] = fs
        .readdirSync(outdir)
        .map((name) => path.join(outdir, name, 'index.mjs'))
        .filter((file) => fs.existsSync(file));
      expect(fromSource).toBeDefined();
      expect(fs.readFileSync(fromSource ?? '').equals(fs.readFileSync(path.join(ROOT, 'dist', 'assets', 'authorizer', 'index.mjs')))).toBe(true);
    },
    STEP_TIMEOUT_MS,
  );

  it('fails at synth with both paths and the build command when a build left out the authorizer bundle', () => {
    // The compiled module alone, in a layout with neither the source nor dist/assets/ around it.
    // Under the repository, so that aws-cdk-lib resolves from its node_modules; outside dist/lib, so it is never packed.
    const layout = fs.mkdtempSync(path.join(ROOT, 'dist', 'no-bundle-'));
    const auth = path.join(layout, 'lib', 'auth');
    try {
      fs.mkdirSync(auth, { recursive: true });
      fs.copyFileSync(path.join(ROOT, 'dist', 'lib', 'auth', 'authorizer-code.js'), path.join(auth, 'authorizer-code.js'));
      const { authorizerCode } = require(path.join(auth, 'authorizer-code.js')) as { authorizerCode: () => unknown };
      expect(() => authorizerCode()).toThrow(
        /the authorizer's code is missing: neither its source .*lambda\/authorizer\/index\.ts nor its prebuilt bundle .*assets\/authorizer\/index\.mjs exists; .*npm run build/,
      );
    } finally {
      fs.rmSync(layout, { recursive: true, force: true });
    }
  });

  it('depends on nothing that only runs inside Lambda or a container; aws-cdk-lib and constructs are peers, esbuild an optional one', () => {
    // Bundled into the assets, never loaded at synth.
    const runtimeOnly = /^(@aws-sdk\/|@smithy\/|fastify|ajv|jose|esbuild|dynalite)/;
    expect(Object.keys(manifest.dependencies ?? {}).filter((name) => runtimeOnly.test(name))).toEqual([]);
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs', 'esbuild']);
  });

  it('is as large as the README says, give or take a third', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const stated = /(\d+) KB packed/.exec(readme);
    expect(stated).not.toBeNull();
    const statedBytes = Number(stated?.[1]) * 1000;
    expect(packed.size).toBeGreaterThan(statedBytes / 1.33);
    expect(packed.size).toBeLessThan(statedBytes * 1.33);
  });
});

describe.each([
  { language: 'typescript', stackFile: 'lib/billing-stack.ts', stackTemplate: 'billing-stack.ts.tmpl', binTemplate: 'billing.ts.tmpl', binExtension: 'ts' },
  { language: 'javascript', stackFile: 'lib/billing-stack.js', stackTemplate: 'billing-stack.js.tmpl', binTemplate: 'billing.js.tmpl', binExtension: 'js' },
])('a new $language CDK app', ({ language, stackFile, stackTemplate, binTemplate, binExtension }) => {
  const app = path.join(work, `billing-${language}`);
  let before: Set<string>;
  let after: Set<string>;

  beforeAll(async () => {
    fs.mkdirSync(app);
    // The CLI this repository pins; --generate-only writes the files and installs nothing, offline.
    await sh(app, path.join(ROOT, 'node_modules', '.bin', 'cdk'), ['init', 'app', '--language', language, '--generate-only']);
    await sh(app, 'npm', npmInstall);
    before = installedPackages(app);
    await sh(app, 'npm', [...npmInstall, tarball]);
    after = installedPackages(app);
    fs.copyFileSync(path.join(APPS, stackTemplate), path.join(app, stackFile));
    // The app's entry point, the one cdk.json runs, now builds the billing stack.
    fs.copyFileSync(path.join(APPS, binTemplate), path.join(app, 'bin', `billing-${language}.${binExtension}`));
  }, 2 * STEP_TIMEOUT_MS);

  it('installs the package and its declared dependencies, nothing they pull in, as many as the README says', () => {
    const added = [...after].filter((name) => !before.has(name)).sort();
    expect(added).toEqual([PACKAGE_NAME, ...Object.keys(manifest.dependencies ?? {})].map((name) => `node_modules/${name}`).sort());
    const stated = /adds (\d+) packages to a new app/.exec(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
    expect(Number(stated?.[1])).toBe(added.length);
    console.log(`${language} app: the install added ${added.length} packages to the app's ${before.size}: ${added.join(', ')}`);
    // The optional peer stays out: nothing in this app bundles a service from source.
    if (language === 'javascript') expect(fs.existsSync(path.join(app, 'node_modules', 'esbuild'))).toBe(false);
  });

  if (language === 'typescript') {
    it(
      'type-checks with strict and noUncheckedIndexedAccess on, and with our declarations checked too (skipLibCheck off)',
      async () => {
        const tsconfigPath = path.join(app, 'tsconfig.json');
        const tsconfig = JSON.parse(fs.readFileSync(tsconfigPath, 'utf8')) as { compilerOptions: Record<string, unknown> };
        expect(tsconfig.compilerOptions.strict).toBe(true);
        tsconfig.compilerOptions.noUncheckedIndexedAccess = true;
        fs.writeFileSync(tsconfigPath, JSON.stringify(tsconfig, null, 2));
        await sh(app, 'npx', ['tsc', '--noEmit']);
        // cdk init skips checking libraries' declarations; an app that does not must still compile against ours.
        await sh(app, 'npx', ['tsc', '--noEmit', '--skipLibCheck', 'false']);
      },
      STEP_TIMEOUT_MS,
    );
  }

  it(
    'synthesizes with no AWS credentials and no Docker: the team image, the prebuilt authorizer, the routes behind it',
    async () => {
      await sh(app, 'npx', ['cdk', 'synth', '--quiet', '--no-notices']);
      const out = path.join(app, 'cdk.out');
      const template = JSON.parse(fs.readFileSync(path.join(out, `${STACK}.template.json`), 'utf8')) as {
        Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
      };
      const resources = Object.values(template.Resources);
      const ofType = (type: string) => resources.filter((resource) => resource.Type === type);

      const [taskDefinition] = ofType('AWS::ECS::TaskDefinition');
      expect(taskDefinition?.Properties).toMatchObject({ ContainerDefinitions: [expect.objectContaining({ Name: 'billing', Image: IMAGE })] });

      const authorizerFunctions = ofType('AWS::Lambda::Function').filter((fn) => JSON.stringify(fn.Properties).includes('GATEHOUSE_AUTHORIZER_CONFIG'));
      expect(authorizerFunctions).toHaveLength(1);
      expect(authorizerFunctions[0]?.Properties).toMatchObject({ Handler: 'index.handler', Runtime: 'nodejs24.x', Architectures: ['arm64'] });

      const methods = ofType('AWS::ApiGateway::Method').filter((method) => method.Properties.HttpMethod !== 'OPTIONS');
      expect(methods.map((method) => method.Properties.HttpMethod).sort()).toEqual(['GET', 'POST']);
      for (const method of methods) expect(method.Properties).toMatchObject({ AuthorizationType: 'CUSTOM' });

      // The function's code is the package's prebuilt bundle, staged as a file asset; no image is built.
      const assets = JSON.parse(fs.readFileSync(path.join(out, `${STACK}.assets.json`), 'utf8')) as {
        files: Record<string, { source: { path: string; packaging?: string } }>;
        dockerImages?: Record<string, unknown>;
      };
      expect(assets.dockerImages ?? {}).toEqual({});
      const prebuilt = fs.readFileSync(path.join(app, 'node_modules', PACKAGE_NAME, 'dist', 'assets', 'authorizer', 'index.mjs'));
      const staged = Object.values(assets.files)
        .map((file) => path.join(out, file.source.path, 'index.mjs'))
        .filter((file) => fs.existsSync(file));
      expect(staged).toHaveLength(1);
      expect(fs.readFileSync(staged[0] ?? '').equals(prebuilt)).toBe(true);
    },
    STEP_TIMEOUT_MS,
  );
});
