'use strict';
// An HTTPS server on Node's `http2` module (HTTP/2 and, with allowHTTP1, HTTP/1.1 over ALPN),
// for the httpx integration tests. OpenSSL inside Node does the TLS.
//
// Options (JSON object on argv[2]): host, port (0), cert, key, groups, alpn (['h2',
// 'http/1.1']), timeoutMs (60000). Every request is answered with a JSON body:
//   {"httpVersion": "2.0", "alpn": "h2", "path": "/x", "sessionReused": false,
//    "protocol": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384"}
// Prints {"listening": PORT} once bound and {"event": "request", ...} per request.

const http2 = require('http2');
const { emit, errorReport, lifetimeGuard, readOptions, tlsOptions } = require('./common');

const opts = readOptions();
lifetimeGuard(opts, 60000);

const serverOptions = tlsOptions(opts);
serverOptions.allowHTTP1 = true;
serverOptions.ALPNProtocols = opts.alpn || ['h2', 'http/1.1'];

const server = http2.createSecureServer(serverOptions, (req, res) => {
  const socket = req.socket;
  const report = {
    httpVersion: req.httpVersion,
    alpn: socket.alpnProtocol || null,
    path: req.url,
    sessionReused: socket.isSessionReused ? socket.isSessionReused() : null,
    protocol: socket.getProtocol ? socket.getProtocol() : null,
    cipher: socket.getCipher ? socket.getCipher().standardName : null,
  };
  emit({ event: 'request', ...report });
  const body = JSON.stringify(report);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});

server.on('tlsClientError', (err) => emit(errorReport('tlsClientError', err)));
server.on('error', (err) => {
  emit(errorReport('server', err));
  process.exit(2);
});
process.on('SIGTERM', () => process.exit(0));
server.listen(opts.port || 0, opts.host || '127.0.0.1', () => {
  emit({ listening: server.address().port });
});
