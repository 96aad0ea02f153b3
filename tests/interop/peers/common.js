'use strict';
// Shared by node_tls_server.js and node_tls_client.js: options, TLS context, one report line.
//
// Options come as one JSON object: argv[2], or else the NAUTILUS_PEER_OPTS environment variable.
// Everything a script prints on stdout is one JSON object per line.

const fs = require('fs');

const EXPORTER_LABEL = 'EXPERIMENTAL-nautilus';

function readOptions() {
  const raw = process.argv[2] || process.env.NAUTILUS_PEER_OPTS || '{}';
  const opts = JSON.parse(raw);
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new Error('options must be a JSON object');
  }
  return opts;
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function readIfSet(path) {
  return path ? fs.readFileSync(path) : undefined;
}

// TLS options shared by both sides. TLS 1.3 only unless the caller says otherwise.
function tlsOptions(opts) {
  const out = {
    minVersion: opts.minVersion || 'TLSv1.3',
    maxVersion: opts.maxVersion || 'TLSv1.3',
  };
  if (opts.cert) out.cert = readIfSet(opts.cert);
  if (opts.key) out.key = readIfSet(opts.key);
  if (opts.ca) out.ca = readIfSet(opts.ca);
  // Groups in preference order, colon-separated OpenSSL names, e.g. 'X25519MLKEM768:X25519'.
  if (opts.groups) out.ecdhCurve = opts.groups;
  // Node takes TLS 1.3 suites ('TLS_AES_128_GCM_SHA256:...') in `ciphers`; there is no
  // separate ciphersuites option.
  if (opts.ciphersuites) out.ciphers = opts.ciphersuites;
  if (opts.sigalgs) out.sigalgs = opts.sigalgs;
  if (opts.alpn) out.ALPNProtocols = opts.alpn;
  return out;
}

// One JSON line describing a finished handshake on `socket`.
function handshakeReport(socket, opts) {
  const length = opts.exporterLength || 32;
  const label = opts.exporterLabel || EXPORTER_LABEL;
  const context =
    opts.exporterContext === undefined || opts.exporterContext === null
      ? undefined
      : Buffer.from(opts.exporterContext, 'hex');
  let exporter = null;
  let exporterError = null;
  try {
    exporter = socket.exportKeyingMaterial(length, label, context).toString('hex');
  } catch (err) {
    exporterError = String(err && err.message);
  }
  const peer = socket.getPeerCertificate();
  const hasPeer = peer && Object.keys(peer).length > 0;
  return {
    event: 'handshake',
    protocol: socket.getProtocol(),
    cipher: socket.getCipher(),
    // Node documents this for client sockets; on a server socket it may be null or empty.
    ephemeralKey: socket.getEphemeralKeyInfo ? socket.getEphemeralKeyInfo() : null,
    alpnProtocol: socket.alpnProtocol || null,
    authorized: socket.authorized,
    authorizationError: socket.authorizationError ? String(socket.authorizationError) : null,
    peerSubject: hasPeer ? peer.subject : null,
    peerSubjectAltName: hasPeer ? peer.subjectaltname || null : null,
    servername: socket.servername || null,
    sharedSigalgs: safely(() => socket.getSharedSigalgs()),
    sessionReused: socket.isSessionReused(),
    exporterLabel: label,
    exporter,
    exporterError,
  };
}

function safely(fn) {
  try {
    return fn();
  } catch (err) {
    return null;
  }
}

// Append NSS key log lines (SSLKEYLOGFILE format) for tshark when opts.keylog names a file.
function attachKeylog(emitter, opts) {
  if (!opts.keylog) return;
  emitter.on('keylog', (line) => fs.appendFileSync(opts.keylog, line));
}

function errorReport(where, err) {
  return {
    event: 'error',
    where,
    code: (err && err.code) || null,
    message: String((err && err.message) || err),
  };
}

// Exit on our own after `timeoutMs`, so a test that forgets to stop us cannot leak a process.
function lifetimeGuard(opts, defaultMs) {
  const ms = opts.timeoutMs || defaultMs;
  const timer = setTimeout(() => {
    emit({ event: 'timeout', afterMs: ms });
    process.exit(3);
  }, ms);
  timer.unref();
}

module.exports = {
  attachKeylog,
  emit,
  errorReport,
  handshakeReport,
  lifetimeGuard,
  readOptions,
  tlsOptions,
};
