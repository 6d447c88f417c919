// `node conformance/dist/src/update-readme.js`: rewrites the README's conformance matrix from the
// summaries in reports/conformance/ without running anything (`npm run conformance -- --update-readme`
// does the same after a run).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { updateReadme, type Cell } from './matrix.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cells = JSON.parse(readFileSync(join(repoRoot, 'conformance', 'matrix.json'), 'utf8')) as Cell[];
updateReadme(repoRoot, cells);
process.stdout.write('rewrote the conformance matrix in README.md\n');
