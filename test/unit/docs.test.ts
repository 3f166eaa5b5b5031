/**
 * The docs a newcomer walks: README.md stays short, every relative link in it
 * and in docs/ reaches a file and a heading that exist, and the README's code
 * map names every folder and top-level file of src/ (and nothing that is gone).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importGraph, unit } from '../import-graph.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCS = join(ROOT, 'docs');
const pages = [join(ROOT, 'README.md'), ...readdirSync(DOCS).filter((f) => f.endsWith('.md')).map((f) => join(DOCS, f))];

/** Markdown outside fenced code blocks. */
function prose(text: string): string {
  let fence = false;
  return text
    .split('\n')
    .filter((line) => {
      if (line.startsWith('```')) {
        fence = !fence;
        return false;
      }
      return !fence;
    })
    .join('\n');
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(text).matchAll(/^#{1,6} (.+)$/gm)) {
    const base = m[1]
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\- _]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

test('every relative link in README.md and docs/ reaches an existing file and heading', () => {
  const broken: string[] = [];
  for (const page of pages) {
    const text = readFileSync(page, 'utf8');
    for (const m of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1];
      if (/^[a-z]+:/i.test(target)) continue; // http:, https:, mailto:
      const [path, anchor] = target.split('#');
      const file = path === '' ? page : resolve(dirname(page), path);
      const where = `${relative(ROOT, page)} → ${target}`;
      if (!existsSync(file)) {
        broken.push(`${where}: no such file`);
        continue;
      }
      if (anchor !== undefined && file.endsWith('.md') && !anchorsOf(readFileSync(file, 'utf8')).has(anchor)) {
        broken.push(`${where}: no such heading`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

test('every docs/ page is linked from the README', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const unlinked = readdirSync(DOCS)
    .filter((f) => f.endsWith('.md'))
    .filter((f) => !readme.includes(`](docs/${f})`) && !readme.includes(`](docs/${f}#`));
  assert.deepEqual(unlinked, [], 'docs pages a newcomer cannot reach from the README');
});

test('the README fits on a few screens', () => {
  const bytes = readFileSync(join(ROOT, 'README.md')).length;
  assert.ok(bytes <= 16_000, `README.md is ${bytes} bytes: move detail to a docs/ page`);
});

test("the README's code map names every folder and top-level file of src/, and only those", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const map = readme.slice(readme.indexOf('## Code map'));
  assert.ok(map.length > 100, 'README.md has a "## Code map" section');
  const entries = readdirSync(join(ROOT, 'src'), { withFileTypes: true })
    .filter((e) => e.isDirectory() || (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')))
    .map((e) => (e.isDirectory() ? `src/${e.name}/` : `src/${e.name}`));
  const missing = entries.filter((e) => !map.includes(`\`${e}`));
  assert.deepEqual(missing, [], 'src/ entries without a row in the code map');
  const named = [...map.matchAll(/`(src\/[\w./-]+)`/g)].map((m) => m[1]);
  const gone = named.filter((p) => !existsSync(join(ROOT, p)));
  assert.deepEqual(gone, [], 'code map names paths that do not exist');
});

test("the code map's imports column is what each row's files really import", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const map = readme.slice(readme.indexOf('## Code map'));
  const graph = importGraph();
  const wrong: string[] = [];
  for (const line of map.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 5 || !cells[1].includes('`src/')) continue;
    const units = [...cells[1].matchAll(/`src\/([\w.-]+)\/?`/g)].map((m) => m[1]);
    const listed = cells[3] === 'nothing' ? [] : cells[3].replace(/\([^)]*\)/g, '').split(',').map((s) => s.trim());
    const real = new Set<string>();
    for (const [from, tos] of graph) {
      if (!units.includes(unit(from))) continue;
      for (const to of tos) if (!units.includes(unit(to))) real.add(unit(to).replace(/\.ts$/, ''));
    }
    const a = [...real].sort().join(', ');
    const b = [...listed].sort().join(', ');
    if (a !== b) wrong.push(`${cells[1]}: the map says "${b}", the code imports "${a}"`);
  }
  assert.deepEqual(wrong, []);
});
