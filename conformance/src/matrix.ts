// conformance/matrix.json (the cells) and the README's matrix table. Pure functions; the driver does I/O.
import type { Summary } from '@rfc6455/testkit';

export interface Cell {
  id: string;
  runtime: string;
  transport: string;
  mode: 'server' | 'client';
  /** server: the --start command (listens on 127.0.0.1:$PORT); client: the command after --. */
  command: string;
  cases: string[];
  note?: string;
}

export const MATRIX_START = '<!-- conformance-matrix:start -->';
export const MATRIX_END = '<!-- conformance-matrix:end -->';

/** Parses and checks matrix.json; an error names the cell and the field. */
export function parseMatrix(text: string): Cell[] {
  const data = JSON.parse(text) as unknown;
  if (!Array.isArray(data)) throw new Error('matrix.json: expected an array of cells');
  const seen = new Set<string>();
  return data.map((raw: unknown, i) => {
    const where = `matrix.json cell ${i}`;
    if (typeof raw !== 'object' || raw === null) throw new Error(`${where}: not an object`);
    const cell = raw as Record<string, unknown>;
    for (const field of ['id', 'runtime', 'transport', 'command'] as const) {
      if (typeof cell[field] !== 'string' || cell[field] === '') {
        throw new Error(`${where}: "${field}" must be a non-empty string`);
      }
    }
    const id = cell.id as string;
    if (!/^[a-z0-9][a-z0-9.-]*$/.test(id)) throw new Error(`${where}: id "${id}" must be [a-z0-9.-]`);
    if (seen.has(id)) throw new Error(`${where}: id "${id}" appears twice`);
    seen.add(id);
    if (cell.mode !== 'server' && cell.mode !== 'client') {
      throw new Error(`${where} (${id}): "mode" must be "server" or "client"`);
    }
    const cases = cell.cases;
    if (!Array.isArray(cases) || cases.length === 0 || !cases.every((c) => typeof c === 'string')) {
      throw new Error(`${where} (${id}): "cases" must be a non-empty array of patterns, e.g. ["*"]`);
    }
    if (cell.note !== undefined && typeof cell.note !== 'string') {
      throw new Error(`${where} (${id}): "note" must be a string`);
    }
    return {
      id,
      runtime: cell.runtime as string,
      transport: cell.transport as string,
      mode: cell.mode,
      command: cell.command as string,
      cases: cases,
      ...(cell.note === undefined ? {} : { note: cell.note }),
    };
  });
}

function verdict(summary: Summary | undefined): string {
  if (summary === undefined) return 'not run yet';
  const b = summary.counts.behavior;
  const informational = summary.notOk.filter((c) => c.behavior === 'INFORMATIONAL').length;
  const parts = [`${b.OK} OK`];
  if (informational > 0) parts.push(`${informational} informational`);
  const other = summary.notOk.length - informational;
  if (other > 0) parts.push(`${other} not OK`);
  return `${summary.passed ? 'PASS' : 'FAIL'}: ${parts.join(', ')}`;
}

/** The README table: one row per cell, linking its committed summary. */
export function renderMatrix(cells: readonly Cell[], summaries: ReadonlyMap<string, Summary>): string {
  const rows = [
    '| Cell | Runtime | Transport | Mode | Cases | Result | Wall time |',
    '|---|---|---|---|---|---|---:|',
  ];
  for (const cell of cells) {
    const s = summaries.get(cell.id);
    const result = `[${verdict(s)}](reports/conformance/${cell.id}.md)`;
    const time = s === undefined ? '' : `${Math.round(s.wallSeconds / 60)} min`;
    const note = cell.note === undefined ? '' : ` (${cell.note})`;
    rows.push(
      `| ${cell.id} | ${cell.runtime} | ${cell.transport} | ${cell.mode} | ${cell.cases.join(', ')} | ${result}${note} | ${time} |`,
    );
  }
  return rows.join('\n');
}

/** Replaces what lies between the markers (which must both be there, in order) with `body`. */
export function replaceBetweenMarkers(text: string, body: string): string {
  const start = text.indexOf(MATRIX_START);
  const end = text.indexOf(MATRIX_END);
  if (start === -1 || end === -1 || end < start) {
    throw new Error(`README.md must hold ${MATRIX_START} and then ${MATRIX_END}`);
  }
  return text.slice(0, start + MATRIX_START.length) + '\n' + body + '\n' + text.slice(end);
}
