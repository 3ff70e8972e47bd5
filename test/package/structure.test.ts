import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { PARAMETERS } from '../../src/wasm/signatures.js';

// The structure docs/architecture.md describes, kept true: data flows one way through src/.
const src = fileURLToPath(new URL('../../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}
const files = sources(src);
const text = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));

/** Relative imports and re-exports of a file, type-only ones included, as absolute .ts paths. */
function imports(file: string): string[] {
  return [...text.get(file)!.matchAll(/(?:import|export)[^'";]*?from\s+['"](\.[^'"]+)['"]/g)].map((m) => resolve(dirname(file), m[1].replace(/\.js$/, '.ts')));
}

/** Strongly connected components of more than one file (Tarjan). */
function cycles(): string[][] {
  const index = new Map<string, number>(), low = new Map<string, number>(), onStack = new Set<string>(), stack: string[] = [];
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of imports(v).filter((d) => text.has(d))) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(relative(src, w));
    } while (w !== v);
    if (component.length > 1) found.push(component);
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found;
}

/** Every function of `file` longer than `max` lines, as "name:lines". */
function longFunctions(file: string, max: number): string[] {
  const sf = ts.createSourceFile(file, text.get(file)!, ts.ScriptTarget.Latest, true);
  const long: string[] = [];
  const walk = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const lines = sf.getLineAndCharacterOfPosition(node.getEnd()).line - sf.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      const name = node.name?.getText(sf) ?? `(anonymous at line ${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1})`;
      if (lines > max) long.push(`${relative(src, file)} ${name}: ${lines} lines`);
    }
    ts.forEachChild(node, walk);
  };
  walk(sf);
  return long;
}

describe('source structure', () => {
  it('has no import cycle among src/ files (type-only imports included)', () => {
    expect(cycles()).toEqual([]);
  });

  it('has no function in src/runtime longer than 80 lines', () => {
    expect(files.filter((f) => f.includes('/runtime/')).flatMap((f) => longFunctions(f, 80))).toEqual([]);
  });

  it('calls kernels by named arguments only (callKernel / bindKernel), never positionally', () => {
    const names = Object.keys(PARAMETERS).filter((k) => PARAMETERS[k as keyof typeof PARAMETERS] !== '');
    // `scan.crc32(...)` is a WeightScan's method, not the kernel's.
    const positional = new RegExp(`(?<!scan)\\.(${names.join('|')})\\(`);
    const offenders = files.filter((f) => !f.endsWith('wasm/signatures.ts') && positional.test(text.get(f)!)).map((f) => relative(src, f));
    expect(offenders).toEqual([]);
  });
});
