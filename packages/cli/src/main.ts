#!/usr/bin/env node
// The `rfc6455` executable: wires the process (argv, stdio, signals, exit code) to run().
import { fileURLToPath } from 'node:url';
import { run } from './cli.js';

const demoDir = fileURLToPath(new URL('../public/', import.meta.url));
const stop = new AbortController();
let signals = 0;
const onSignal = (): void => {
  // The first Ctrl-C shuts down gracefully; a second one does not wait.
  if (++signals > 1) process.exit(130);
  stop.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

run(process.argv.slice(2), process, { demoDir, stop: stop.signal }).then(
  (code) => {
    process.stdout.write('', () => process.exit(code));
  },
  (error: unknown) => {
    process.stderr.write(
      `rfc6455: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
