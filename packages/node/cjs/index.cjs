'use strict';
// The CommonJS entry, shaped like ws's index.js: the WebSocket class itself, with the server and
// the other named exports attached, so `const WebSocket = require('@rfc6455/node')` works as with ws.
// The implementation is the ES module build, loaded through require(esm) (Node >= 20.19, >= 22.12),
// so CommonJS and ESM users share one WebSocket class (no dual-package copy; instanceof holds).
let esm;
try {
  esm = require('../dist/index.js');
} catch (err) {
  if (err && err.code === 'ERR_REQUIRE_ESM') {
    throw new Error(
      `require('@rfc6455/node') needs Node >= 20.19 or >= 22.12 (require of ES modules); ` +
        `this is Node ${process.versions.node}: upgrade Node, or load it with import('@rfc6455/node')`,
      { cause: err },
    );
  }
  throw err;
}

const WebSocket = esm.WebSocket;
for (const name of Object.keys(esm)) {
  if (name !== 'default' && name !== '__esModule') WebSocket[name] = esm[name];
}
WebSocket.Server = esm.WebSocketServer;
// TypeScript's `import WebSocket from` compiles to `require(…).default` without esModuleInterop.
// Not enumerable: Object.keys and esModuleInterop's `import * as` copy see only ws-style names.
Object.defineProperty(WebSocket, 'default', { value: WebSocket });

module.exports = WebSocket;
