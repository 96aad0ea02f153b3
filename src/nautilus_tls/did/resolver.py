"""One entry point for the DID methods we support: ``did:key`` (the key is the DID, no I/O)
and ``did:web`` (a document fetched over HTTPS, see :mod:`.web`)."""

from __future__ import annotations

from nautilus_tls.did.document import VerificationMethod
from nautilus_tls.did.errors import InvalidDid
from nautilus_tls.did.key import multikey_from_spki, parse_did_key
from nautilus_tls.did.web import DidWebResolver, did_web_url

__all__ = ["DidResolver", "check_did"]


class DidResolver:
    """Maps a DID to the keys that may authenticate as it.

    ``web``: the did:web resolver to use (made on first need with its defaults: system
    roots, 5-minute cache). did:key needs none: its one key is the DID (did:key spec §"Read":
    the document lists that key under ``authentication``).
    """

    def __init__(self, web: DidWebResolver | None = None) -> None:
        self._web = web

    @property
    def web(self) -> DidWebResolver:
        if self._web is None:
            self._web = DidWebResolver()
        return self._web

    def authentication_keys(self, did: str) -> tuple[VerificationMethod, ...]:
        """The keys authorized for ``did``; InvalidDid, DidResolutionError or
        DidDocumentError (all :class:`~.errors.DidError`) when there are none."""
        if did.startswith("did:key:"):
            parsed = parse_did_key(did)
            fragment = multikey_from_spki(parsed.spki)
            return (
                VerificationMethod(
                    id=f"{parsed.did}#{fragment}", type="Multikey", spki=parsed.spki
                ),
            )
        if did.startswith("did:web:"):
            return self.web.authentication_keys(did)
        raise InvalidDid(f"unsupported DID method: {did[:100]!r} (did:key and did:web are)")


def check_did(did: str) -> str:
    """``did`` if it is a well-formed did:key or did:web (no network), else InvalidDid."""
    if did.startswith("did:key:"):
        parse_did_key(did)
    elif did.startswith("did:web:"):
        did_web_url(did)
    else:
        raise InvalidDid(f"unsupported DID {did[:100]!r}: did:key and did:web are supported")
    return did
