import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { MATRIX_END, MATRIX_START, parseMatrix, renderMatrix, replaceBetweenMarkers } from './matrix.js';

const cell = {
  id: 'node-server',
  runtime: 'node',
  transport: '@rfc6455/node',
  mode: 'server',
  command: 'node x.js',
  cases: ['*'],
};

describe('parseMatrix', () => {
  it("reads the repository's matrix: every cell valid, ids unique, every runtime of issue #12 in both modes", () => {
    const cells = parseMatrix(readFileSync(join(__dirname, '..', 'matrix.json'), 'utf8'));
    const ids = cells.map((c) => c.id);
    for (const runtime of ['node', 'bun', 'deno']) {
      for (const mode of ['server', 'client']) expect(ids).toContain(`node-on-${runtime}-${mode}`);
    }
    for (const runtime of ['node', 'deno']) {
      for (const mode of ['server', 'client']) expect(ids).toContain(`streams-on-${runtime}-${mode}`);
    }
    expect(ids).toContain('streams-on-workerd-server');
    expect(ids).toContain('codec-example-server');
    // The Node transport runs the whole suite on every runtime.
    for (const c of cells.filter((c) => c.transport === '@rfc6455/node')) expect(c.cases).toEqual(['*']);
  });

  it('names the cell and the field that is wrong', () => {
    expect(() => parseMatrix(JSON.stringify([{ ...cell, mode: 'both' }]))).toThrow(
      /cell 0 \(node-server\): "mode" must be "server" or "client"/,
    );
    expect(() => parseMatrix(JSON.stringify([{ ...cell, cases: [] }]))).toThrow(/"cases" must be/);
    expect(() => parseMatrix(JSON.stringify([cell, cell]))).toThrow(/appears twice/);
    expect(() => parseMatrix(JSON.stringify([{ ...cell, command: '' }]))).toThrow(/"command"/);
    expect(() => parseMatrix('{}')).toThrow(/array of cells/);
  });
});

describe('the README matrix', () => {
  const summary = {
    passed: false,
    wallSeconds: 600,
    counts: { behavior: { OK: 510 } },
    notOk: [{ behavior: 'INFORMATIONAL' }, { behavior: 'FAILED' }],
  };

  it('has one row per cell, with the verdict, the counts and a link to the summary', () => {
    const [parsed] = parseMatrix(JSON.stringify([{ ...cell, note: 'a note' }]));
    const table = renderMatrix([parsed!], new Map([['node-server', summary as never]]));
    expect(table.split('\n')[2]).toBe(
      '| node-server | node | @rfc6455/node | server | * | [FAIL: 510 OK, 1 informational, 1 not OK](reports/conformance/node-server.md) (a note) | 10 min |',
    );
    expect(renderMatrix([parsed!], new Map())).toContain('[not run yet]');
  });

  it('replaces only what lies between the markers, and refuses a README without them', () => {
    const text = `a\n${MATRIX_START}\nold\n${MATRIX_END}\nb\n`;
    expect(replaceBetweenMarkers(text, 'new')).toBe(`a\n${MATRIX_START}\nnew\n${MATRIX_END}\nb\n`);
    expect(() => replaceBetweenMarkers('no markers', 'x')).toThrow(/must hold/);
  });
});
