/**
 * Writes API.md (also the last step of scripts/build.ts), the reference of everything lib/index.ts exports, from the doc comments: each
 * construct with its constructor, public properties and methods, each props interface with every
 * prop's type and `@default`, then the other interfaces, functions, constants and types. It reads
 * the program through TypeScript 7's API (`typescript/unstable/sync`), the same compiler as the build.
 *
 *   npm run docs              writes API.md
 *   npm run docs -- --check   fails if API.md is not what the doc comments say now
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { API, SignatureKind, SymbolFlags } from 'typescript/unstable/sync';
import type { Checker, Project, Symbol as TsSymbol } from 'typescript/unstable/sync';

const ROOT = path.join(__dirname, '..');
/** The generated reference, shipped in the package next to the README. */
export const API_DOCS = path.join(ROOT, 'API.md');
const ENTRY = path.join(ROOT, 'lib', 'index.ts');

interface Member {
  readonly name: string;
  readonly type: string;
  readonly optional: boolean;
  readonly doc: string;
  readonly defaultValue?: string;
}

interface Entry {
  readonly name: string;
  readonly kind: 'construct' | 'class' | 'props' | 'interface' | 'function' | 'constant' | 'type';
  readonly doc: string;
  readonly signature?: string;
  readonly properties: readonly Member[];
  readonly methods: readonly Member[];
}

/** Doc text on one line per paragraph, with `{@link X}` as `X`. */
function clean(text: string): string {
  return text
    .replace(/\{@link\s+([^}\s|]+)(?:\s*\|\s*([^}]+))?\s*\}/g, (_match, target: string, label?: string) => `\`${label ?? target}\``)
    .replace(/\r/g, '')
    .trim();
}

function cell(text: string): string {
  return clean(text)
    .replace(/\n\s*\n/g, '<br><br>')
    .replace(/\n/g, ' ')
    .replace(/\|/g, '\\|');
}

function codeCell(text: string): string {
  return `<code>${text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '&#124;')}</code>`;
}

function tag(checker: Checker, symbol: TsSymbol, name: string): string | undefined {
  const found = symbol.getJsDocTags(checker).find((info) => info.name === name);
  return found === undefined ? undefined : clean((found.text ?? '').replace(/^-\s*/, ''));
}

/** Private and protected members stay out: they are no part of the API. */
function isPublic(project: Project, symbol: TsSymbol): boolean {
  const declaration = symbol.declarations[0]?.resolve(project);
  if (declaration === undefined) return true;
  const text = declaration.getSourceFile().text.slice(declaration.pos, declaration.end);
  return !/^\s*(?:\/\*\*[\s\S]*?\*\/\s*)?(?:private|protected)\b/.test(text) && !symbol.name.startsWith('#');
}

function membersOf(project: Project, symbol: TsSymbol): { properties: Member[]; methods: Member[] } {
  const checker = project.checker;
  const properties: Member[] = [];
  const methods: Member[] = [];
  for (const member of symbol.getMembers().values()) {
    if (member.name === '__constructor' || !isPublic(project, member)) continue;
    const type = checker.getTypeOfSymbol(member);
    const typeText = type === undefined ? 'unknown' : checker.typeToString(type);
    const defaultValue = tag(checker, member, 'default');
    const entry: Member = {
      name: member.name,
      type: typeText,
      optional: (member.flags & SymbolFlags.Optional) !== 0,
      doc: member.getDocumentationComment(checker),
      ...(defaultValue !== undefined && { defaultValue }),
    };
    if ((member.flags & SymbolFlags.Method) !== 0) methods.push(entry);
    else if ((member.flags & (SymbolFlags.Property | SymbolFlags.GetAccessor)) !== 0) properties.push(entry);
  }
  return { properties, methods };
}

function constructorSignature(project: Project, name: string, symbol: TsSymbol): string {
  const checker = project.checker;
  const type = checker.getTypeOfSymbol(symbol);
  const signature = type === undefined ? undefined : checker.getSignaturesOfType(type, SignatureKind.Construct)[0];
  if (signature === undefined) return `new ${name}()`;
  return `new ${name}(${signature
    .getParameters()
    .map((parameter) => parameterText(project, parameter))
    .join(', ')})`;
}

/** `name: Type`, or `name?: Type` for a parameter that is optional or has a default (`props = {}`). */
function parameterText(project: Project, parameter: TsSymbol): string {
  const declaration = parameter.declarations[0]?.resolve(project);
  const source = declaration === undefined ? '' : declaration.getSourceFile().text.slice(declaration.pos, declaration.end);
  const optional = (parameter.flags & SymbolFlags.Optional) !== 0 || /^[^:=]*\?\s*:|=(?!>)/.test(source);
  const type = project.checker.getTypeOfSymbol(parameter);
  const typeText = type === undefined ? 'unknown' : project.checker.typeToString(type);
  return `${parameter.name}${optional ? '?' : ''}: ${optional ? typeText.replace(/ \| undefined$/, '') : typeText}`;
}

function isConstruct(checker: Checker, symbol: TsSymbol): boolean {
  const type = checker.getDeclaredTypeOfSymbol(symbol);
  return checker.getPropertiesOfType(type).some((property) => property.name === 'node');
}

function collect(project: Project): Entry[] {
  const checker = project.checker;
  const source = project.program.getSourceFile(ENTRY);
  if (source === undefined) throw new Error(`${ENTRY} is not in the build's program (tsconfig.build.json)`);
  const module = checker.getSymbolAtLocation(source);
  if (module === undefined) throw new Error(`${ENTRY} has no module symbol`);
  const entries: Entry[] = [];
  for (const exported of checker.getExportsOfModule(module)) {
    const symbol = (exported.flags & SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(exported) : exported;
    const name = exported.name;
    // As in the declarations (stripInternal): for this repository's own runtime, no part of the package's API.
    if (symbol.getJsDocTags(checker).some((info) => info.name === 'internal')) continue;
    const doc = symbol.getDocumentationComment(checker);
    if ((symbol.flags & SymbolFlags.Class) !== 0) {
      const { properties, methods } = membersOf(project, symbol);
      const construct = isConstruct(checker, symbol);
      entries.push({
        name,
        kind: construct ? 'construct' : 'class',
        doc,
        signature: constructorSignature(project, name, symbol),
        // Construct's own `node` is on every construct; listing it on each says nothing.
        properties: properties.filter((property) => !(construct && property.name === 'node')),
        methods,
      });
    } else if ((symbol.flags & SymbolFlags.Interface) !== 0) {
      const { properties, methods } = membersOf(project, symbol);
      entries.push({ name, kind: name.endsWith('Props') ? 'props' : 'interface', doc, properties, methods });
    } else if ((symbol.flags & SymbolFlags.Function) !== 0) {
      const type = checker.getTypeOfSymbol(symbol);
      const signature = type === undefined ? undefined : checker.getSignaturesOfType(type, SignatureKind.Call)[0];
      const returns = signature === undefined ? undefined : checker.getReturnTypeOfSignature(signature);
      const parameters = (signature?.getParameters() ?? []).map((parameter) => parameterText(project, parameter));
      entries.push({
        name,
        kind: 'function',
        doc,
        signature: `${name}(${parameters.join(', ')}): ${returns === undefined ? 'unknown' : checker.typeToString(returns)}`,
        properties: [],
        methods: [],
      });
    } else if ((symbol.flags & SymbolFlags.Variable) !== 0) {
      const type = checker.getTypeOfSymbol(symbol);
      entries.push({
        name,
        kind: 'constant',
        doc,
        signature: `${name}: ${type === undefined ? 'unknown' : checker.typeToString(type)}`,
        properties: [],
        methods: [],
      });
    } else if ((symbol.flags & SymbolFlags.TypeAlias) !== 0) {
      const type = checker.getDeclaredTypeOfSymbol(symbol);
      entries.push({ name, kind: 'type', doc, signature: `type ${name} = ${checker.typeToString(type)}`, properties: [], methods: [] });
    }
  }
  return entries.sort((a, b) => a.name.localeCompare(b.name));
}

const SECTIONS: readonly { readonly kind: Entry['kind']; readonly title: string }[] = [
  { kind: 'construct', title: 'Constructs' },
  { kind: 'props', title: 'Props' },
  { kind: 'interface', title: 'Other interfaces' },
  { kind: 'class', title: 'Classes' },
  { kind: 'function', title: 'Functions' },
  { kind: 'constant', title: 'Constants' },
  { kind: 'type', title: 'Types' },
];

function render(entries: readonly Entry[]): string {
  const lines = [
    '# API reference',
    '',
    '<!-- Generated by scripts/api-docs.ts from the doc comments in lib/ (npm run docs); do not edit. -->',
    '',
    `Everything \`cdk-gatehouse\` exports (\`import { … } from 'cdk-gatehouse'\`), by kind and name.`,
    '',
  ];
  for (const section of SECTIONS) {
    const inSection = entries.filter((entry) => entry.kind === section.kind);
    if (inSection.length === 0) continue;
    lines.push(`## ${section.title}`, '');
    for (const entry of inSection) {
      lines.push(`### ${entry.name}`, '');
      if (entry.doc !== '') lines.push(clean(entry.doc), '');
      if (entry.signature !== undefined) lines.push('```ts', entry.signature, '```', '');
      if (entry.kind === 'props' || entry.kind === 'interface') {
        if (entry.properties.length > 0) {
          lines.push('| prop | type | default | description |', '|---|---|---|---|');
          for (const prop of entry.properties) {
            const defaultText = prop.optional ? (prop.defaultValue ?? 'none') : '*required*';
            lines.push(`| \`${prop.name}\` | ${codeCell(prop.type.replace(/ \| undefined$/, ''))} | ${cell(defaultText)} | ${cell(prop.doc)} |`);
          }
          lines.push('');
        }
      } else if (entry.properties.length > 0) {
        lines.push('| property | type | description |', '|---|---|---|');
        for (const prop of entry.properties) lines.push(`| \`${prop.name}\` | ${codeCell(prop.type)} | ${cell(prop.doc)} |`);
        lines.push('');
      }
      if (entry.methods.length > 0) {
        lines.push('| method | signature | description |', '|---|---|---|');
        for (const method of entry.methods) lines.push(`| \`${method.name}\` | ${codeCell(method.type)} | ${cell(method.doc)} |`);
        lines.push('');
      }
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/** The reference as the doc comments say it now. */
export function generateApiDocs(): string {
  const api = new API({ cwd: ROOT });
  try {
    const snapshot = api.updateSnapshot({ openProjects: [path.join(ROOT, 'tsconfig.build.json')] });
    const project = snapshot.getProjects()[0];
    if (project === undefined) throw new Error('tsconfig.build.json opened no project');
    return render(collect(project));
  } finally {
    api.close();
  }
}

if (require.main === module) {
  const markdown = generateApiDocs();
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(API_DOCS) ? fs.readFileSync(API_DOCS, 'utf8') : '';
    if (current !== markdown) {
      console.error('API.md is not what the doc comments in lib/ say now: run `npm run docs` and commit API.md');
      process.exit(1);
    }
    console.log('API.md is current');
  } else {
    fs.writeFileSync(API_DOCS, markdown);
    console.log(`API.md: ${markdown.split('\n').length} lines`);
  }
}
