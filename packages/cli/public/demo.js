// The demo page's whole client: the browser's own WebSocket, nothing else.
// Served by `rfc6455 serve --mode demo`, which sends every message to every open tab.
'use strict';

const $ = (id) => document.getElementById(id);
let ws = null;

// --- the log --------------------------------------------------------------

function log(kind, text) {
  const item = document.createElement('li');
  item.dataset.kind = kind; // 'sent', 'received' or 'event'
  const time = document.createElement('time');
  const now = new Date();
  time.dateTime = now.toISOString();
  time.textContent =
    now.toLocaleTimeString([], { hour12: false }) + '.' + String(now.getMilliseconds()).padStart(3, '0');
  const label = document.createElement('span');
  label.className = 'kind';
  label.textContent = { sent: '→ sent', received: '← received', event: '• event' }[kind];
  const body = document.createElement('span');
  body.className = 'text';
  body.textContent = text;
  item.append(time, label, body);
  $('log').append(item);
  item.scrollIntoView({ block: 'nearest' });
}

/** How a message looks in the log: text as it is, binary as hex. */
function describe(data) {
  if (typeof data === 'string') return data === '' ? '(empty text)' : data;
  const bytes = new Uint8Array(data);
  const hex = Array.from(bytes.slice(0, 32), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `[binary ${bytes.length} bytes] ${hex}${bytes.length > 32 ? ' …' : ''}`;
}

// --- the connection -------------------------------------------------------

function showState() {
  const state = ws === null ? 'CLOSED' : ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'][ws.readyState];
  $('state').textContent = state;
  $('state').dataset.state = state;
  const open = state === 'OPEN';
  for (const id of ['send', 'send-binary', 'close']) $(id).disabled = !open;
  $('connect').disabled = state === 'CONNECTING' || open;
}

function connect() {
  const url = $('url').value.trim();
  const protocol = $('protocol').value.trim();
  // The subprotocol is optional: the server picks one of those offered, or none.
  ws = protocol === '' ? new WebSocket(url) : new WebSocket(url, protocol);
  ws.binaryType = 'arraybuffer'; // binary messages arrive as ArrayBuffer, not Blob
  log('event', `connecting to ${url}`);
  showState();

  ws.onopen = () => {
    // Known only once the handshake is done: what the server agreed to.
    $('negotiated-protocol').textContent = ws.protocol || 'none';
    $('negotiated-extensions').textContent = ws.extensions || 'none';
    log('event', 'open');
    showState();
  };
  ws.onmessage = (event) => log('received', describe(event.data));
  ws.onerror = () => log('event', 'error (the close event says more)');
  ws.onclose = (event) => {
    const reason = event.reason === '' ? '' : `, reason "${event.reason}"`;
    log('event', `closed: code ${event.code}${reason}${event.wasClean ? '' : ', not clean'}`);
    showState();
  };
}

// --- the controls ---------------------------------------------------------

$('connect-form').addEventListener('submit', (event) => {
  event.preventDefault();
  connect();
});

$('send-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('message').value;
  ws.send(text);
  log('sent', describe(text));
  $('message').value = '';
  $('message').focus();
});

$('send-binary').addEventListener('click', () => {
  // The text's UTF-8 bytes, or four sample bytes when the box is empty.
  const text = $('message').value;
  const bytes = text === '' ? new Uint8Array([0xde, 0xad, 0xbe, 0xef]) : new TextEncoder().encode(text);
  ws.send(bytes.buffer);
  log('sent', describe(bytes.buffer));
  $('message').value = '';
});

$('close-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const code = Number($('close-code').value);
  const reason = $('close-reason').value;
  try {
    // Browsers allow 1000 and 3000-4999, and a reason of at most 123 UTF-8 bytes.
    ws.close(code, reason);
    log('event', `closing with code ${code}${reason === '' ? '' : `, reason "${reason}"`}`);
  } catch (error) {
    log('event', `cannot close: ${error.message}`);
  }
  showState();
});

// Same host and port as the page: the server speaks HTTP and WebSocket on one port.
$('url').value = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
showState();
connect();
