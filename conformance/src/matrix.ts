// The README's conformance matrix: one row per cell of conformance/matrix.json, from the summary each
// cell's last full run left in reports/conformance/<id>.json.
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

/** What a cell's report says: OK, non-strict (passes, with NON-STRICT cases), failed, or not run. */
export function verdict(summary: Summary | undefined): string {
  if (summary === undefined) return 'not run';
  if (!summary.passed) return '**failed**';
  return summary.counts.behavior['NON-STRICT'] > 0 ? 'non-strict' : 'OK';
}

function casesText(patterns: readonly string[]): string {
  return patterns.length === 1 && patterns[0] === '*' ? 'all' : patterns.join(' ');
}

/** The Markdown table, with links relative to the repository root. */
export function renderMatrix(cells: readonly Cell[], summaries: ReadonlyMap<string, Summary>): string {
  const lines = [
    '| runtime | transport | mode | cases | result | OK | NON-STRICT | INFORMATIONAL | FAILED | wall time | report |',
    '| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const cell of cells) {
    const s = summaries.get(cell.id);
    const b = s?.counts.behavior;
    const failed = b === undefined ? '' : String(s!.total - b.OK - b['NON-STRICT'] - b.INFORMATIONAL);
    lines.push(
      `| ${cell.runtime} | ${cell.transport} | ${cell.mode} | ${casesText(s?.cases ?? cell.cases)} | ${verdict(s)} | ` +
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
