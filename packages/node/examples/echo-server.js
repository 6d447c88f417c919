import { WebSocketServer } from '@rfc6455/node';

const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.env.PORT ?? 8080) });
wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
wss.on('listening', () => console.log(`listening on ws://127.0.0.1:${wss.address().port}`));
