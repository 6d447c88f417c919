// What a run of Autobahn|Testsuite says, and whether that is good enough.
// Pure functions only: reading files and starting processes live in suite.ts and run.ts.
// The Summary is the JSON report (summary.json): its shape is versioned by SUMMARY_SCHEMA and documented
// in the README; a field is only ever added, never renamed or given another meaning, within a schema.

/**
 * The verdicts the suite gives a case (autobahntestsuite/case/case.py). The last four only appear in
 * behaviorClose, which judges the closing handshake.
 */
export const OUTCOMES = [
  'OK',
  'NON-STRICT',
  'INFORMATIONAL',
  'UNIMPLEMENTED',
  'FAILED',
  'WRONG CODE',
  'UNCLEAN',
  'FAILED BY CLIENT',
  'NO_CLOSE',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * Cases whose code sets INFORMATIONAL unconditionally (case7_1_6.py, case7_13_1.py, case7_13_2.py in
 * autobahntestsuite 0.8.2): the suite itself declares that their outcome is not a pass/fail matter.
 * INFORMATIONAL anywhere else is a failure.
 */
export const SUITE_INFORMATIONAL: ReadonlySet<string> = new Set(['7.1.6', '7.13.1', '7.13.2']);

/** `server`: wstest -m fuzzingclient tests our server. `client`: wstest -m fuzzingserver tests our client. */
export type Mode = 'server' | 'client';

export interface CaseResult {
  id: string;
  behavior: Outcome;
  behaviorClose: Outcome;
  remoteCloseCode: number | null;
  durationMs: number;
  /** From the case's own JSON report; absent when that file is missing. */
  description?: string;
  expectation?: string;
  result?: string;
  resultClose?: string;
}

export interface Requirement {
  behavior: Outcome;
  behaviorClose: Outcome;
}

/** An --expected file: case id -> the result the case must have (any outcome may be recorded). */
export type Expected = Record<string, Requirement>;

/** Version of summary.json's shape (the `schema` field). */
export const SUMMARY_SCHEMA = 1;

export interface RunInfo {
  schema: typeof SUMMARY_SCHEMA;
  /** The @rfc6455/testkit version that made the report. */
  testkit: string;
  mode: Mode;
  suiteVersion: string;
  backend: string;
  /** The agent name given to the suite (--agent), naming the implementation under test. */
  testee: string;
  date: string;
  wallSeconds: number;
  /** Case patterns given to the suite; ["*"] for a full run. */
  cases: string[];
}

export interface SectionTime {
  section: string;
  title: string;
  cases: number;
  seconds: number;
}

export interface Regression {
  id: string;
  field: 'behavior' | 'behaviorClose' | 'case';
  expected: string;
  actual: string;
}

export interface Summary extends RunInfo {
  total: number;
  counts: { behavior: Record<Outcome, number>; behaviorClose: Record<Outcome, number> };
  sections: SectionTime[];
  notOk: CaseResult[];
  /** Why the run fails; empty when it passes. */
  problems: string[];
  regressions: Regression[];
  passed: boolean;
}

// Our own short names for the suite's sections, for the report tables.
const SECTION_TITLES: Record<string, string> = {
  '1': 'Framing',
  '2': 'Pings/Pongs',
  '3': 'Reserved bits',
  '4': 'Opcodes',
  '5': 'Fragmentation',
  '6': 'UTF-8 handling',
  '7': 'Close handling',
  '9': 'Limits/performance',
  '10': 'Miscellaneous',
  '12': 'permessage-deflate: payloads',
  '13': 'permessage-deflate: parameters',
};

export function isOutcome(value: unknown): value is Outcome {
  return typeof value === 'string' && (OUTCOMES as readonly string[]).includes(value);
}

/** Orders case ids the way the suite numbers them: 1.1.2 < 1.1.10 < 2.1. */
export function compareCaseIds(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/** Whether the suite's own rules accept this outcome for this case, whatever an expected file says. */
export function acceptable(id: string, outcome: Outcome): boolean {
  return outcome === 'OK' || (outcome === 'INFORMATIONAL' && SUITE_INFORMATIONAL.has(id));
}

/** The requirement an expected file should hold for a case: OK, or INFORMATIONAL where the suite says so. */
export function requirementFor(id: string): Requirement {
  const outcome: Outcome = SUITE_INFORMATIONAL.has(id) ? 'INFORMATIONAL' : 'OK';
  return { behavior: outcome, behaviorClose: outcome };
}

/** Whether a case id is selected by the suite's patterns ("*" wildcards, otherwise a prefix match). */
export function selectedBy(patterns: readonly string[], id: string): boolean {
  return patterns.some((pattern) => {
    const re = new RegExp('^' + pattern.split('*').map(escapeRegExp).join('.*'));
    return re.test(id);
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Every difference between the run and the expected file that makes the run worse, in case order. */
export function findRegressions(
  cases: readonly CaseResult[],
  expected: Readonly<Record<string, Requirement>>,
  patterns: readonly string[],
): Regression[] {
  const actual = new Map(cases.map((c) => [c.id, c]));
  const regressions: Regression[] = [];
  const ids = new Set([...Object.keys(expected).filter((id) => selectedBy(patterns, id)), ...actual.keys()]);
  for (const id of [...ids].sort(compareCaseIds)) {
    const want = expected[id];
    const got = actual.get(id);
    if (want === undefined) {
      regressions.push({ id, field: 'case', expected: 'not in the expected file', actual: 'ran' });
    } else if (got === undefined) {
      regressions.push({ id, field: 'case', expected: 'ran', actual: 'missing from the run' });
    } else {
      for (const field of ['behavior', 'behaviorClose'] as const) {
        // OK where expected.json allows INFORMATIONAL is better, not a regression.
        if (got[field] !== want[field] && got[field] !== 'OK') {
          regressions.push({ id, field, expected: want[field], actual: got[field] });
        }
      }
    }
  }
  return regressions;
}

/**
 * Without `expected`, every case must be OK (or INFORMATIONAL where the suite says so). With it, a case
 * may also have exactly the outcome the file records, and every selected case it lists must have run.
 */
export function summarise(
  run: RunInfo,
  cases: readonly CaseResult[],
  expected?: Readonly<Expected>,
): Summary {
  const sorted = [...cases].sort((a, b) => compareCaseIds(a.id, b.id));
  const counts = { behavior: zeroCounts(), behaviorClose: zeroCounts() };
  const sections = new Map<string, SectionTime>();
  for (const c of sorted) {
    counts.behavior[c.behavior]++;
    counts.behaviorClose[c.behaviorClose]++;
    const section = c.id.split('.')[0] ?? c.id;
    const entry = sections.get(section) ?? {
      section,
      title: SECTION_TITLES[section] ?? '',
      cases: 0,
      seconds: 0,
    };
    entry.cases++;
    entry.seconds += c.durationMs / 1000;
    sections.set(section, entry);
  }
  const notOk = sorted.filter((c) => c.behavior !== 'OK' || c.behaviorClose !== 'OK');
  const problems: string[] = [];
  if (sorted.length === 0) problems.push('the suite reported no cases at all');
  for (const c of notOk) {
    const want = expected?.[c.id];
    const recorded = want?.behavior === c.behavior && want.behaviorClose === c.behaviorClose;
    if (!recorded && (!acceptable(c.id, c.behavior) || !acceptable(c.id, c.behaviorClose))) {
      problems.push(`${c.id}: ${c.behavior} / close ${c.behaviorClose}`);
    }
  }
  const regressions = expected === undefined ? [] : findRegressions(sorted, expected, run.cases);
  // One line per case: a case that already broke the suite's rules is not listed again as a regression.
  const listed = new Set(problems.map((p) => p.split(':')[0]));
  for (const r of regressions) {
    if (!listed.has(r.id)) problems.push(`${r.id}: ${describeRegression(r)}`);
  }
  return {
    ...run,
    total: sorted.length,
    counts,
    sections: [...sections.values()].map((s) => ({ ...s, seconds: round1(s.seconds) })),
    notOk,
    problems,
    regressions,
    passed: problems.length === 0,
  };
}

function zeroCounts(): Record<Outcome, number> {
  return Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

export function describeRegression(r: Regression): string {
  if (r.field === 'case')
    return r.actual === 'ran' ? 'ran but is not in the expected file' : 'expected but did not run';
  return `${r.field} ${r.actual}, expected ${r.expected}`;
}

/** The regressions as a short unified-diff-like text, one line per case. */
export function renderDiff(mode: Mode, regressions: readonly Regression[]): string {
  if (regressions.length === 0) return `expected results (${mode}): no regressions`;
  const lines = [`expected results (${mode}): ${regressions.length} regression(s)`];
  for (const r of regressions) {
    lines.push(`- ${r.id} ${r.field}: ${r.expected}`);
    lines.push(`+ ${r.id} ${r.field}: ${r.actual}`);
  }
  return lines.join('\n');
}

/** Case reports may hold HTML (<br>, <b>); the markdown summary wants one plain line. */
export function plainText(text: string | undefined, limit = 600): string {
  if (text === undefined) return '(no case report)';
  const plain = text
    .replace(/<br\s*\/?>/gi, ' ')
    .replace(/<[^>]+>/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return plain.length > limit ? plain.slice(0, limit - 1) + '…' : plain;
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${round1(seconds)} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds - m * 60)} s`;
}

const MODE_TITLES: Record<Mode, string> = {
  server: 'server (`wstest -m fuzzingclient` against the server under test)',
  client: 'client (`wstest -m fuzzingserver` against the client under test)',
};

export function renderMarkdown(s: Summary): string {
  const out: string[] = [];
  out.push(`# Autobahn|Testsuite: ${MODE_TITLES[s.mode]}`, '');
  out.push(`- Verdict: **${s.passed ? 'PASS' : `FAIL (${s.problems.length} problem(s))`}**`);
  out.push(`- Suite: autobahntestsuite ${s.suiteVersion}`);
  out.push(`- Backend: ${s.backend}`);
  out.push(`- Testee: ${s.testee}`);
  out.push(`- Made by: @rfc6455/testkit ${s.testkit}`);
  out.push(`- Date: ${s.date}`);
  out.push(`- Wall time: ${formatSeconds(s.wallSeconds)}`);
  out.push(`- Cases: ${s.total} (patterns: ${s.cases.join(', ')})`, '');
  out.push('## Results', '');
  out.push(`| | ${OUTCOMES.join(' | ')} |`, `|---|${OUTCOMES.map(() => '---:').join('|')}|`);
  out.push(`| behavior | ${OUTCOMES.map((o) => s.counts.behavior[o]).join(' | ')} |`);
  out.push(`| behaviorClose | ${OUTCOMES.map((o) => s.counts.behaviorClose[o]).join(' | ')} |`, '');
  out.push('## Time per section', '', '(sum of the durations the suite measured for each case)', '');
  out.push('| Section | | Cases | Time |', '|---|---|---:|---:|');
  for (const t of s.sections)
    out.push(`| ${t.section} | ${t.title} | ${t.cases} | ${formatSeconds(t.seconds)} |`);
  out.push('', '## Cases that are not OK', '');
  if (s.notOk.length === 0) out.push('None.');
  for (const c of s.notOk) {
    const allowed = acceptable(c.id, c.behavior) && acceptable(c.id, c.behaviorClose);
    out.push(
      `### ${c.id}: ${c.behavior} / close ${c.behaviorClose}${allowed ? ' (informational by the suite)' : ''}`,
      '',
    );
    out.push(`- Description: ${plainText(c.description)}`);
    out.push(`- Expectation: ${plainText(c.expectation)}`);
    out.push(`- Result: ${plainText(c.result)}`);
    out.push(`- Close: ${plainText(c.resultClose)} (remote close code ${c.remoteCloseCode ?? 'none'})`, '');
  }
  if (s.regressions.length > 0) {
    out.push('', '## Regressions against the expected results', '', '```diff');
    out.push(renderDiff(s.mode, s.regressions), '```');
  }
  if (s.problems.length > 0) {
    out.push('', '## Problems', '');
    for (const p of s.problems) out.push(`- ${p}`);
  }
  return out.join('\n') + '\n';
}
