/**
 * The arrows between the folders run one way: lib/ (the constructs and the pure contracts they share
 * with the runtime) imports nothing from the runtime (lambda/, local/, services/) or bench/, and the
 * runtime never imports aws-cdk-lib or constructs, neither directly nor through what it imports from lib/.
 */
import type { ImportRef } from './imports';
import { importsOf, importsOfFile, isPackage, resolveRelative, topFolderOf, tsFilesUnder } from './imports';

const RUNTIME = ['lambda', 'local', 'services'] as const;
const CDK_PACKAGES = ['aws-cdk-lib', 'constructs'] as const;

const isRelative = (ref: ImportRef): boolean => ref.specifier.startsWith('.');
const isCdk = (ref: ImportRef): boolean => CDK_PACKAGES.some((pkg) => isPackage(ref.specifier, pkg));

/** Each file under `dirs` with its imports, relative ones resolved to the file they name. */
function graphOf(dirs: readonly string[]): Map<string, { ref: ImportRef; target?: string }[]> {
  const graph = new Map<string, { ref: ImportRef; target?: string }[]>();
  for (const file of dirs.flatMap(tsFilesUnder)) {
    graph.set(
      file,
      importsOfFile(file).map((ref) => (isRelative(ref) ? { ref, target: resolveRelative(file, ref.specifier) } : { ref })),
    );
  }
  return graph;
}

describe('the import reader', () => {
  it('reads every form of import the tree uses, knows type-only ones, and skips comments', () => {
    const source = [
      "import * as fs from 'node:fs';",
      "import type { A } from '../a';",
      'import {',
      '  b,',
      '  c,',
      "} from '../../b';",
      "import './side-effect';",
      "export * from '../../lib/x';",
      "export type { D } from './d';",
      "export { e } from './e';",
      "const f = await import('./f');",
      "const g = require('g-package');",
      "// import { nope } from '../../lambda/commented';",
      "/** See import { no } from 'aws-cdk-lib'; */",
      "export const text = 'from here';",
    ].join('\n');
    expect(importsOf(source)).toEqual([
      { specifier: 'node:fs', typeOnly: false },
      { specifier: '../a', typeOnly: true },
      { specifier: '../../b', typeOnly: false },
      { specifier: './side-effect', typeOnly: false },
      { specifier: '../../lib/x', typeOnly: false },
      { specifier: './d', typeOnly: true },
      { specifier: './e', typeOnly: false },
      { specifier: './f', typeOnly: false },
      { specifier: 'g-package', typeOnly: false },
    ]);
  });
});

describe('the import graph', () => {
  const graph = graphOf(['lib', ...RUNTIME, 'bench']);

  it('is read from the real tree: every relative import resolves, and the known arrows are seen', () => {
    const unresolved = [...graph].flatMap(([file, refs]) =>
      refs.filter((edge) => isRelative(edge.ref) && edge.target === undefined).map((edge) => `${file} -> ${edge.ref.specifier}`),
    );
    expect(unresolved).toEqual([]);
    // So that the checks below cannot pass on an empty or misread graph.
    expect(graph.get('lambda/authorizer/config.ts')?.map((edge) => edge.target)).toContain('lib/auth/authorizer-contract.ts');
    expect(graph.get('lib/gateway/microservices-gateway.ts')?.some((edge) => isCdk(edge.ref))).toBe(true);
    expect([...graph.keys()].filter((file) => topFolderOf(file) === 'services').length).toBeGreaterThan(5);
  });

  it('has no file in lib/ that imports from lambda/, local/, services/ or bench/ (type-only imports included)', () => {
    const backwards = [...graph]
      .filter(([file]) => topFolderOf(file) === 'lib')
      .flatMap(([file, refs]) =>
        refs
          .filter((edge) => edge.target !== undefined && ['lambda', 'local', 'services', 'bench'].includes(topFolderOf(edge.target)))
          .map((edge) => `${file} -> ${edge.target}`),
      );
    expect(backwards).toEqual([]);
  });

  it('has no file in lambda/, local/ or services/ that imports aws-cdk-lib or constructs', () => {
    const direct = [...graph]
      .filter(([file]) => (RUNTIME as readonly string[]).includes(topFolderOf(file)))
      .flatMap(([file, refs]) => refs.filter((edge) => isCdk(edge.ref)).map((edge) => `${file} -> ${edge.ref.specifier}`));
    expect(direct).toEqual([]);
  });

  it('has no file in lambda/, local/ or services/ that loads aws-cdk-lib or constructs through what it imports', () => {
    // Follows the imports that load something at run time (not `import type`) into lib/ and beyond.
    const all = graphOf(['lib', ...RUNTIME, 'bench', 'test']);
    // A depth-first walk from each runtime file; no memo, since a file cut short by a cycle is not clean.
    const chainFrom = (file: string, seen: Set<string>): string[] | undefined => {
      if (seen.has(file)) return undefined;
      seen.add(file);
      for (const edge of all.get(file) ?? []) {
        if (edge.ref.typeOnly) continue;
        if (isCdk(edge.ref)) return [file, edge.ref.specifier];
        const rest = edge.target === undefined ? undefined : chainFrom(edge.target, seen);
        if (rest !== undefined) return [file, ...rest];
      }
      return undefined;
    };
    const chains = [...all.keys()]
      .filter((file) => (RUNTIME as readonly string[]).includes(topFolderOf(file)))
      .flatMap((file) => {
        const chain = chainFrom(file, new Set());
        return chain === undefined ? [] : [chain.join(' -> ')];
      });
    expect(chains).toEqual([]);
  });
});
