// The browser-style face (WHATWG WebSockets): event objects and addEventListener/onX on top of the
// EventEmitter that the ws-style face uses. Every browser-style listener is an EventEmitter listener
// wrapped once, so both faces see the same events in the same order.

/** The event names both faces share. */
export type WebSocketEventName = 'open' | 'message' | 'error' | 'close';

/** Like the DOM's Event: `type` and `target`. */
export class WsEvent<T = unknown> {
  readonly type: string;
  readonly target: T;
  constructor(type: string, target: T) {
    this.type = type;
    this.target = target;
  }
}

/** Like the DOM's MessageEvent: `data` is a string for text, per `binaryType` for binary. */
export class WsMessageEvent<T = unknown, D = unknown> extends WsEvent<T> {
  readonly data: D;
  constructor(target: T, data: D) {
    super('message', target);
    this.data = data;
  }
}

/** Like the DOM's CloseEvent. */
export class WsCloseEvent<T = unknown> extends WsEvent<T> {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  constructor(target: T, code: number, reason: string, wasClean: boolean) {
    super('close', target);
    this.code = code;
    this.reason = reason;
    this.wasClean = wasClean;
  }
}

/** Like the DOM's ErrorEvent: `error` and its `message`. */
export class WsErrorEvent<T = unknown> extends WsEvent<T> {
  readonly error: Error;
  readonly message: string;
  constructor(target: T, error: Error) {
    super('error', target);
    this.error = error;
    this.message = error.message;
  }
}

export type EventListenerLike<E> = ((event: E) => void) | { handleEvent(event: E): void };

export function callListener<E>(listener: EventListenerLike<E>, thisArg: unknown, event: E): void {
  if (typeof listener === 'function') listener.call(thisArg, event);
  else listener.handleEvent(event);
}
