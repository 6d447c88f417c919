// The README's conformance matrix: one row per cell of conformance/matrix.json, from the summary each
// cell's last full run left in reports/conformance/<id>.json.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { formatSeconds, type Mode, type Summary } from './results.js';

/** One run of the suite: a testee on a runtime, in one mode (conformance/matrix.json). */
export interface Cell {
  id: string;
  runtime: string;
  transport: string;
  mode: Mode;
  /** Server: run with PORT set, listens on 127.0.0.1:$PORT. Client: gets {url} and {agent}. */
  command: string;
  cases: string[];
  note?: string;
}

export const MATRIX_START = '<!-- conformance-matrix:start -->';
export const MATRIX_END = '<!-- conformance-matrix:end -->';

/** A cell's summary; null when its last run did not finish (the report says why). */
export type CellSummaries = ReadonlyMap<string, Summary | null>;

/** What a cell's report says: OK, non-strict (passes, with NON-STRICT cases), failed, or not run. */
export function verdict(summary: Summary | null | undefined): string {
  if (summary === undefined) return 'not run';
  if (summary === null) return '**failed** (did not finish)';
  if (!summary.passed) return '**failed**';
  return summary.counts.behavior['NON-STRICT'] > 0 ? 'non-strict' : 'OK';
}

function casesText(patterns: readonly string[]): string {
  return patterns.length === 1 && patterns[0] === '*' ? 'all' : patterns.join(' ');
}

/** The Markdown table, with links relative to the repository root. */
export function renderMatrix(cells: readonly Cell[], summaries: CellSummaries): string {
  const lines = [
    '| runtime | transport | mode | cases | result | OK | NON-STRICT | INFORMATIONAL | FAILED | wall time | report |',
    '| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const cell of cells) {
    const result = summaries.get(cell.id);
    const s = result ?? undefined;
    const b = s?.counts.behavior;
    const failed =
      s === undefined || b === undefined ? '' : String(s.total - b.OK - b['NON-STRICT'] - b.INFORMATIONAL);
    lines.push(
      `| ${cell.runtime} | ${cell.transport} | ${cell.mode} | ${casesText(s?.cases ?? cell.cases)} | ${verdict(result)} | ` +
        `${b?.OK ?? ''} | ${b?.['NON-STRICT'] ?? ''} | ${b?.INFORMATIONAL ?? ''} | ${failed} | ` +
        `${s === undefined ? '' : formatSeconds(s.wallSeconds)} | ` +
        `[${cell.id}](reports/conformance/${cell.id}.md) |`,
    );
  }
  return lines.join('\n');
}

/** Replaces what stands between the markers; throws when the markers are missing. */
export function replaceMatrix(readme: string, table: string): string {
  const start = readme.indexOf(MATRIX_START);
  const end = readme.indexOf(MATRIX_END);
  if (start < 0 || end < start) throw new Error(`the README has no ${MATRIX_START} … ${MATRIX_END} markers`);
  return `${readme.slice(0, start + MATRIX_START.length)}\n\n${table}\n\n${readme.slice(end)}`;
}

/** Each cell's summary in reports/conformance/<id>.json; a run that did not finish counts as failed. */
export function readSummaries(repoRoot: string, cells: readonly Cell[]): Map<string, Summary | null> {
  const summaries = new Map<string, Summary | null>();
  for (const cell of cells) {
    const path = join(repoRoot, 'reports', 'conformance', `${cell.id}.json`);
    if (!existsSync(path)) continue;
    const summary = JSON.parse(readFileSync(path, 'utf8')) as Partial<Summary> & { finished?: boolean };
    summaries.set(cell.id, summary.finished === false ? null : (summary as Summary));
  }
  return summaries;
}

/** Rewrites the README's conformance matrix from the committed summaries. */
export function updateReadme(repoRoot: string, cells: readonly Cell[]): void {
  const path = join(repoRoot, 'README.md');
  const table = renderMatrix(cells, readSummaries(repoRoot, cells));
  writeFileSync(path, replaceMatrix(readFileSync(path, 'utf8'), table));
}
