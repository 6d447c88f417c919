#!/usr/bin/env node
// The `rfc6455-testkit` executable: wires the process (argv, stdio, signals, exit code) to run().
import { run } from './cli.js';
import { stopAllNow } from './processes.js';

for (const [name, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.on(name, () => {
    stopAllNow();
    process.exit(code);
  });
}

run(process.argv.slice(2), process).then(
  (code) => {
    process.stdout.write('', () => process.exit(code));
  },
  (error: unknown) => {
    stopAllNow();
    process.stderr.write(`rfc6455-testkit: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
