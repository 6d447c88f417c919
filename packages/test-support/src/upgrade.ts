// The opening handshake request of RFC 6455 4.1, by hand, for tests that talk to a server over a
// raw socket or feed the codec's parser.

/** The sample nonce of RFC 6455 1.3 (its accept value is s3pPLMBiTxaQ9kYGzzhZRbK+xOo=). */
export const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** An upgrade request; `extra` is more header lines, each ending in \r\n. */
export function upgradeRequest(path = '/', extra = '', host = '127.0.0.1'): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`
  );
}
