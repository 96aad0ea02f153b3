"""Password-authenticated key exchange: SPAKE2+ (RFC 9383) and OPAQUE (RFC 9807).

The protocol state machines are sans-I/O and know nothing of TLS; :mod:`.store` keeps the
server's registration records and the failed-login counts.
"""
