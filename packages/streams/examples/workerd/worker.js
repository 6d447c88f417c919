// An echo server on Cloudflare's workerd: inbound raw TCP (a `tcp = ()` socket, workerd --experimental)
// reaches the connect() handler as a Socket whose readable and writable go to accept().
import { accept } from '@rfc6455/streams';

export default {
  async connect(socket) {
    // Autobahn section 9 sends messages of up to 16 MiB: a 64 MiB limit stays clear of it.
    const ws = await accept(socket, { perMessageDeflate: true, maxPayload: 64 * 1024 * 1024 });
    ws.binaryType = 'arraybuffer';
    ws.onmessage = (event) => ws.send(event.data);
    // Keep the handler (and so the connection) alive until the WebSocket is closed.
    await new Promise((resolve) => ws.addEventListener('close', resolve));
  },
};
