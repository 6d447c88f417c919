import { Connection, HeadParser, acceptServerHandshake, buildErrorResponse } from '@rfc6455/codec';
import { checkServerResponse, createClientRequest, decodeUtf8, type Event } from '@rfc6455/codec';

/** All the codec needs from a byte transport (a socket, a pipe, a test): a gathered write, and end. */
export interface Transport {
  write(chunks: Uint8Array[]): void;
  end(): void;
}
/** The transport calls it with every chunk received, split anywhere, and with null at end of stream. */
export type Receive = (chunk: Uint8Array | null) => void;

/** Feeds a chunk (null: end of stream), handles the events, writes what the codec queued. */
function pump(ws: Connection, t: Transport, chunk: Uint8Array | null, onEvent: (event: Event) => void): void {
  const events = chunk === null ? ws.receiveEof() : ws.receive(chunk);
  events.forEach(onEvent);
  t.write(ws.takeOutput()); // what the handlers sent, pongs and close frames, in the order they were made
  if (ws.shouldCloseTransport) t.end(); // RFC 6455 7.1.1: the server ends TCP first
}

export function echoServer(t: Transport, log: (line: string) => void): Receive {
  const parser = new HeadParser('request');
  let ws: Connection | null = null;
  const onEvent = (event: Event) => {
    if (event.type === 'text') ws!.sendText(event.data);
    if (event.type === 'binary') ws!.sendBinary(event.data);
    if (event.type === 'close') log(`server: close ${event.code} ${event.reason}`);
  };
  return (chunk) => {
    if (ws === null) {
      if (chunk === null) return t.end();
      const parsed = parser.feed(chunk);
      if (!parsed.done) return;
      if (!parsed.ok) {
        t.write([buildErrorResponse(parsed.status, parsed.reason)]); // 400, 431
        return t.end();
      }
      const handshake = acceptServerHandshake(parsed.head);
      t.write([handshake.response]); // 101, or 400/405/426 saying what was wrong
      if (!handshake.ok) return t.end();
      ws = new Connection({ role: 'server' });
      chunk = parsed.rest; // frames sent right behind the head
    }
    pump(ws, t, chunk, onEvent);
  };
}

export function echoClient(t: Transport, messages: string[], log: (line: string) => void): Receive {
  const request = createClientRequest({ host: 'localhost:8000', path: '/echo' });
  const parser = new HeadParser('response');
  let ws: Connection | null = null;
  let echoes = 0;
  const onEvent = (event: Event) => {
    if (event.type === 'text') log(`client: echo ${decodeUtf8(event.data)}`);
    if (event.type === 'text' && ++echoes === messages.length) ws!.sendClose(1000, 'bye');
    if (event.type === 'close') log(`client: close ${event.code} clean=${event.wasClean}`);
  };
  const fail = (reason: string) => {
    log(`client: handshake failed: ${reason}`);
    t.end();
  };
  t.write([request.request]);
  return (chunk) => {
    if (ws === null) {
      if (chunk === null) return fail('the server ended the stream');
      const parsed = parser.feed(chunk);
      if (!parsed.done) return;
      if (!parsed.ok) return fail(parsed.reason);
      const checked = checkServerResponse(parsed.head, request);
      if (!checked.ok) return fail(checked.reason);
      ws = new Connection({ role: 'client' });
      for (const text of messages) ws.sendText(text); // written by pump() below
      chunk = parsed.rest;
    }
    pump(ws, t, chunk, onEvent);
  };
}

/** Both sides over an in-memory pipe. As on a socket, bytes arrive in order and later, never inside write(). */
export function runInMemory(messages: string[]): string[] {
  const log: string[] = [];
  const queue: (() => void)[] = [];
  const pipe = (name: string, to: () => Receive): Transport => {
    let ended = false;
    return {
      write: (chunks) => chunks.forEach((chunk) => queue.push(() => to()(chunk))),
      end: () => {
        if (ended) return; // like a socket's, end() may be called more than once
        ended = true;
        queue.push(() => {
          log.push(`${name}: end`);
          to()(null);
        });
      },
    };
  };
  const say = (line: string) => void log.push(line);
  const toClient = pipe('server', () => client);
  const toServer = pipe('client', () => server);
  const server = echoServer(toClient, say);
  const client = echoClient(toServer, messages, say);
  while (queue.length > 0) queue.shift()!();
  return log;
}
