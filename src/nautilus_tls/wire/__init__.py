"""The TLS 1.3 wire format, codec only: code points (``enums``), the presentation-language
reader and writer (``buffer``), handshake messages and their reassembly (``messages``), and
typed extension bodies with the RFC 8446 §4.2 placement table (``extensions``).

Nothing here keeps state across messages or knows about keys; the handshake and record layers
build on it.
"""
