// A message framed once for many connections (topics, broadcast). The server's frames are unmasked
// (RFC 6455 5.1), so the same header and payload bytes can go to every subscriber; only a compressed
// message that depends on a connection's own deflate context (context takeover) has to be built per
// connection. Connection.sendPrepared() picks which bytes a connection gets.

import { Opcode, encodeFrame } from './frames.js';
import { encodeUtf8 } from './text.js';

/**
 * Raw DEFLATE of a whole message with a fresh context and the given window (8..15), without the
 * trailing 00 00 ff ff (RFC 7692 7.2.1): the transport's compressor, injected (the codec has none).
 */
export type SharedDeflate = (data: Uint8Array, windowBits: number) => Uint8Array;

export interface PrepareMessageOptions {
  /** Send as binary (default: true unless `data` is a string). */
  binary?: boolean | undefined;
  /** Compress where permessage-deflate was negotiated (default true; the connection's threshold applies). */
  compress?: boolean | undefined;
  /**
   * Compresses once for every connection whose server_no_context_takeover was negotiated. Without it,
   * each such connection compresses the message with its own compressor.
   */
  deflate?: SharedDeflate | undefined;
}

/**
 * One message, framed once. Build it with `new PreparedMessage(data, options)` and hand it to
 * `Connection.sendPrepared()` of every connection that should get it. The frames are built on first
 * use and kept: the uncompressed ones once, the shared compressed ones once per window size.
 */
export class PreparedMessage {
  readonly binary: boolean;
  /** The payload (UTF-8 for text). */
  readonly data: Uint8Array;
  readonly compress: boolean;
  private readonly deflate: SharedDeflate | undefined;
  private plain: Uint8Array[] | null = null;
  /** Compressed with no context takeover, per window bits (8..15). */
  private readonly deflated: (Uint8Array[] | undefined)[] = [];
  /** How many times this message was compressed (the shared frames and per-connection ones). */
  compressions = 0;

  constructor(data: string | Uint8Array, options: PrepareMessageOptions = {}) {
    this.binary = options.binary ?? typeof data !== 'string';
    this.data = typeof data === 'string' ? encodeUtf8(data) : data;
    this.compress = options.compress ?? true;
    this.deflate = options.deflate;
  }

  get opcode(): number {
    return this.binary ? Opcode.Binary : Opcode.Text;
  }

  /** The uncompressed server frame: [header, payload] (just [header] when empty). Do not modify it. */
  frames(): readonly Uint8Array[] {
    return (this.plain ??= encodeFrame(this.opcode, this.data, true, false, null));
  }

  /**
   * The compressed server frame for connections that reset their context per message, null when no
   * shared compressor was given.
   */
  sharedDeflatedFrames(windowBits: number): readonly Uint8Array[] | null {
    const deflate = this.deflate;
    if (deflate === undefined) return null;
    let frames = this.deflated[windowBits];
    if (frames === undefined) {
      this.compressions++;
      // RFC 7692 6: RSV1 on the (only) frame marks the compressed message.
      frames = encodeFrame(this.opcode, deflate(this.data, windowBits), true, true, null);
      this.deflated[windowBits] = frames;
    }
    return frames;
  }
}
