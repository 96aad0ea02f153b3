"""Certificate and key files named on the command line: ``--cert F --key F`` pairs (several
for ``serve``, which picks one per connection by SNI and by the client's signature
algorithms), with errors that name the option and the file."""

from __future__ import annotations

from collections.abc import Sequence

from nautilus_tls.config import CertifiedKey
from nautilus_tls.errors import ConfigError

__all__ = ["load_pair", "load_pairs"]


def load_pair(cert: str, key: str) -> CertifiedKey:
    """``--cert cert --key key`` as a CertifiedKey; ConfigError naming the option and file."""
    return CertifiedKey.from_files(cert, key, labels=("--cert", "--key"))


def load_pairs(certs: Sequence[str] | None, keys: Sequence[str] | None) -> tuple[CertifiedKey, ...]:
    """Every ``--cert``/``--key`` pair, in order (the first is the default certificate)."""
    cert_list, key_list = list(certs or ()), list(keys or ())
    if len(cert_list) != len(key_list):
        raise ConfigError(
            f"--cert and --key go in pairs: {len(cert_list)} --cert, {len(key_list)} --key"
        )
    return tuple(load_pair(c, k) for c, k in zip(cert_list, key_list, strict=True))
