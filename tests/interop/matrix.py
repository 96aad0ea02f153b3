"""The interoperability matrix: cases, outcomes, and the environment the peers run in.

One module per peer (``peer_node.py``, ``peer_openssl.py``...) defines a :class:`Peer`: which
cases it has (peer x our role x group x suite x authentication x feature) and how to run one.
The same cases run two ways:

* under pytest (``tests/interop/test_peer_*.py``, marker ``interop``), one test per case;
* from ``python -m tools.interop``, in parallel, printed as a table and written as JSON and
  Markdown (``docs/interop/latest.{json,md}``).

A case ends as one of :class:`Status`. ``unsupported`` is decided before running, from what
the peer cannot do (with the reason); ``skipped`` means the peer is not installed here (with
the reason and the fix); a ``fail`` always carries the reason. Known bugs of Nautilus TLS are
``xfail`` cases: they must fail (a pass is reported as ``xpass`` and counts as a failure).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from certificates import CLIENT_NAME, write_pem_files

Role = Literal["client", "server"]

# Our names for everything (IANA spellings, as SessionInfo reports them).
GROUPS: tuple[str, ...] = (
    "X25519MLKEM768",
    "SecP256r1MLKEM768",
    "SecP384r1MLKEM1024",
    "MLKEM768",
    "MLKEM1024",
    "x25519",
    "secp256r1",
    "secp384r1",
)
PQ_GROUPS: tuple[str, ...] = GROUPS[:5]
CLASSICAL_GROUPS: tuple[str, ...] = GROUPS[5:]
SUITES: tuple[str, ...] = (
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
)
# Certificate key algorithms: certgen's, plus "rsa-pss" (an RSASSA-PSS key, made by openssl).
CERT_ALGS: tuple[str, ...] = (
    "mldsa44",
    "mldsa65",
    "mldsa87",
    "ed25519",
    "ecdsa-p256",
    "ecdsa-p384",
    "rsa2048",
    "rsa-pss",
)
MLDSA_ALGS: tuple[str, ...] = CERT_ALGS[:3]
# The CertificateVerify scheme each algorithm signs with when nothing forces another.
NATURAL_SCHEME: dict[str, str] = {
    "mldsa44": "mldsa44",
    "mldsa65": "mldsa65",
    "mldsa87": "mldsa87",
    "ed25519": "ed25519",
    "ecdsa-p256": "ecdsa_secp256r1_sha256",
    "ecdsa-p384": "ecdsa_secp384r1_sha384",
    "rsa2048": "rsa_pss_rsae_sha256",
    "rsa-pss": "rsa_pss_pss_sha256",
}
# Every scheme Nautilus offers by default; each peer that supports one covers it at least once.
SCHEMES: tuple[str, ...] = (
    "mldsa44",
    "mldsa65",
    "mldsa87",
    "ed25519",
    "ecdsa_secp256r1_sha256",
    "ecdsa_secp384r1_sha384",
    "rsa_pss_rsae_sha256",
    "rsa_pss_rsae_sha384",
    "rsa_pss_rsae_sha512",
    "rsa_pss_pss_sha256",
)
EXPORTER_LABEL = "EXPERIMENTAL-nautilus"
CLIENT_CN = CLIENT_NAME
CASE_TIMEOUT = 60.0
"""Seconds one case may take, whatever it waits for (each wait inside is bounded too)."""


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNSUPPORTED = "unsupported"  # by the peer: decided before running, with the reason
    SKIPPED = "skipped"  # the peer is not installed here: the reason says why and how to fix
    XFAIL = "xfail"  # a known bug of ours, failing as recorded
    XPASS = "xpass"  # a known bug that no longer fails: update the case (counts as a failure)


@dataclass(frozen=True)
class Case:
    """One cell of the matrix. ``role`` is *our* role; the peer plays the other one."""

    peer: str
    role: Role
    group: str
    suite: str
    cert: str  # the server certificate's key algorithm (see CERT_ALGS)
    scheme: str  # the server's CertificateVerify scheme that must be negotiated
    feature: str = "handshake"
    client_cert: str | None = None  # mutual TLS: the client certificate's key algorithm
    unsupported: str | None = None  # why the peer cannot do this (the case is not run)
    xfail: str | None = None  # a known bug of ours (file, symptom): the case must fail
    note: str = ""  # what else the case does or checks, for the table

    @property
    def auth(self) -> str:
        text = (
            self.cert
            if self.scheme == NATURAL_SCHEME.get(self.cert)
            else f"{self.cert}/{self.scheme}"
        )
        if self.client_cert:
            text += f" + mTLS {self.client_cert}"
        return text

    @property
    def id(self) -> str:
        parts = [self.peer, f"our-{self.role}", self.feature, self.group, self.suite, self.auth]
        return "-".join(p.replace(" + ", "+").replace(" ", "_").replace("/", ":") for p in parts)


@dataclass
class Outcome:
    case: Case
    status: Status
    detail: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.case.id,
            "peer": self.case.peer,
            "role": self.case.role,
            "group": self.case.group,
            "suite": self.case.suite,
            "auth": self.case.auth,
            "certificate": self.case.cert,
            "scheme": self.case.scheme,
            "client_certificate": self.case.client_cert,
            "feature": self.case.feature,
            "note": self.case.note,
            "status": str(self.status),
            "detail": self.detail,
            "seconds": round(self.seconds, 2),
        }


class Unsupported(Exception):
    """Raised by a case when it finds, at run time, that the peer cannot do it."""


class PeerUnavailable(Exception):
    """Raised by a case when it finds, at run time, that the peer cannot run here (e.g. no
    permission to capture packets): the case is skipped with this reason."""


class Check(AssertionError):
    """A failed expectation: the message is the reason shown in the matrix."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Check(message)


def expect_equal(actual: object, wanted: object, what: str) -> None:
    if actual != wanted:
        raise Check(f"{what}: got {actual!r}, expected {wanted!r}")


class Peer(Protocol):
    name: str
    roles: tuple[Role, ...]

    def availability(self) -> str | None:
        """None when the peer can run here, else why not and how to fix it."""

    def version(self) -> str:
        """The peer's name and version as installed here ("missing" when it is not)."""

    def cases(self) -> list[Case]: ...

    def run(self, case: Case, env: Env) -> str:
        """Run one case; return a short description of what was seen. Raise on failure."""


# --- the environment: certificates and scratch files ---------------------------------------------


@dataclass
class Bundle:
    """PEM files of one algorithm: a CA, a server leaf and a client leaf under it."""

    alg: str
    ca_pem: Path
    ca_key: Path
    server_pem: Path
    server_key: Path
    client_pem: Path
    client_key: Path


@dataclass
class Env:
    """Where a run keeps its files. Thread-safe: the runner runs cases in parallel."""

    root: Path
    _bundles: dict[str, Bundle] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _counter: int = 0

    @classmethod
    def temporary(cls) -> Env:
        return cls(Path(tempfile.mkdtemp(prefix="nautilus-interop-")))

    def scratch(self, name: str) -> Path:
        """A new empty directory for one case."""
        with self._lock:
            self._counter += 1
            path = self.root / f"{self._counter:04d}-{name}"
        path.mkdir(parents=True)
        return path

    def bundle(self, alg: str) -> Bundle:
        with self._lock:
            if alg not in self._bundles:
                self._bundles[alg] = self._make(alg)
            return self._bundles[alg]

    def _make(self, alg: str) -> Bundle:
        out = self.root / f"certs-{alg}"
        if alg == "rsa-pss":
            return _rsa_pss_bundle(self.bundle_unlocked("rsa2048"), out)
        paths = write_pem_files(out, alg)
        return Bundle(
            alg=alg,
            ca_pem=paths["ca_pem"],
            ca_key=paths["ca_key"],
            server_pem=paths["server_pem"],
            server_key=paths["server_key"],
            client_pem=paths["client_pem"],
            client_key=paths["client_key"],
        )

    def bundle_unlocked(self, alg: str) -> Bundle:
        # Called with the lock held (from _make): build the dependency directly.
        if alg not in self._bundles:
            self._bundles[alg] = self._make(alg)
        return self._bundles[alg]


_PSS_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def _rsa_pss_bundle(rsa: Bundle, out: Path) -> Bundle:
    """Leaves with RSASSA-PSS keys (id-RSASSA-PSS SPKI, for rsa_pss_pss_*), issued by the
    rsa2048 bundle's CA. pyca/cryptography cannot generate such keys; the openssl CLI can."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise Unsupported("no openssl CLI to make an RSASSA-PSS key")
    out.mkdir(parents=True, exist_ok=True)
    ca_key = rsa.ca_key
    for who, usage, cn in (
        ("server", "serverAuth", "localhost"),
        ("client", "clientAuth", CLIENT_CN),
    ):
        key, csr, pem, ext = (out / f"{who}{sfx}" for sfx in (".key", ".csr", ".pem", ".cnf"))
        ext.write_text(_PSS_EXTENSIONS + f"extendedKeyUsage = {usage}\n")
        for argv in (
            [openssl, "genpkey", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key],
            [openssl, "req", "-new", "-key", key, "-subj", f"/O=Nautilus TLS (development)/CN={cn}", "-out", csr],
            [openssl, "x509", "-req", "-in", csr, "-CA", rsa.ca_pem, "-CAkey", ca_key, "-set_serial",
             str(int.from_bytes(os.urandom(8), "big") >> 1), "-days", "30", "-sha256", "-extfile", ext, "-out", pem],
        ):  # fmt: skip
            done = subprocess.run(
                [str(a) for a in argv], capture_output=True, text=True, timeout=60, check=False
            )
            if done.returncode != 0:
                raise RuntimeError(f"openssl {argv[1]} failed: {done.stderr.strip()[-300:]}")
    return Bundle(
        alg="rsa-pss",
        ca_pem=rsa.ca_pem,
        ca_key=rsa.ca_key,
        server_pem=out / "server.pem",
        server_key=out / "server.key",
        client_pem=out / "client.pem",
        client_key=out / "client.key",
    )


# --- running --------------------------------------------------------------------------------------


def run_case(peer: Peer, case: Case, env: Env) -> Outcome:
    """Run ``case`` and classify the result; never raises for a failing case."""
    if case.unsupported:
        return Outcome(case, Status.UNSUPPORTED, case.unsupported)
    missing = peer.availability()
    if missing:
        if peer.name in required_peers():
            return Outcome(case, Status.FAIL, f"required peer not available: {missing}")
        return Outcome(case, Status.SKIPPED, missing)
    start = time.monotonic()
    try:
        detail = peer.run(case, env)
    except Unsupported as exc:
        return Outcome(case, Status.UNSUPPORTED, str(exc), time.monotonic() - start)
    except PeerUnavailable as exc:
        status = Status.FAIL if peer.name in required_peers() else Status.SKIPPED
        return Outcome(case, status, str(exc), time.monotonic() - start)
    except Exception as exc:
        reason = describe_error(exc)
        status = Status.XFAIL if case.xfail else Status.FAIL
        if case.xfail:
            reason = f"known bug: {case.xfail} — observed: {reason}"
        return Outcome(case, status, reason, time.monotonic() - start)
    if case.xfail:
        return Outcome(
            case,
            Status.XPASS,
            f"expected to fail ({case.xfail}) but passed: {detail}",
            time.monotonic() - start,
        )
    return Outcome(case, Status.PASS, detail, time.monotonic() - start)


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, Check):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
        alert = getattr(exc, "alert", None)
        if alert is not None and "alert" not in text:
            text += f" (alert {getattr(alert, 'name', alert)})"
    return " ".join(text.split())[:1500]


def required_peers() -> set[str]:
    """Peers that must be present (``NAUTILUS_REQUIRE_PEERS=node,openssl,...``, CI sets it)."""
    return {p.strip() for p in os.environ.get("NAUTILUS_REQUIRE_PEERS", "").split(",") if p.strip()}


def sample(
    groups: Sequence[str], suites: Sequence[str], certs: Sequence[str]
) -> list[tuple[str, str, str]]:
    """Every group x every suite, with the certificates taken in turn: every group, suite and
    certificate algorithm is covered at least once, in len(groups) x len(suites) cases
    (or more cases when there are more certificates than that)."""
    pairs = [(g, s) for g in groups for s in suites]
    count = max(len(pairs), len(certs))
    return [(*pairs[i % len(pairs)], certs[i % len(certs)]) for i in range(count)]


def replace(case: Case, **changes: object) -> Case:
    return dataclasses.replace(case, **changes)  # type: ignore[arg-type]


Runner = Callable[[Case, Env], str]


def classical_cases(
    peer: str,
    role: Role,
    certs: Sequence[str],
    *,
    hrr_group: str,
    hrr_note: str,
    no_pq_kem: str,
    no_mldsa: str,
    extra: Sequence[Case] = (),
) -> list[Case]:
    """The cells of a peer without post-quantum algorithms (the openssl 3.0 CLI, GnuTLS 3.7),
    in one of our roles: every classical group x suite (``certs`` in turn), RSA-PSS at SHA-384
    and SHA-512, mTLS with three client certificate algorithms, HRR (to ``hrr_group``), ALPN,
    then ``extra``, then the ML-KEM groups and ML-DSA certificates marked unsupported."""
    c = functools.partial(Case, peer, role)
    out = [c(group, suite, cert, NATURAL_SCHEME[cert]) for group, suite, cert in sample(CLASSICAL_GROUPS, SUITES, certs)]  # fmt: skip
    out.append(c("x25519", SUITES[1], "rsa2048", "rsa_pss_rsae_sha384"))
    out.append(c("secp384r1", SUITES[2], "rsa2048", "rsa_pss_rsae_sha512"))
    for alg, group in (
        ("ecdsa-p256", "x25519"),
        ("rsa2048", "secp256r1"),
        ("ed25519", "secp384r1"),
    ):
        out.append(c(group, SUITES[0], "ecdsa-p384", NATURAL_SCHEME["ecdsa-p384"], "mtls", client_cert=alg))  # fmt: skip
    out.append(c(hrr_group, SUITES[1], "ecdsa-p256", NATURAL_SCHEME["ecdsa-p256"], "hrr", note=hrr_note))  # fmt: skip
    out.append(c("x25519", SUITES[2], "ed25519", "ed25519", "alpn", note="http/1.1 of h2,http/1.1"))
    out += extra
    for group in PQ_GROUPS:
        out.append(c(group, SUITES[1], "ecdsa-p256", NATURAL_SCHEME["ecdsa-p256"], unsupported=no_pq_kem))  # fmt: skip
    for alg in MLDSA_ALGS:
        out.append(c("x25519", SUITES[1], alg, NATURAL_SCHEME[alg], unsupported=no_mldsa))
    out.append(c("x25519", SUITES[1], "mldsa65", "mldsa65", "mtls", client_cert="mldsa65", unsupported=no_mldsa))  # fmt: skip
    return out
