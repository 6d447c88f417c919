import * as ws from 'ws';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { connect } from './dist/index.js';
const wss = new ws.WebSocketServer({ port: 0, host: '127.0.0.1' });
await new Promise((r) => wss.once('listening', r));
wss.on('connection', (peer) => peer.on('message', (d, b) => peer.send(d, { binary: b })));
const port = wss.address().port;
console.log('listening', port);
const socket = await new Promise((r) => {
  const s = net.connect(port, '127.0.0.1', () => r(s));
});
console.log('tcp connected');
const s = await connect(Duplex.toWeb(socket), `ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
console.log('ws open', s.readyState);
s.onmessage = (e) => console.log('message', e.data);
s.send('hello');
setTimeout(() => {
  s.close();
}, 500);
s.onclose = (e) => {
  console.log('close', e.code, e.wasClean);
  wss.close();
};
