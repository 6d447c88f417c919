import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  MATRIX_END,
  MATRIX_START,
  readSummaries,
  renderMatrix,
  replaceMatrix,
  verdict,
  type Cell,
} from './matrix.js';
import { requirementFor, summarise, type CaseResult, type RunInfo, type Summary } from './results.js';

const conformanceDir = join(__dirname, '..');
const repoRoot = join(conformanceDir, '..');
const cells = JSON.parse(readFileSync(join(conformanceDir, 'matrix.json'), 'utf8')) as Cell[];

const cell = (id: string, cases = ['*']): Cell => ({
  id,
  runtime: 'bun',
  transport: '@rfc6455/node',
  mode: 'server',
  command: 'bun conformance/dist/testees/node-server.js',
  cases,
});

function summaryOf(outcomes: Record<string, CaseResult['behavior']>, cases = ['*']): Summary {
  const run: RunInfo = {
    mode: 'server',
    suiteVersion: '0.8.2',
    backend: 'test',
    testee: 'test',
    date: '2026-01-01T00:00:00.000Z',
    wallSeconds: 125,
    cases,
  };
  const results = Object.entries(outcomes).map(([id, behavior]) => ({
    id,
    behavior,
    behaviorClose: 'OK' as const,
    remoteCloseCode: 1000,
    durationMs: 1,
  }));
  const expected = Object.fromEntries(Object.keys(outcomes).map((id) => [id, requirementFor(id)]));
  return summarise(run, results, expected);
}

describe('verdict', () => {
  it('is OK, non-strict, failed or not run', () => {
    expect(verdict(summaryOf({ '1.1.1': 'OK', '7.1.6': 'INFORMATIONAL' }))).toBe('OK');
    expect(verdict(summaryOf({ '1.1.1': 'OK', '6.4.1': 'NON-STRICT' }))).toBe('**failed**');
    expect(verdict({ ...summaryOf({ '6.4.1': 'NON-STRICT' }), passed: true })).toBe('non-strict');
    expect(verdict(summaryOf({ '1.1.1': 'FAILED' }))).toBe('**failed**');
    expect(verdict(undefined)).toBe('not run');
    expect(verdict(null)).toBe('**failed** (did not finish)');
  });
});

describe('renderMatrix', () => {
  it('has one row per cell, in the order of matrix.json, with counts, time and a link to the report', () => {
    const table = renderMatrix(
      [cell('a'), cell('b', ['1.*', '12.1.*']), cell('c'), cell('d')],
      new Map([
        ['a', summaryOf({ '1.1.1': 'OK', '7.1.6': 'INFORMATIONAL' })],
        ['b', summaryOf({ '1.1.1': 'OK', '12.1.1': 'FAILED' }, ['1.*', '12.1.*'])],
        ['d', null],
      ]),
    );
    const rows = table.split('\n').slice(2);
    expect(rows).toEqual([
      '| bun | @rfc6455/node | server | all | OK | 1 | 0 | 1 | 0 | 2 min 5 s | [a](reports/conformance/a.md) |',
      '| bun | @rfc6455/node | server | 1.* 12.1.* | **failed** | 1 | 0 | 0 | 1 | 2 min 5 s | [b](reports/conformance/b.md) |',
      '| bun | @rfc6455/node | server | all | not run |  |  |  |  |  | [c](reports/conformance/c.md) |',
      '| bun | @rfc6455/node | server | all | **failed** (did not finish) |  |  |  |  |  | [d](reports/conformance/d.md) |',
    ]);
  });
});

describe('replaceMatrix', () => {
  it('replaces only what stands between the markers', () => {
    const readme = `before\n${MATRIX_START}\nold\n${MATRIX_END}\nafter\n`;
    expect(replaceMatrix(readme, 'new')).toBe(`before\n${MATRIX_START}\n\nnew\n\n${MATRIX_END}\nafter\n`);
  });

  it('throws without the markers', () => {
    expect(() => replaceMatrix('no markers', 'new')).toThrow(/markers/);
  });
});

describe('conformance/matrix.json', () => {
  it('names each cell once, with a mode, a known runtime and a testee that exists', () => {
    expect(new Set(cells.map((c) => c.id)).size).toBe(cells.length);
    for (const c of cells) {
      expect(['server', 'client']).toContain(c.mode);
      expect(['node', 'bun', 'deno', 'workerd']).toContain(c.runtime);
      expect(c.cases.length).toBeGreaterThan(0);
      // A built TypeScript testee (dist/testees/NAME.js from testees/NAME.ts), or a plain module that
      // runs as it is on every runtime (testees/NAME.mjs, the @rfc6455/streams ones).
      const built = /conformance\/dist\/testees\/([\w-]+)\.js/.exec(c.command);
      // Or a package's runnable example (the workerd one: packages/streams/examples/workerd/serve.sh).
      const plain = /conformance\/testees\/([\w-]+\.mjs)/.exec(c.command);
      const example = /(packages\/[\w-]+\/examples\/[\w/-]+\.sh)/.exec(c.command);
      expect(built ?? plain ?? example).not.toBeNull();
      const source = built
        ? join(conformanceDir, 'testees', `${built[1]}.ts`)
        : plain
          ? join(conformanceDir, 'testees', plain[1]!)
          : join(conformanceDir, '..', example![1]!);
      expect(existsSync(source)).toBe(true);
      if (c.mode === 'client') expect(c.command).toContain('{url}');
    }
  });

  it("is what the README's matrix shows, from the committed reports", () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const summaries = readSummaries(repoRoot, cells);
    expect(replaceMatrix(readme, renderMatrix(cells, summaries))).toBe(readme);
  });
});
