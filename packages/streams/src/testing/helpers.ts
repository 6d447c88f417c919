// Node helpers for the streams tests: sockets as WHATWG streams (Duplex.toWeb), servers on 127.0.0.1
// that hand every connection to accept(), and a raw peer that reads what a server sends.
import net from 'node:net';
import { Duplex } from 'node:stream';
import { FrameReader } from '@rfc6455/test-support';
import { accept } from '../index.js';
import type { AcceptOptions, ByteStream, WebSocket } from '../index.js';

/** A socket's two halves as WHATWG streams of bytes. */
export function toByteStream(socket: net.Socket): ByteStream {
  const { readable, writable } = Duplex.toWeb(socket);
  return {
    readable: readable as ReadableStream<Uint8Array>,
    writable: writable as WritableStream<Uint8Array>,
  };
}

export interface StreamsServer {
  port: number;
  url: string;
  /** Every accepted WebSocket, and every accept() failure, in order. */
  sockets: WebSocket[];
  failures: Error[];
  next(): Promise<WebSocket>;
  close(): Promise<void>;
}

/** A net server whose connections go through accept(options); `onSocket` gets each WebSocket. */
export async function streamsServer(
  options: AcceptOptions = {},
  onSocket: (ws: WebSocket) => void = () => {},
): Promise<StreamsServer> {
  const raw = new Set<net.Socket>();
  const sockets: WebSocket[] = [];
  const failures: Error[] = [];
  const waiting: ((ws: WebSocket) => void)[] = [];
  const server = net.createServer((socket) => {
    raw.add(socket);
    socket.on('close', () => raw.delete(socket));
    socket.setNoDelay(true);
    accept(toByteStream(socket), options).then(
      (ws) => {
        sockets.push(ws);
        onSocket(ws);
        waiting.shift()?.(ws);
      },
      (err: Error) => void failures.push(err),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  let seen = 0;
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    sockets,
    failures,
    next: () => {
      const ws = sockets[seen];
      if (ws !== undefined) {
        seen++;
        return Promise.resolve(ws);
      }
      return new Promise((resolve) => waiting.push((w) => (seen++, resolve(w))));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of raw) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A connected TCP socket to 127.0.0.1:port. */
export function tcpConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.setNoDelay(true);
    socket.once('error', reject);
  });
}

/** A raw client: writes bytes, collects the response head and the frames that follow. */
export class RawClient {
  head = '';
  raw = Buffer.alloc(0);
  readonly frames = new FrameReader();
  ended = false;
  private pre = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.raw = Buffer.concat([this.raw, chunk]);
      if (this.head === '') {
        this.pre = Buffer.concat([this.pre, chunk]);
        const end = this.pre.indexOf('\r\n\r\n');
        if (end !== -1) {
          this.head = this.pre.subarray(0, end + 4).toString('latin1');
          const rest = this.pre.subarray(end + 4);
          if (rest.length > 0) this.frames.push(rest);
        }
      } else {
        this.frames.push(chunk);
      }
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static async open(port: number): Promise<RawClient> {
    return new RawClient(await tcpConnect(port));
  }

  write(bytes: Uint8Array | string): void {
    this.socket.write(bytes);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits (at most 5 s) until `condition` holds. */
  async until(condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 20);
      });
    }
  }
}

/** Resolves with the next event of `type` on `target`. */
export function once<T extends Event>(target: EventTarget, type: string): Promise<T> {
  return new Promise((resolve) => target.addEventListener(type, (ev) => resolve(ev as T), { once: true }));
}
