// The browser-style face (WHATWG WebSockets): onopen/onmessage/onerror/onclose and
// addEventListener/removeEventListener, installed on a WebSocket class's prototype. Each
// browser-style listener is one EventEmitter listener wrapping it, so both faces see the same events
// in the same order; the wrapper builds the DOM-like event object (events.ts).
import type { EventEmitter } from 'node:events';
import { WsCloseEvent, WsErrorEvent, WsEvent, WsMessageEvent, callListener } from './events.js';
import type { EventListenerLike, WebSocketEventName } from './events.js';

const EVENT_NAMES: readonly WebSocketEventName[] = ['open', 'message', 'error', 'close'];

/** An EventEmitter listener that stands for a browser-style one. */
interface Wrapper {
  (...args: unknown[]): void;
  // Not `listener`: EventEmitter.listeners() would return that property instead of the wrapper.
  wrapped: EventListenerLike<never>;
  /** Set by onX: there is at most one of those per event, and add/removeEventListener skip it. */
  onProperty: boolean;
}

const wrappers = new WeakMap<(...args: unknown[]) => void, Wrapper>();

function wrapperOf(fn: (...args: unknown[]) => void): Wrapper | undefined {
  return wrappers.get(fn);
}

/** The EventEmitter listener that delivers `type` to `listener` as a DOM-like event. */
function wrap(
  target: EventEmitter,
  type: WebSocketEventName,
  listener: EventListenerLike<never>,
  onProperty: boolean,
  wasClean: (target: EventEmitter) => boolean,
): Wrapper {
  const deliver = listener as EventListenerLike<unknown>;
  let fn: (...args: unknown[]) => void;
  switch (type) {
    case 'open':
      fn = () => callListener(deliver, target, new WsEvent('open', target));
      break;
    case 'message':
      // Text arrives as a Buffer of UTF-8 and is delivered as a string; binary as binaryType says.
      fn = (data: unknown, isBinary: unknown) =>
        callListener(deliver, target, new WsMessageEvent(target, isBinary === true ? data : String(data)));
      break;
    case 'error':
      fn = (err: unknown) =>
        callListener(
          deliver,
          target,
          new WsErrorEvent(target, err instanceof Error ? err : new Error(String(err))),
        );
      break;
    case 'close':
      // The reason arrives as a Buffer of UTF-8.
      fn = (code: unknown, reason: unknown) =>
        callListener(
          deliver,
          target,
          new WsCloseEvent(target, Number(code), String(reason), wasClean(target)),
        );
      break;
    default: {
      const never: never = type;
      throw new TypeError(`unknown event ${String(never)}`);
    }
  }
  const wrapper = Object.assign(fn, { wrapped: listener, onProperty });
  wrappers.set(fn, wrapper);
  return wrapper;
}

/**
 * Adds the browser-style face to `proto` (a class extending EventEmitter). `wasClean` tells a close
 * event's wasClean for a socket. The accessors are enumerable, as WebIDL (and ws) define them.
 */
export function installBrowserFace(proto: EventEmitter, wasClean: (target: EventEmitter) => boolean): void {
  for (const type of EVENT_NAMES) {
    Object.defineProperty(proto, `on${type}`, {
      enumerable: true,
      configurable: true,
      get(this: EventEmitter): unknown {
        for (const l of this.listeners(type)) {
          const w = wrapperOf(l as (...args: unknown[]) => void);
          if (w?.onProperty) return w.wrapped;
        }
        return null;
      },
      set(this: EventEmitter, fn: unknown): void {
        for (const l of this.listeners(type)) {
          if (wrapperOf(l as (...args: unknown[]) => void)?.onProperty)
            this.removeListener(type, l as () => void);
        }
        if (typeof fn !== 'function') return;
        this.on(type, wrap(this, type, fn as EventListenerLike<never>, true, wasClean));
      },
    });
  }
  Object.defineProperty(proto, 'addEventListener', {
    configurable: true,
    writable: true,
    /** Browser-style listener; `{ once: true }` removes it after the first call. */
    value(
      this: EventEmitter,
      type: string,
      listener: EventListenerLike<never>,
      options: { once?: boolean } = {},
    ) {
      if (!EVENT_NAMES.includes(type as WebSocketEventName)) return;
      const name = type as WebSocketEventName;
      // Like the DOM: adding the same listener twice is a no-op.
      for (const l of this.listeners(name)) {
        const w = wrapperOf(l as (...args: unknown[]) => void);
        if (w !== undefined && w.wrapped === listener && !w.onProperty) return;
      }
      const wrapper = wrap(this, name, listener, false, wasClean);
      if (options.once) this.once(name, wrapper);
      else this.on(name, wrapper);
    },
  });
  Object.defineProperty(proto, 'removeEventListener', {
    configurable: true,
    writable: true,
    value(this: EventEmitter, type: string, listener: EventListenerLike<never>) {
      for (const l of this.listeners(type)) {
        const w = wrapperOf(l as (...args: unknown[]) => void);
        if (w !== undefined && w.wrapped === listener && !w.onProperty) {
          this.removeListener(type, l as () => void);
          return;
        }
      }
    },
  });
}
