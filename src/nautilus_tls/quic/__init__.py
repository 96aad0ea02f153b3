"""TLS over QUIC (RFC 9001) on aioquic, with this library's handshake engine."""
