"""Key stretching functions: the memory-hard step that makes each password guess expensive.

Both PAKEs stretch the password before it reaches the group: SPAKE2+ (RFC 9383 §3.2) derives
w0 and w1 through a PBKDF, OPAQUE (RFC 9807 §4.3.1 "Stretch") hardens the OPRF output. The
function and its parameters are stored with the record, so the prover can rebuild the same
secrets at login and a record made today stays usable when the defaults change.

* ``argon2id``: libsodium's crypto_pwhash (through pysodium), RFC 9106; the default.
* ``scrypt``: pyca/cryptography's Scrypt, RFC 7914.
* ``identity``: no stretching. Only for the RFCs' test vectors, which use it; never the
  default, and :func:`ksf_from_record` refuses it unless asked to.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from nautilus_tls.errors import ConfigError

__all__ = ["Ksf", "ksf_from_record"]

_METHODS = ("argon2id", "scrypt", "identity")


@dataclass(frozen=True, slots=True)
class Ksf:
    """One key stretching function with its parameters.

    ``cost`` is argon2id's opslimit or scrypt's log2(N); ``memory`` is argon2id's memlimit in
    bytes or scrypt's r. The defaults are libsodium's "interactive" argon2id level
    (2 passes, 64 MiB), RFC 9807 §9's Argon2id recommendation for online logins.
    """

    method: str = "argon2id"
    cost: int = 2
    memory: int = 64 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.method not in _METHODS:
            raise ConfigError(f"unknown key stretching function {self.method!r}")
        if self.method == "scrypt" and not (10 <= self.cost <= 22 and 1 <= self.memory <= 32):
            raise ConfigError("scrypt needs 10 <= log2(N) <= 22 and 1 <= r <= 32")
        if self.method == "argon2id" and not (
            1 <= self.cost <= 10 and 8192 <= self.memory <= 1 << 31
        ):
            raise ConfigError("argon2id needs 1 <= opslimit <= 10 and 8 KiB <= memlimit <= 2 GiB")

    def stretch(self, data: bytes, salt: bytes, length: int) -> bytes:
        """``length`` bytes stretched from ``data`` (the identity KSF returns ``data``)."""
        if self.method == "identity":
            return data
        if self.method == "scrypt":
            from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

            return Scrypt(salt=salt, length=length, n=1 << self.cost, r=self.memory, p=1).derive(
                data
            )
        import pysodium  # type: ignore[import-untyped]  # a thin ctypes binding, no stubs

        # crypto_pwhash takes a 16-byte salt; a longer per-record salt is hashed down to it.
        salt16 = hashlib.blake2b(salt, digest_size=16).digest()
        out: bytes = pysodium.crypto_pwhash(
            length, data, salt16, self.cost, self.memory, pysodium.crypto_pwhash_ALG_ARGON2ID13
        )
        return out

    def to_record(self) -> str:
        return json.dumps({"method": self.method, "cost": self.cost, "memory": self.memory})


def ksf_from_record(text: str, *, allow_identity: bool = False) -> Ksf:
    """The KSF a stored record names; a record that does not parse is a configuration error."""
    try:
        fields = json.loads(text)
        ksf = Ksf(str(fields["method"]), int(fields["cost"]), int(fields["memory"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError("the stored key stretching parameters do not parse") from exc
    if ksf.method == "identity" and not allow_identity:
        raise ConfigError("a record without key stretching is refused (test vectors only)")
    return ksf
