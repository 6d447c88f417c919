import { ExitCode, UsageError } from './args.js';
import type { Io } from './args.js';
import { connectCommand, connectHelp } from './connect.js';
import { serveCommand, serveHelp } from './serve.js';

export const mainHelp = `Usage: rfc6455 <command> [options]

Commands:
  serve      serve WebSocket connections: echo, broadcast, or the demo page (rfc6455 serve --help)
  connect    an interactive WebSocket client, like wscat (rfc6455 connect --help)
  testkit    conformance runs and protocol fuzzing: @rfc6455/testkit's command (rfc6455 testkit --help)

Run 'rfc6455 <command> --help' for a command's options.`;

export interface RunContext {
  /** Directory of the bundled demo page (public/ next to dist/). */
  demoDir: string;
  /** Aborted on SIGINT/SIGTERM: serve shuts down gracefully. */
  stop: AbortSignal;
}

/** Runs one command line (without the node and script names) and resolves to the exit code. */
export async function run(argv: string[], io: Io, context: RunContext): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serveCommand(rest, io, context.demoDir, context.stop);
      case 'connect':
        return await connectCommand(rest, io);
      case 'testkit':
        return await testkitCommand(rest, io, context.stop);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        (command === undefined ? io.stderr : io.stdout).write(`${mainHelp}\n`);
        return command === undefined ? ExitCode.usage : ExitCode.ok;
      default:
        throw new UsageError(`unknown command '${command}' (expected serve, connect or testkit)`);
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const name = command === 'serve' || command === 'connect' ? `rfc6455 ${command}` : 'rfc6455';
    const help = command === 'serve' ? serveHelp : command === 'connect' ? connectHelp : mainHelp;
    io.stderr.write(`${name}: ${error.message}\n\n${help.split('\n')[0] ?? ''}\nTry '${name} --help'.\n`);
    return ExitCode.usage;
  }
}

/** `rfc6455 testkit ...` is `rfc6455-testkit ...`: the same run, the same exit status. */
async function testkitCommand(argv: string[], io: Io, stop: AbortSignal): Promise<number> {
  // Loaded on use: the other commands do not pay for the testkit (or fast-check).
  const testkit = await import('@rfc6455/testkit');
  // Ctrl-C stops the suite and whatever the run started, by their PIDs.
  const onStop = (): void => testkit.stopAllNow();
  stop.addEventListener('abort', onStop);
  try {
    return await testkit.run(argv, { stdout: io.stdout, stderr: io.stderr, env: process.env });
  } finally {
    stop.removeEventListener('abort', onStop);
  }
}
