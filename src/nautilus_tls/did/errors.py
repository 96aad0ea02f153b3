"""What goes wrong with a DID, as exceptions a caller can tell apart.

::

    DidError (ValueError)
    ├── InvalidDid              the text is not a DID we can use (syntax, key type, encoding)
    ├── DidResolutionError      the DID document could not be fetched (network, HTTP, TLS, limits)
    └── DidDocumentError        the document was fetched but does not authorize a usable key

Messages name the DID and the reason, never key material beyond the public DID itself.
"""

from __future__ import annotations

__all__ = ["DidDocumentError", "DidError", "DidResolutionError", "InvalidDid"]


class DidError(ValueError):
    """A DID that cannot be used to authenticate a peer."""


class InvalidDid(DidError):
    """Not a well-formed DID of a method and key type we support."""


class DidResolutionError(DidError):
    """The DID document could not be retrieved (unreachable host, HTTP error, TLS failure,
    time or size limit)."""


class DidDocumentError(DidError):
    """The DID document is malformed, names another DID, or lists no usable key under
    ``authentication``."""
