'use strict';
// A TLS 1.3 echo server on Node's `tls` module (OpenSSL inside), for interop tests.
//
// Options (JSON object on argv[2] or in NAUTILUS_PEER_OPTS):
//   host ('127.0.0.1'), port (0 = ephemeral), cert, key, ca (PEM file paths),
//   groups ('X25519MLKEM768:X25519'), ciphersuites, sigalgs, alpn (['h2', ...]),
//   requestCert, rejectUnauthorized, minVersion/maxVersion ('TLSv1.3'),
//   keylog (append SSLKEYLOGFILE lines to this path),
//   exporterLabel ('EXPERIMENTAL-nautilus'), exporterContext (hex), exporterLength (32),
//   maxConnections (exit after this many handshakes), timeoutMs (exit after this long; 60000).
// Prints, one JSON object a line:
//   {"listening": PORT}                      once bound
//   {"event": "handshake", ...}               per connection (see common.js handshakeReport)
//   {"event": "received", "bytes": N}         per chunk echoed
//   {"event": "error", "where": ..., ...}     handshake failures (tlsClientError) and socket errors
//   {"event": "closed"}                       when a connection ends

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
lifetimeGuard(opts, 60000);

const serverOptions = tlsOptions(opts);
serverOptions.requestCert = Boolean(opts.requestCert);
serverOptions.rejectUnauthorized = Boolean(opts.rejectUnauthorized);

let handshakes = 0;
const server = tls.createServer(serverOptions, (socket) => {
  handshakes += 1;
  emit(handshakeReport(socket, opts));
  socket.on('data', (data) => {
    emit({ event: 'received', bytes: data.length });
    socket.write(data);
  });
  socket.on('end', () => socket.end());
  socket.on('error', (err) => emit(errorReport('socket', err)));
  socket.on('close', () => {
    emit({ event: 'closed' });
    if (opts.maxConnections && handshakes >= opts.maxConnections) {
      server.close(() => process.exit(0));
    }
  });
});

attachKeylog(server, opts);
server.on('tlsClientError', (err) => emit(errorReport('tlsClientError', err)));
server.on('error', (err) => {
  emit(errorReport('server', err));
  process.exit(2);
});
process.on('SIGTERM', () => process.exit(0));

server.listen(opts.port || 0, opts.host || '127.0.0.1', () => {
  emit({ listening: server.address().port });
});
