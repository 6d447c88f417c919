import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  compareCaseIds,
  findRegressions,
  plainText,
  renderDiff,
  renderMarkdown,
  requirementFor,
  selectedBy,
  summarise,
  type Requirement,
  type RunInfo,
} from './results.js';
import { readSuiteOutput } from './suite.js';

// A small index.json and case reports in the suite's own layout (one case report left out on purpose).
const fixture = join(__dirname, 'fixtures', 'run');

const run: RunInfo = {
  schema: 1,
  testkit: '0.1.0',
  mode: 'server',
  suiteVersion: '0.8.2-0.10.9',
  backend: 'fixture backend',
  testee: 'fixture testee',
  date: '2026-01-01T00:00:00.000Z',
  wallSeconds: 75,
  cases: ['*'],
};

const allOk: Record<string, Requirement> = Object.fromEntries(
  ['1.1.1', '1.1.10', '6.4.1', '7.13.1', '12.1.1'].map((id) => [id, requirementFor(id)]),
);

describe('readSuiteOutput', () => {
  const output = readSuiteOutput(fixture);

  it('reads every case of the single agent with its outcomes', () => {
    expect(output.agent).toBe('fixture-agent');
    expect(output.cases.map((c) => c.id).sort(compareCaseIds)).toEqual([
      '1.1.1',
      '1.1.10',
      '6.4.1',
      '7.13.1',
      '12.1.1',
    ]);
    const failed = output.cases.find((c) => c.id === '12.1.1')!;
    expect(failed).toMatchObject({
      behavior: 'UNIMPLEMENTED',
      behaviorClose: 'WRONG CODE',
      remoteCloseCode: null,
    });
    expect(failed.durationMs).toBe(1500);
  });

  it("takes the suite's own description of each case from the case report", () => {
    const nonStrict = output.cases.find((c) => c.id === '6.4.1')!;
    expect(nonStrict.description).toMatch(/^Send invalid UTF-8 text message in 3 fragments/);
    expect(nonStrict.expectation).toMatch(/fail fast on UTF-8/);
    expect(nonStrict.resultClose).toBe('Connection was properly closed');
    expect(output.cases.find((c) => c.id === '1.1.10')!.description).toBeUndefined();
  });

  it('finds the suite version in the handshake the suite sent', () => {
    expect(output.suiteVersion).toBe('0.8.2-0.10.9');
  });

  it('fails when index.json is missing, since wstest exits 0 when killed', () => {
    const empty = mkdtempSync(join(tmpdir(), 'conformance-'));
    try {
      expect(() => readSuiteOutput(empty)).toThrow(/index\.json is missing/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('summarise', () => {
  const { cases } = readSuiteOutput(fixture);

  it('counts outcomes for behavior and behaviorClose separately', () => {
    const s = summarise(run, cases, allOk);
    expect(s.total).toBe(5);
    expect(s.counts.behavior).toMatchObject({
      OK: 2,
      'NON-STRICT': 1,
      INFORMATIONAL: 1,
      UNIMPLEMENTED: 1,
      FAILED: 0,
    });
    expect(s.counts.behaviorClose).toMatchObject({
      OK: 3,
      INFORMATIONAL: 1,
      FAILED: 0,
      'WRONG CODE': 1,
      UNCLEAN: 0,
    });
  });

  it('sums case durations per top-level section, in case order', () => {
    const s = summarise(run, cases, allOk);
    expect(s.sections.map((t) => [t.section, t.cases, t.seconds])).toEqual([
      ['1', 2, 0],
      ['6', 1, 2],
      ['7', 1, 0],
      ['12', 1, 1.5],
    ]);
  });

  it('fails NON-STRICT and UNIMPLEMENTED but accepts INFORMATIONAL where the suite declares it', () => {
    const s = summarise(run, cases, allOk);
    expect(s.notOk.map((c) => c.id)).toEqual(['6.4.1', '7.13.1', '12.1.1']);
    expect(s.problems.some((p) => p.startsWith('6.4.1'))).toBe(true);
    expect(s.problems.some((p) => p.startsWith('12.1.1'))).toBe(true);
    expect(s.problems.some((p) => p.startsWith('7.13.1'))).toBe(false);
    expect(s.passed).toBe(false);
  });

  it('fails INFORMATIONAL on a case the suite does not declare informational', () => {
    const relabelled = cases.map((c) =>
      c.id === '1.1.1' ? { ...c, behavior: 'INFORMATIONAL' as const } : c,
    );
    const s = summarise(run, relabelled, allOk);
    expect(s.problems).toContain('1.1.1: INFORMATIONAL / close OK');
  });

  it('passes when every case is OK or suite-informational and matches expected.json', () => {
    const good = cases.filter((c) => c.id !== '6.4.1' && c.id !== '12.1.1');
    const expected = Object.fromEntries(good.map((c) => [c.id, requirementFor(c.id)]));
    const s = summarise(run, good, expected);
    expect(s.problems).toEqual([]);
    expect(s.passed).toBe(true);
  });

  it('accepts the exact outcome an expected file records, and nothing worse', () => {
    const recorded = { ...allOk, '6.4.1': { behavior: 'NON-STRICT' as const, behaviorClose: 'OK' as const } };
    const s = summarise(run, cases, recorded);
    expect(s.problems.some((p) => p.startsWith('6.4.1'))).toBe(false);
    expect(s.problems.some((p) => p.startsWith('12.1.1'))).toBe(true);
    const worse = cases.map((c) => (c.id === '6.4.1' ? { ...c, behavior: 'FAILED' as const } : c));
    expect(summarise(run, worse, recorded).problems).toContain('6.4.1: FAILED / close OK');
  });

  it('without an expected file, requires every case to be OK or suite-informational', () => {
    const s = summarise(run, cases);
    expect(s.regressions).toEqual([]);
    expect(s.problems).toEqual(['6.4.1: NON-STRICT / close OK', '12.1.1: UNIMPLEMENTED / close WRONG CODE']);
  });

  it('fails an empty run', () => {
    expect(summarise(run, [], {}).passed).toBe(false);
  });
});

describe('findRegressions', () => {
  const { cases } = readSuiteOutput(fixture);

  it('reports changed outcomes, missing cases and unknown cases', () => {
    const expected: Record<string, Requirement> = { ...allOk, '2.1': requirementFor('2.1') };
    delete expected['1.1.10'];
    const regressions = findRegressions(cases, expected, ['*']);
    expect(regressions).toEqual([
      { id: '1.1.10', field: 'case', expected: 'not in the expected file', actual: 'ran' },
      { id: '2.1', field: 'case', expected: 'ran', actual: 'missing from the run' },
      { id: '6.4.1', field: 'behavior', expected: 'OK', actual: 'NON-STRICT' },
      { id: '12.1.1', field: 'behavior', expected: 'OK', actual: 'UNIMPLEMENTED' },
      { id: '12.1.1', field: 'behaviorClose', expected: 'OK', actual: 'WRONG CODE' },
    ]);
  });

  it('takes OK where INFORMATIONAL was expected as no regression', () => {
    const ok = cases.map((c) => ({ ...c, behavior: 'OK' as const, behaviorClose: 'OK' as const }));
    expect(findRegressions(ok, allOk, ['*'])).toEqual([]);
  });

  it('only expects the cases a partial run selected', () => {
    const ones = cases.filter((c) => c.id.startsWith('1.'));
    expect(findRegressions(ones, allOk, ['1.*'])).toEqual([]);
    expect(findRegressions(ones, allOk, ['*']).map((r) => r.id)).toEqual(['6.4.1', '7.13.1', '12.1.1']);
  });

  it('renders a readable diff, one pair of lines per regression', () => {
    const text = renderDiff('client', findRegressions(cases, allOk, ['*']));
    expect(text.split('\n')).toEqual([
      'expected results (client): 3 regression(s)',
      '- 6.4.1 behavior: OK',
      '+ 6.4.1 behavior: NON-STRICT',
      '- 12.1.1 behavior: OK',
      '+ 12.1.1 behavior: UNIMPLEMENTED',
      '- 12.1.1 behaviorClose: OK',
      '+ 12.1.1 behaviorClose: WRONG CODE',
    ]);
    expect(renderDiff('server', [])).toBe('expected results (server): no regressions');
  });
});

describe('case ids and patterns', () => {
  it('orders ids numerically, component by component', () => {
    expect(['12.1.1', '1.1.10', '2.1', '1.1.2', '1.1'].sort(compareCaseIds)).toEqual([
      '1.1',
      '1.1.2',
      '1.1.10',
      '2.1',
      '12.1.1',
    ]);
  });

  it('matches patterns by prefix, as the suite does', () => {
    expect(selectedBy(['12.1.1'], '12.1.10')).toBe(true);
    expect(selectedBy(['1.*'], '1.1.1')).toBe(true);
    expect(selectedBy(['1.*'], '12.1.1')).toBe(false);
    expect(selectedBy(['*'], '13.7.18')).toBe(true);
  });

  it('requires OK except on the cases the suite declares informational', () => {
    expect(requirementFor('7.1.6')).toEqual({ behavior: 'INFORMATIONAL', behaviorClose: 'INFORMATIONAL' });
    expect(requirementFor('7.1.5')).toEqual({ behavior: 'OK', behaviorClose: 'OK' });
  });
});

describe('renderMarkdown', () => {
  const { cases } = readSuiteOutput(fixture);
  const markdown = renderMarkdown(summarise(run, cases, allOk));

  it('states the verdict, the run facts and the counts', () => {
    expect(markdown).toContain('- Verdict: **FAIL (2 problem(s))**');
    expect(markdown).toContain('- Suite: autobahntestsuite 0.8.2-0.10.9');
    expect(markdown).toContain('- Wall time: 1 min 15 s');
    expect(markdown).toContain('| behavior | 2 | 1 | 1 | 1 | 0 | 0 | 0 | 0 | 0 |');
    expect(markdown).toContain('| 12 | permessage-deflate: payloads | 1 | 1.5 s |');
  });

  it("lists each case that is not OK with the suite's words, HTML stripped", () => {
    expect(markdown).toContain('### 12.1.1: UNIMPLEMENTED / close WRONG CODE');
    expect(markdown).toContain('- Result: Server did not accept the permessage-deflate offer.');
    expect(markdown).toContain('(fail fast on UTF-8)');
    expect(markdown).toContain(
      '### 7.13.1: INFORMATIONAL / close INFORMATIONAL (informational by the suite)',
    );
    expect(markdown).not.toContain('<br>');
  });

  it('strips tags and shortens long text', () => {
    expect(plainText('a<br/>b <b>c</b>')).toBe('a b c');
    expect(plainText('x'.repeat(700))).toHaveLength(600);
    expect(plainText(undefined)).toBe('(no case report)');
  });
});
