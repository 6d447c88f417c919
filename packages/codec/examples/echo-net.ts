import net from 'node:net';
import { echoServer } from './echo.js';

// The example's echo server on a TCP port: $PORT, or any free one (printed).
const server = net.createServer((socket) => {
  socket.setNoDelay(true); // a frame is written in pieces: with Nagle on, each reply would wait ~40 ms
  const receive = echoServer(
    { write: (chunks) => chunks.forEach((chunk) => socket.write(chunk)), end: () => socket.end() },
    (line) => console.log(line),
  );
  socket.on('data', receive); // each chunk is a new Buffer: receive() may unmask it in place
  socket.on('end', () => receive(null));
  socket.on('error', (error) => console.log(`socket: ${error.message}`)); // a reset peer must not crash us
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`LISTENING ${(server.address() as net.AddressInfo).port}`);
});
