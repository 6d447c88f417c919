// A `ws` echo server for the peer reports: `node ws-echo-server.mjs [--deflate]` listens on
// 127.0.0.1:$PORT with ws's default options (or permessage-deflate on) and echoes every message.
import { WebSocketServer } from 'ws';

const deflate = process.argv.includes('--deflate');
const server = new WebSocketServer({
  host: '127.0.0.1',
  port: Number(process.env.PORT),
  perMessageDeflate: deflate,
});
server.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
process.on('SIGTERM', () => {
  for (const ws of server.clients) ws.terminate();
  server.close(() => process.exit(0));
});
