// Fails when any package has an import cycle between its own modules (`npm test` runs it with lint).
// Reads every .ts file under packages/*/src and conformance/src, follows relative imports (static,
// type-only and dynamic alike: a type cycle is still a cycle for a reader), and prints each cycle.
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function sourceFiles(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist') out.push(...sourceFiles(full));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      out.push(full);
    }
  }
  return out;
}

/** The file an import specifier names: './x.js' is ./x.ts in source. */
function resolve(from, spec) {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [base.replace(/\.js$/, '.ts'), `${base}.ts`, path.join(base, 'index.ts')]) {
    if (fs.existsSync(candidate)) return candidate;
  }
  return null;
}

const roots = [
  ...fs.readdirSync(path.join(root, 'packages')).map((p) => path.join(root, 'packages', p, 'src')),
  path.join(root, 'conformance', 'src'),
].filter((dir) => fs.existsSync(dir));

const graph = new Map();
for (const dir of roots) {
  for (const file of sourceFiles(dir)) {
    const text = fs.readFileSync(file, 'utf8');
    const deps = new Set();
    for (const m of text.matchAll(IMPORT)) {
      const target = resolve(file, m[1] ?? m[2]);
      if (target !== null) deps.add(target);
    }
    graph.set(file, [...deps]);
  }
}

// Depth-first search; a back edge to a file on the current path closes a cycle.
const cycles = [];
const state = new Map(); // file -> 'active' | 'done'
const stack = [];
function visit(file) {
  state.set(file, 'active');
  stack.push(file);
  for (const dep of graph.get(file) ?? []) {
    const s = state.get(dep);
    if (s === 'active') cycles.push([...stack.slice(stack.indexOf(dep)), dep]);
    else if (s === undefined) visit(dep);
  }
  stack.pop();
  state.set(file, 'done');
}
for (const file of graph.keys()) if (!state.has(file)) visit(file);

if (cycles.length > 0) {
  console.error(`import cycles (${cycles.length}):`);
  for (const c of cycles) console.error(`  ${c.map((f) => path.relative(root, f)).join(' -> ')}`);
  process.exit(1);
}
console.log(`no import cycles in ${graph.size} modules`);
