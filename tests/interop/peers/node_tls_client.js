'use strict';
// A TLS 1.3 client on Node's `tls` module (OpenSSL inside), for interop tests: connects,
// reports the handshake, sends one message, prints the reply and exits.
//
// Options (JSON object on argv[2] or in NAUTILUS_PEER_OPTS):
//   host ('127.0.0.1'), port (required), servername ('localhost'; '' sends no SNI),
//   ca, cert, key (PEM file paths; cert/key for client authentication),
//   groups ('X25519MLKEM768'), ciphersuites, sigalgs, alpn, rejectUnauthorized (true),
//   minVersion/maxVersion ('TLSv1.3'), message ('hello from node'),
//   messages (a list: sent one after another, each once the previous one came back whole;
//   replaces message),
//   keylog (append SSLKEYLOGFILE lines to this path),
//   exporterLabel, exporterContext (hex), exporterLength, timeoutMs (exit after this long; 20000).
// Prints, one JSON object a line:
//   {"event": "handshake", ...}                        (see common.js handshakeReport)
//   {"event": "reply", "index": i, "data": "...", "hex": "..."}   what came back for message i
//   {"event": "error", ...}                            then exits 1
// Exit status: 0 after a full reply, 1 on an error, 3 on timeout, 4 when the peer closed early.

const tls = require('tls');
const {
  attachKeylog,
  emit,
  errorReport,
  handshakeReport,
  lifetimeGuard,
  readOptions,
  tlsOptions,
} = require('./common');

const opts = readOptions();
lifetimeGuard(opts, 20000);
if (!opts.port) {
  emit(errorReport('options', new Error('port is required')));
  process.exit(1);
}

const messages = (
  Array.isArray(opts.messages)
    ? opts.messages
    : [opts.message === undefined ? 'hello from node' : opts.message]
).map((text) => Buffer.from(String(text), 'utf8'));
const connectOptions = tlsOptions(opts);
connectOptions.host = opts.host || '127.0.0.1';
connectOptions.port = opts.port;
connectOptions.rejectUnauthorized = opts.rejectUnauthorized !== false;
const servername = opts.servername === undefined ? 'localhost' : opts.servername;
if (servername) connectOptions.servername = servername;

let chunks = [];
let received = 0;
let current = 0; // index of the message whose echo we are waiting for
let done = false;

function finish(code) {
  if (done) return;
  done = true;
  process.exitCode = code;
  socket.end();
  socket.destroySoon ? socket.destroySoon() : socket.destroy();
}

const socket = tls.connect(connectOptions, () => {
  emit(handshakeReport(socket, opts));
  socket.write(messages[0]);
});

attachKeylog(socket, opts);
socket.on('data', (data) => {
  chunks.push(data);
  received += data.length;
  while (!done && received >= messages[current].length) {
    const all = Buffer.concat(chunks);
    const reply = all.subarray(0, messages[current].length);
    const rest = all.subarray(messages[current].length);
    emit({ event: 'reply', index: current, data: reply.toString('utf8'), hex: reply.toString('hex') });
    chunks = rest.length ? [rest] : [];
    received = rest.length;
    current += 1;
    if (current >= messages.length) {
      finish(0);
    } else {
      socket.write(messages[current]);
    }
  }
});
socket.on('error', (err) => {
  emit(errorReport('client', err));
  done = true;
  process.exit(1);
});
socket.on('end', () => {
  if (!done) {
    emit({ event: 'closed', received });
    finish(4);
  }
});
