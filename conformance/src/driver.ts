// `npm run conformance`: runs every cell of conformance/matrix.json through @rfc6455/testkit, two at a
// time, with each cell's reports under a directory outside the tracked tree. Only `--update` touches the
// checkout: it copies the summaries to reports/conformance/<id>.md/.json and rewrites the README's matrix.
// Arguments: --cell id[,id] (only those cells), --update, --cases 1.*,2.* (development: overrides every
// cell's cases; not with --update), --update --from-out (no run: the summaries a finished run left in the
// reports directory). Environment: CONFORMANCE=required (fail without a backend; CI=true
// does the same), CONFORMANCE=skip, CONFORMANCE_BACKEND=docker|pip, CONFORMANCE_TIMEOUT_MINUTES (per
// cell, default 60), CONFORMANCE_OUT (where the reports go; default $TMPDIR/rfc6455-conformance).
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import type { Summary } from '@rfc6455/testkit';

import { parseMatrix, renderMatrix, replaceBetweenMarkers, type Cell } from './matrix.js';

const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const testkit = join(repoRoot, 'packages', 'testkit', 'dist', 'main.js');
const outRoot = resolve(process.env.CONFORMANCE_OUT ?? join(tmpdir(), 'rfc6455-conformance'));

const { values: options } = parseArgs({
  options: {
    cell: { type: 'string' },
    update: { type: 'boolean', default: false },
    cases: { type: 'string' },
    'from-out': { type: 'boolean', default: false },
  },
});

function log(line: string): void {
  process.stdout.write(`[conformance] ${line}\n`);
}

function skipOrFail(reason: string): number {
  const required = process.env.CI === 'true' || process.env.CONFORMANCE === 'required';
  if (required) {
    log(`ERROR: Autobahn|Testsuite cannot run, and the run is required (CI=true or CONFORMANCE=required):`);
    log(reason);
    return 1;
  }
  const bar = '!'.repeat(100);
  process.stdout.write(
    `\n${bar}\n!!! CONFORMANCE SKIPPED: Autobahn|Testsuite did NOT run; nothing about conformance was checked.\n`,
  );
  for (const line of reason.split('\n')) process.stdout.write(`!!! ${line}\n`);
  process.stdout.write(
    `!!! CONFORMANCE=required turns this skip into a failure (CI sets CI=true).\n${bar}\n\n`,
  );
  return 0;
}

/** PATH with the pinned runtimes (bun, deno, workerd) in front when a selected cell needs one. */
function pathFor(cells: readonly Cell[]): string {
  const path = process.env.PATH ?? '';
  const script = join(repoRoot, 'scripts', 'runtimes.sh');
  if (cells.every((c) => c.runtime === 'node') || !existsSync(script)) return path;
  const result = spawnSync('bash', [script], {
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (result.status !== 0) throw new Error(`bash scripts/runtimes.sh failed (exit ${result.status})`);
  const lines = result.stdout.trim().split('\n');
  return `${lines[lines.length - 1]}${delimiter}${path}`;
}

function testkitArgs(cell: Cell, out: string): string[] {
  const cases = options.cases ?? cell.cases.join(',');
  const expected = join(repoRoot, 'conformance', 'expected', `${cell.id}.json`);
  const common = ['--cases', cases, '--out', out, '--agent', cell.id];
  if (existsSync(expected)) common.push('--expected', expected);
  if (process.env.CONFORMANCE_BACKEND) common.push('--backend', process.env.CONFORMANCE_BACKEND);
  common.push('--timeout', process.env.CONFORMANCE_TIMEOUT_MINUTES ?? '60');
  return cell.mode === 'server'
    ? ['server', 'ws://127.0.0.1:0', '--start', cell.command, ...common]
    : ['client', ...common, '--', cell.command];
}

interface CellRun {
  cell: Cell;
  code: number;
  summary: Summary | undefined;
}

/** One cell; its output goes to the log line by line with the cell's id in front. */
function runCell(cell: Cell, path: string): Promise<CellRun> {
  const out = join(outRoot, cell.id);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const child = spawn(process.execPath, [testkit, ...testkitArgs(cell, out)], {
    cwd: repoRoot,
    env: { ...process.env, PATH: path },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) process.stdout.write(`[${cell.id}] ${line}\n`);
    });
  }
  return new Promise((done) => {
    child.on('close', (code, signal) => {
      const file = join(out, 'summary.json');
      const summary = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Summary) : undefined;
      done({ cell, code: code ?? (signal ? 128 : 1), summary });
    });
  });
}

/** Runs `tasks` with at most `width` at once, in order of start. */
async function pool<T, R>(items: readonly T[], width: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}

function readSummary(cell: Cell): Summary | undefined {
  const file = join(outRoot, cell.id, 'summary.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Summary) : undefined;
}

function update(runs: readonly CellRun[], cells: readonly Cell[]): void {
  const reports = join(repoRoot, 'reports', 'conformance');
  mkdirSync(reports, { recursive: true });
  for (const { cell, summary } of runs) {
    if (summary === undefined) {
      log(`--update: ${cell.id} left no summary; its committed report is left as it was`);
      continue;
    }
    for (const ext of ['md', 'json'] as const) {
      copyFileSync(join(outRoot, cell.id, `summary.${ext}`), join(reports, `${cell.id}.${ext}`));
    }
  }
  const summaries = new Map<string, Summary>();
  for (const cell of cells) {
    const file = join(reports, `${cell.id}.json`);
    if (existsSync(file)) summaries.set(cell.id, JSON.parse(readFileSync(file, 'utf8')) as Summary);
  }
  const readme = join(repoRoot, 'README.md');
  writeFileSync(readme, replaceBetweenMarkers(readFileSync(readme, 'utf8'), renderMatrix(cells, summaries)));
  log('--update: wrote reports/conformance/ and the README matrix');
}

async function main(): Promise<number> {
  if (options.update && options.cases !== undefined) {
    throw new Error('--update refreshes the committed reports from full cells; it does not take --cases');
  }
  const all = parseMatrix(readFileSync(join(repoRoot, 'conformance', 'matrix.json'), 'utf8'));
  const wanted = options.cell?.split(',').map((id) => id.trim());
  const unknown = wanted?.filter((id) => !all.some((c) => c.id === id)) ?? [];
  if (unknown.length > 0) throw new Error(`no cell named ${unknown.join(', ')} in conformance/matrix.json`);
  const cells = wanted === undefined ? all : all.filter((c) => wanted.includes(c.id));
  if (options['from-out']) {
    // `--update --from-out`: a run already finished (npm test's, say) left its summaries in outRoot.
    if (!options.update) throw new Error('--from-out only goes with --update');
    update(
      cells.map((cell) => ({ cell, code: 0, summary: readSummary(cell) })),
      all,
    );
    return 0;
  }
  if (process.env.CONFORMANCE === 'skip') return skipOrFail('CONFORMANCE=skip was set');
  // Install (or pull) the suite once, before two cells would both try.
  const backend = process.env.CONFORMANCE_BACKEND ? ['--backend', process.env.CONFORMANCE_BACKEND] : [];
  const install = spawnSync(process.execPath, [testkit, 'install', ...backend], {
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  if (install.status === 2) return skipOrFail(install.stderr.trim());
  if (install.status !== 0) throw new Error(`rfc6455-testkit install failed:\n${install.stderr}`);
  const path = pathFor(cells);
  log(`${cells.length} cell(s), two at a time; reports under ${outRoot}`);
  const runs = await pool(cells, 2, (cell) => runCell(cell, path));
  for (const { cell, code, summary } of runs) {
    const b = summary?.counts.behavior;
    const counts =
      b === undefined ? 'no summary' : `${summary!.total} cases, ${b.OK} OK, ${summary!.notOk.length} not OK`;
    log(
      `${cell.id}: ${code === 0 ? 'PASS' : `FAIL (exit ${code})`}, ${counts} (${join(outRoot, cell.id, 'summary.md')})`,
    );
  }
  if (options.update) update(runs, all);
  const failed = runs.filter((r) => r.code !== 0);
  log(
    failed.length === 0
      ? 'conformance passed'
      : `conformance FAILED: ${failed.map((r) => r.cell.id).join(', ')}`,
  );
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`ERROR: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
