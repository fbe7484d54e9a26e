/**
 * The import graph of the repository's TypeScript, read from the sources: each file's import, export
 * and require specifiers, resolved to repository paths when relative. A regex reader, not a compiler:
 * TypeScript 7 has no JavaScript API, and the tree's imports are plain `import ... from '...'`,
 * `export ... from '...'`, `import('...')` and `require('...')`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository's root. */
export const ROOT = path.resolve(__dirname, '..', '..');

/** One import of a file. */
export interface ImportRef {
  /** As written: `../../lambda/authorizer/config`, `aws-cdk-lib/aws-iam`. */
  readonly specifier: string;
  /** `import type` / `export type`: erased at compile time, so nothing is loaded at run time. */
  readonly typeOnly: boolean;
}

/** `import x from 'm'`, `import { a,\n b } from 'm'`, `import 'm'`, `export * from 'm'`, `import type ...`. */
const STATIC = /^[ \t]*(import|export)\s+(type\s+)?(?:[^'";]*?\bfrom\s*)?['"]([^'"\n]+)['"]/gm;
/** `import('m')`, `require('m')`. */
const DYNAMIC = /\b(?:import|require)\s*\(\s*['"]([^'"\n]+)['"]\s*\)/g;

/** Removes block comments and whole-line comments, so that a module named in prose is not an import. */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^[ \t]*\/\/.*$/gm, '');
}

/** The imports of a TypeScript source text. */
export function importsOf(source: string): ImportRef[] {
  const text = withoutComments(source);
  const refs: ImportRef[] = [];
  for (const match of text.matchAll(STATIC)) refs.push({ specifier: match[3], typeOnly: match[2] !== undefined });
  for (const match of text.matchAll(DYNAMIC)) refs.push({ specifier: match[1], typeOnly: false });
  return refs;
}

/** Every `.ts` file under `dir` (relative to the root), as root-relative paths with `/`. */
export function tsFilesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (relative: string): void => {
    const absolute = path.join(ROOT, relative);
    if (!fs.existsSync(absolute)) return;
    for (const entry of fs.readdirSync(absolute, { withFileTypes: true })) {
      const child = `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(child);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(child);
    }
  };
  walk(dir);
  return out.sort();
}

/** The root-relative file a relative specifier of `from` names (`x.ts` or `x/index.ts`); undefined when none exists. */
export function resolveRelative(from: string, specifier: string): string | undefined {
  const base = path.join(path.dirname(path.join(ROOT, from)), specifier);
  for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return path.relative(ROOT, candidate).split(path.sep).join('/');
  }
  return undefined;
}

/** The top-level folder of a root-relative path: `lib` for `lib/auth/x.ts`. */
export function topFolderOf(relative: string): string {
  return relative.split('/')[0];
}

/** Whether a bare specifier is `pkg` or one of its subpaths. */
export function isPackage(specifier: string, pkg: string): boolean {
  return specifier === pkg || specifier.startsWith(`${pkg}/`);
}

/** The imports of a root-relative file. */
export function importsOfFile(relative: string): ImportRef[] {
  return importsOf(fs.readFileSync(path.join(ROOT, relative), 'utf8'));
}
