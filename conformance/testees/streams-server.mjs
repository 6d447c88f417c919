// The @rfc6455/streams testee for `wstest -m fuzzingclient`, on Node or Deno: echoes every message.
// Listens on 127.0.0.1:$PORT (0 when unset) and prints "LISTENING <port>".
// node conformance/testees/streams-server.mjs | deno run -A --node-modules-dir=manual conformance/testees/streams-server.mjs
import { accept } from '@rfc6455/streams';
import { MAX_PAYLOAD, deflateOptions, echo, env, listen } from './streams-common.mjs';

const options = { perMessageDeflate: deflateOptions(), maxPayload: MAX_PAYLOAD };

await listen(Number(env('PORT') ?? 0), (stream) => {
  accept(stream, options).then(echo, () => {
    // A refused handshake was answered with its HTTP error; nothing else to do.
  });
});
