/** Bundles reused while their inputs are unchanged, rebuilt when an input, the key or the output changes. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { cachedBundle, STAMP_FILE } from '../../local/bundle-cache';

let dir: string;
let builds: number;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bundle-cache-'));
  fs.writeFileSync(path.join(dir, 'entry.ts'), "import { greeting } from './dep';\nconsole.log(greeting);\n");
  fs.writeFileSync(path.join(dir, 'dep.ts'), "export const greeting = 'hello';\n");
  builds = 0;
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const bundle = (key = 'v1') => {
  const outdir = path.join(dir, 'out');
  const file = path.join(outdir, 'entry.js');
  return cachedBundle({
    outdir,
    file,
    key,
    build: async () => {
      builds += 1;
      const result = await build({
        entryPoints: [path.join(dir, 'entry.ts')],
        outfile: file,
        bundle: true,
        platform: 'node',
        metafile: true,
        logLevel: 'silent',
      });
      return Object.keys(result.metafile.inputs).map((input) => path.resolve(input));
    },
  });
};

it('builds once, then reuses the bundle while nothing it read has changed', async () => {
  expect(await bundle()).toMatchObject({ reused: false });
  // Touched but not changed: content decides, not mtimes.
  fs.utimesSync(path.join(dir, 'dep.ts'), new Date(), new Date(Date.now() + 60_000));
  expect(await bundle()).toMatchObject({ reused: true });
  expect(builds).toBe(1);
});

it('rebuilds when an imported file changes, and the new bundle has the change', async () => {
  await bundle();
  fs.writeFileSync(path.join(dir, 'dep.ts'), "export const greeting = 'bonjour';\n");
  const rebuilt = await bundle();
  expect(rebuilt.reused).toBe(false);
  expect(fs.readFileSync(rebuilt.file, 'utf8')).toContain('bonjour');
  expect(await bundle()).toMatchObject({ reused: true });
});

it('rebuilds when the key changes, or the bundle or its stamp is gone', async () => {
  await bundle('v1');
  expect(await bundle('v2')).toMatchObject({ reused: false });
  fs.rmSync(path.join(dir, 'out', 'entry.js'));
  expect(await bundle('v2')).toMatchObject({ reused: false });
  fs.writeFileSync(path.join(dir, 'out', STAMP_FILE), 'not json');
  expect(await bundle('v2')).toMatchObject({ reused: false });
  expect(builds).toBe(4);
});

it('leaves no stamp behind a build that failed, so the next start builds again', async () => {
  await bundle();
  fs.writeFileSync(path.join(dir, 'dep.ts'), 'export const greeting = ;\n');
  await expect(bundle()).rejects.toThrow();
  expect(fs.existsSync(path.join(dir, 'out', STAMP_FILE))).toBe(false);
});
