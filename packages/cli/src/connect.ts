import type { ClientRequest, IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { ExitCode, UsageError, usage, seconds, toBytes, toText } from './args.js';
import type { Io } from './args.js';
import { WebSocket } from './transport.js';

export const connectHelp = `Usage: rfc6455 connect URL [options]

An interactive WebSocket client. Each line typed (or piped) on stdin is sent as a text message;
each message received is printed on stdout as '< text' or '< [binary N bytes] hex'.
Notes about the connection go to stderr.

Commands on stdin:
  /ping [TEXT]          send a ping (the pong is reported)
  /close [CODE [REASON]] close the connection (default 1000)
  /binary HEX           send a binary message, e.g. /binary 01 02 ff
  //TEXT                send '/TEXT' as text

Options:
  --protocol P          offer subprotocol P (repeatable)
  --header 'K: V'       add a header to the handshake request (repeatable)
  --deflate             offer permessage-deflate (RFC 7692)
  --execute MSG         send MSG once connected instead of reading stdin (repeatable)
  --wait S              after the last message is sent (--execute, or end of stdin),
                        wait S seconds for messages before closing (default 0)
  -h, --help            show this help

Exit codes: 0 closed normally (1000, 1001, 1005, or a close we started), 1 could not connect
(refused, unknown host, handshake rejected), 2 usage error, 3 the connection ended abnormally
(1006) or the server closed it with an error code.`;

export interface ConnectOptions {
  url: string;
  protocols: string[];
  headers: Record<string, string>;
  deflate: boolean;
  execute: string[] | null;
  waitSeconds: number;
}

export function parseConnectArgs(argv: string[]): ConnectOptions | 'help' {
  const { values, positionals } = usage(() =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        protocol: { type: 'string', multiple: true },
        header: { type: 'string', multiple: true },
        deflate: { type: 'boolean' },
        execute: { type: 'string', short: 'x', multiple: true },
        wait: { type: 'string', short: 'w' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help === true) return 'help';
  if (positionals.length === 0) throw new UsageError('missing URL (e.g. ws://localhost:8000)');
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const given = positionals[0] as string;
  // Like wscat, 'localhost:8000' means ws://localhost:8000.
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(given) ? given : `ws://${given}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`not a URL: '${given}'`);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new UsageError(`the URL must start with ws:// or wss://, got '${given}'`);
  }
  const headers: Record<string, string> = {};
  for (const header of values.header ?? []) {
    const colon = header.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header must look like 'Name: value', got '${header}'`);
    headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
  }
  return {
    url,
    protocols: values.protocol ?? [],
    headers,
    deflate: values.deflate === true,
    execute: values.execute ?? null,
    waitSeconds: seconds('wait', values.wait) ?? 0,
  };
}

function hex(bytes: Uint8Array, limit = 64): string {
  const shown = Array.from(bytes.subarray(0, limit), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return bytes.length > limit ? `${shown} ...` : shown;
}

function parseHex(text: string): Uint8Array | null {
  const digits = text.replace(/\s+/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(digits)) return null;
  return Uint8Array.from(digits.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

/** One line of stdin: a command or a text message. Returns an error to report, or null. */
function handleLine(
  ws: WebSocket,
  line: string,
  startClose: (code: number, reason: string) => void,
): string | null {
  if (line.startsWith('//') || !line.startsWith('/')) {
    ws.send(line.startsWith('//') ? line.slice(1) : line);
    return null;
  }
  const [command = '', ...rest] = line.slice(1).split(' ');
  const argument = rest.join(' ');
  switch (command) {
    case 'ping':
      ws.ping(argument);
      return null;
    case 'binary': {
      const bytes = parseHex(argument);
      if (bytes === null) return `/binary needs pairs of hex digits, e.g. /binary 01 02 ff`;
      ws.send(bytes, { binary: true });
      return null;
    }
    case 'close': {
      const [codeText, ...reasonWords] = rest;
      const code = codeText === undefined || codeText === '' ? 1000 : Number(codeText);
      // RFC 6455 7.4: codes an endpoint may send.
      if (!Number.isInteger(code) || !(code === 1000 || (code >= 3000 && code <= 4999))) {
        return `/close needs a code of 1000 or 3000-4999, got '${codeText}'`;
      }
      const reason = reasonWords.join(' ');
      if (Buffer.byteLength(reason) > 123) return `/close reason is limited to 123 bytes (RFC 6455 5.5.1)`;
      startClose(code, reason);
      return null;
    }
    default:
      return `unknown command '/${command}' (try /ping, /close, /binary, or // to send a line starting with /)`;
  }
}

function connectError(error: NodeJS.ErrnoException, url: URL): string {
  const where = `${url.hostname}:${url.port || (url.protocol === 'wss:' ? 443 : 80)}`;
  switch (error.code) {
    case 'ECONNREFUSED':
      return `connection refused by ${where} (is the server running?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve host '${url.hostname}'`;
    case 'ECONNRESET':
      return `connection reset by ${where} during the handshake`;
    case 'ETIMEDOUT':
      return `connection to ${where} timed out`;
    case undefined: // not a system error: its message says what went wrong
    default: {
      const status = /Unexpected server response: (\d+)/.exec(error.message);
      if (status !== null) return `handshake rejected by the server: HTTP ${status[1]}`;
      return `cannot connect to ${url.href}: ${error.message}`;
    }
  }
}

/** Reads at most `limit` bytes of a rejected handshake's body, for the error line. */
function readBody(res: IncomingMessage, limit = 512): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (): void => resolve(Buffer.concat(chunks).toString('utf8').trim().split('\n')[0] ?? '');
    res.on('data', (chunk: Buffer) => {
      if (size < limit) chunks.push(chunk.subarray(0, limit - size));
      size += chunk.length;
      if (size >= limit) {
        res.destroy();
        finish();
      }
    });
    res.on('end', finish);
    res.on('error', finish);
    res.on('close', finish);
  });
}

/** `rfc6455 connect`. Resolves to the exit code once the connection is over. */
export async function connectCommand(argv: string[], io: Io): Promise<number> {
  const options = parseConnectArgs(argv);
  if (options === 'help') {
    io.stdout.write(`${connectHelp}\n`);
    return ExitCode.ok;
  }
  const url = new URL(options.url);
  const note = (line: string): void => void io.stderr.write(`${line}\n`);
  const print = (line: string): void => void io.stdout.write(`${line}\n`);

  const ws = new WebSocket(options.url, options.protocols, {
    headers: options.headers,
    perMessageDeflate: options.deflate,
  });

  return new Promise<number>((resolve) => {
    let opened = false;
    let closeStartedByUs = false;
    let finished = false;
    /** The server answered the handshake with something other than 101: its body is being read. */
    let rejected = false;
    let waitTimer: NodeJS.Timeout | undefined;
    let lines: ReturnType<typeof createInterface> | undefined;
    const pending: string[] = [];
    let inputEnded = false;

    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      clearTimeout(waitTimer);
      lines?.close();
      resolve(code);
    };
    const startClose = (code: number, reason: string): void => {
      if (ws.readyState !== WebSocket.OPEN) return;
      closeStartedByUs = true;
      ws.close(code, reason);
    };
    const afterLastMessage = (): void => {
      waitTimer = setTimeout(() => startClose(1000, ''), options.waitSeconds * 1000);
    };
    const onLine = (line: string): void => {
      if (ws.readyState !== WebSocket.OPEN) return;
      try {
        const problem = handleLine(ws, line, startClose);
        if (problem !== null) note(`error: ${problem}`);
      } catch (error) {
        note(`error: ${(error as Error).message}`);
      }
    };

    // Lines typed before the handshake completes are sent once it does.
    if (options.execute === null) {
      lines = createInterface({ input: io.stdin, terminal: false });
      lines.on('line', (line) => (opened ? onLine(line) : pending.push(line)));
      lines.on('close', () => {
        if (finished) return;
        if (opened) afterLastMessage();
        else inputEnded = true;
      });
    }

    ws.on('open', () => {
      opened = true;
      const extensions = ws.extensions === '' ? 'none' : ws.extensions;
      const protocol = ws.protocol === '' ? 'none' : ws.protocol;
      note(`connected to ${options.url} (subprotocol: ${protocol}; extensions: ${extensions})`);
      if (options.execute !== null) {
        for (const message of options.execute) onLine(message);
        afterLastMessage();
        return;
      }
      for (const line of pending) onLine(line);
      pending.length = 0;
      if (inputEnded) afterLastMessage();
    });
    ws.on('message', (data: unknown, isBinary: boolean) => {
      if (isBinary) {
        const bytes = toBytes(data);
        print(`< [binary ${bytes.length} bytes] ${hex(bytes)}`.trimEnd());
      } else {
        print(`< ${toText(data)}`);
      }
    });
    ws.on('ping', (data: unknown) => note(`< ping ${toText(data)}`.trimEnd()));
    ws.on('pong', (data: unknown) => note(`< pong ${toText(data)}`.trimEnd()));
    ws.on('unexpected-response', (req: ClientRequest, res: IncomingMessage) => {
      rejected = true;
      void readBody(res).then((body) => {
        const status = `${res.statusCode ?? '?'} ${res.statusMessage ?? ''}`.trim();
        note(
          `rfc6455 connect: handshake rejected by the server: HTTP ${status}${body !== '' ? ` (${body})` : ''}`,
        );
        req.destroy();
        finish(ExitCode.failure);
      });
    });
    ws.on('error', (error: NodeJS.ErrnoException) => {
      if (finished || rejected) return;
      if (!opened) {
        note(`rfc6455 connect: ${connectError(error, url)}`);
        finish(ExitCode.failure);
      } else {
        note(`error: ${error.message}`);
      }
    });
    ws.on('close', (code: number, reason: unknown) => {
      if (!opened) {
        if (!rejected) finish(ExitCode.failure);
        return;
      }
      const text = toText(reason);
      note(`disconnected (code ${code}${text !== '' ? `, reason: ${text}` : ''})`);
      const normal = closeStartedByUs || code === 1000 || code === 1001 || code === 1005;
      finish(normal ? ExitCode.ok : ExitCode.abnormalClose);
    });
  });
}
