import { ExitCode, UsageError } from './args.js';
import type { Io } from './args.js';
import { connectCommand, connectHelp } from './connect.js';
import { serveCommand, serveHelp } from './serve.js';

export const mainHelp = `Usage: rfc6455 <command> [options]

Commands:
  serve      serve WebSocket connections: echo, broadcast, or the demo page (rfc6455 serve --help)
  connect    an interactive WebSocket client, like wscat (rfc6455 connect --help)

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
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        (command === undefined ? io.stderr : io.stdout).write(`${mainHelp}\n`);
        return command === undefined ? ExitCode.usage : ExitCode.ok;
      default:
        throw new UsageError(`unknown command '${command}' (expected serve or connect)`);
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const name = command === 'serve' || command === 'connect' ? `rfc6455 ${command}` : 'rfc6455';
    const help = command === 'serve' ? serveHelp : command === 'connect' ? connectHelp : mainHelp;
    io.stderr.write(`${name}: ${error.message}\n\n${help.split('\n')[0] ?? ''}\nTry '${name} --help'.\n`);
    return ExitCode.usage;
  }
}
