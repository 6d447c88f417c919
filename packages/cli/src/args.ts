/** A mistake in the command line: reported with the command's usage and exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Exit codes every command shares; see the README's table. */
export const ExitCode = {
  ok: 0,
  /** Could not do the job: port in use, connection refused, handshake rejected. */
  failure: 1,
  usage: 2,
  /** connect: the connection ended abnormally (1006) or the server closed it with an error code. */
  abnormalClose: 3,
} as const;

/** Runs a parseArgs call, turning its errors into UsageError. */
export function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** An integer option within [min, max], or the default when absent. */
export function integer(
  name: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** A non-negative number of seconds (fractions allowed). */
export function seconds(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new UsageError(`--${name} must be a number of seconds >= 0, got '${value}'`);
  }
  return n;
}

/** The streams a command talks through: the process's own in main, in-memory ones in tests. */
export interface Io {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** A message payload as bytes, whatever shape the WebSocket library hands it over in. */
export function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (Array.isArray(data)) return Buffer.concat(data as Uint8Array[]);
  if (typeof data === 'string') return Buffer.from(data);
  throw new TypeError(`unexpected message data of type ${typeof data}`);
}

/** UTF-8 text of a payload (already validated by the WebSocket layer, RFC 6455 8.1). */
export function toText(data: unknown): string {
  if (typeof data === 'string') return data;
  const bytes = toBytes(data);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}
