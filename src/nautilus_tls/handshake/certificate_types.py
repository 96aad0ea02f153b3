"""RFC 7250 certificate type negotiation, for both sides of the handshake.

Two extensions, each in the ClientHello (a preference list) and EncryptedExtensions (the one
type chosen), RFC 7250 §4.1-4.2 as RFC 8446 §4.2 places them:

* ``server_certificate_type``: which type the server's Certificate holds. The client offers
  it when it accepts anything but X.509 (``ClientConfig.server_certificate_types``); the
  server picks the client's first type that it has (``ServerConfig.raw_public_key``,
  ``certificates``) and answers it, or refuses with unsupported_certificate.
* ``client_certificate_type``: which type the client's Certificate holds. The client offers
  its credential's type when that is a raw key; a server that will ask for a certificate
  answers with the client's first type it accepts (``ServerConfig.client_certificate_types``)
  or leaves the extension out, which means X.509 (and the client then has nothing to send).

An extension left out means X.509 (RFC 7250 §4.2). The Certificate message must then hold
what was negotiated: one entry with a SubjectPublicKeyInfo for a raw key (RFC 7250 §3), and
certificates for X.509 (:func:`check_certificate_entries`, bad_certificate otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence

from nautilus_tls.auth.raw_key import is_raw_public_key
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.errors import AlertDescription, BadCertificate, PeerIncompatible
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.certificate_type import (
    RAW_PUBLIC_KEY,
    X509,
    decode_certificate_type_list,
    decode_chosen_certificate_type,
    encode_certificate_type_list,
    encode_chosen_certificate_type,
    select_certificate_type,
)
from nautilus_tls.wire.enums import ExtensionType
from nautilus_tls.wire.messages import Extension

__all__ = [
    "RAW_PUBLIC_KEY",
    "X509",
    "check_certificate_entries",
    "check_client_type",
    "client_hello_extensions",
    "client_type_for_server",
    "encrypted_extensions",
    "type_name",
    "types_chosen_by_server",
]

_SERVER = ExtensionType.server_certificate_type
_CLIENT = ExtensionType.client_certificate_type


def type_name(cert_type: int) -> str:
    """How SessionInfo names a certificate type."""
    return "raw_public_key" if cert_type == RAW_PUBLIC_KEY else "x509"


def _client_credential_type(cfg: ClientConfig) -> int:
    credential = cfg.client_certificate
    return int(credential.certificate_type) if credential is not None else X509


# --- client ------------------------------------------------------------------------------------


def client_hello_extensions(cfg: ClientConfig) -> list[Extension]:
    """What the ClientHello offers: only when something other than X.509 is on the table."""
    out = []
    if tuple(cfg.server_certificate_types) != (X509,):
        out.append(
            Extension(
                ext_type=_SERVER, data=encode_certificate_type_list(cfg.server_certificate_types)
            )
        )
    if _client_credential_type(cfg) != X509:
        out.append(
            Extension(
                ext_type=_CLIENT,
                data=encode_certificate_type_list((_client_credential_type(cfg),)),
            )
        )
    return out


def types_chosen_by_server(
    cfg: ClientConfig, ee_extensions: Sequence[Extension]
) -> tuple[int, int]:
    """``(server type, client type)`` from the server's EncryptedExtensions. A chosen type
    must be one we offered (illegal_parameter); no answer means X.509, which a client that
    accepts only raw keys refuses with unsupported_certificate."""
    data = ext.get_extension(ee_extensions, _SERVER)
    if data is not None:
        server_type = decode_chosen_certificate_type(data, cfg.server_certificate_types)
    elif X509 in cfg.server_certificate_types:
        server_type = X509
    else:
        raise PeerIncompatible(
            "the server did not agree to send a raw public key (RFC 7250 §4.2)",
            alert=AlertDescription.unsupported_certificate,
        )
    data = ext.get_extension(ee_extensions, _CLIENT)
    client_type = (
        decode_chosen_certificate_type(data, (_client_credential_type(cfg),))
        if data is not None
        else X509
    )
    return server_type, client_type


# --- server ------------------------------------------------------------------------------------


def _offered(ch_extensions: Sequence[Extension], ext_type: int) -> tuple[int, ...] | None:
    data = ext.get_extension(ch_extensions, ext_type)
    return decode_certificate_type_list(data) if data is not None else None


def client_type_for_server(cfg: ServerConfig, ch_extensions: Sequence[Extension]) -> int:
    """The type our Certificate will hold: the client's first offered type that we have;
    unsupported_certificate when there is none (RFC 7250 §4.2)."""
    ours = ((RAW_PUBLIC_KEY,) if cfg.raw_public_key is not None else ()) + (
        (X509,) if cfg.certificates else ()
    )
    offered = _offered(ch_extensions, _SERVER)
    chosen = select_certificate_type(offered, ours)
    if chosen is None:
        raise PeerIncompatible(
            f"no server certificate type in common: the client accepts {list(offered or (X509,))}"
            f", we have {list(ours)}",
            alert=AlertDescription.unsupported_certificate,
        )
    return chosen


def check_client_type(cfg: ServerConfig, client_type: int, chain: Sequence[bytes]) -> None:
    """A client certificate of a type we do not accept (X.509 where we take only raw keys,
    which is what an absent client_certificate_type means) is unsupported_certificate."""
    if chain and client_type not in cfg.client_certificate_types:
        raise BadCertificate(
            f"client sent a {type_name(client_type)} certificate; we accept "
            f"{', '.join(type_name(t) for t in cfg.client_certificate_types)}",
            alert=AlertDescription.unsupported_certificate,
        )


def encrypted_extensions(
    cfg: ServerConfig, ch_extensions: Sequence[Extension], server_type: int, *, asks_client: bool
) -> tuple[list[Extension], int]:
    """Our EncryptedExtensions answers, and the type the client's Certificate must hold.

    ``server_certificate_type`` is answered whenever the client offered it (RFC 7250 §4.2);
    ``client_certificate_type`` only when we will send a CertificateRequest and have a type
    in common (otherwise X.509 applies)."""
    out = []
    if ext.get_extension(ch_extensions, _SERVER) is not None:
        out.append(Extension(ext_type=_SERVER, data=encode_chosen_certificate_type(server_type)))
    client_type = X509
    offered = _offered(ch_extensions, _CLIENT)
    if asks_client and offered is not None:
        chosen = select_certificate_type(offered, cfg.client_certificate_types)
        if chosen is not None:
            client_type = chosen
            out.append(Extension(ext_type=_CLIENT, data=encode_chosen_certificate_type(chosen)))
    return out, client_type


# --- both --------------------------------------------------------------------------------------


def check_certificate_entries(chain: Sequence[bytes], cert_type: int) -> None:
    """The Certificate holds the negotiated type: one SubjectPublicKeyInfo (RFC 7250 §3), or
    certificates for X.509 (never a bare key)."""
    if cert_type == RAW_PUBLIC_KEY:
        if len(chain) != 1 or not is_raw_public_key(chain[0]):
            raise BadCertificate(
                "a raw public key Certificate holds exactly one SubjectPublicKeyInfo (RFC 7250 §3)"
            )
    elif chain and is_raw_public_key(chain[0]):
        raise BadCertificate("a raw public key where an X.509 certificate was negotiated")
