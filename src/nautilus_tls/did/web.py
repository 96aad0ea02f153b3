"""``did:web``: a DID whose document is served over HTTPS (W3C CCG "did:web Method
Specification", §"Read (Resolve)").

``did:web:example.com`` is read from ``https://example.com/.well-known/did.json``;
``did:web:example.com:user:alice`` from ``https://example.com/user/alice/did.json``; a port
is percent-encoded: ``did:web:example.com%3A8443``. The document comes over **our own**
blocking TLS client (:class:`~nautilus_tls.sync.TLSSocket`) with the caller's
:class:`~nautilus_tls.config.ClientConfig`, so certificate and hostname verification are on
unless that config turns them off; HTTP/1.1 is parsed by ``h11``.

Every fetch is bounded: one deadline (``timeout``) covers the TCP connect, the handshake
and the whole response, and the body may hold at most ``max_document_bytes``. Anything that
goes wrong (unreachable host, TLS alert, HTTP status other than 200, too big, too slow, not
JSON) is a :class:`~.errors.DidResolutionError` naming the DID, the URL and the reason;
a document that does not list a usable key is a :class:`~.errors.DidDocumentError`.

Successful resolutions are cached for ``ttl`` seconds (bounded LRU, thread-safe); failures
are not cached, so a host that comes back is used at once. The resolver blocks: call it
from a thread, or warm the cache (:meth:`DidWebResolver.authentication_keys`) before a
handshake that runs on an event loop; the asyncio adapter does that for the DIDs a
:class:`~nautilus_tls.did.verifier.DidPeerVerifier` names (its ``prefetch``).
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import unquote

import h11

from nautilus_tls import safe_json
from nautilus_tls.config import ClientConfig
from nautilus_tls.did.document import VerificationMethod, authentication_keys
from nautilus_tls.did.errors import DidResolutionError, InvalidDid
from nautilus_tls.errors import TLSError
from nautilus_tls.sync.socket import TLSSocket

__all__ = ["DidWebResolver", "DidWebUrl", "did_web_url"]

DID_WEB_PREFIX = "did:web:"
DEFAULT_TTL = 300.0
DEFAULT_TIMEOUT = 10.0
MAX_DOCUMENT_BYTES = 64 * 1024
MAX_CACHE_ENTRIES = 256
MAX_HEAD_BYTES = 16 * 1024
_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_SEGMENT = re.compile(r"^(?:[A-Za-z0-9._~!$&'()*+,;=@-]|%[0-9A-Fa-f]{2})+$")


@dataclass(frozen=True, slots=True)
class DidWebUrl:
    """Where a did:web document lives: host, port and HTTP path."""

    host: str
    port: int
    path: str

    def __str__(self) -> str:
        port = "" if self.port == 443 else f":{self.port}"
        return f"https://{self.host}{port}{self.path}"


def did_web_url(did: str) -> DidWebUrl:
    """The URL of ``did``'s document; InvalidDid for a malformed did:web."""
    if not did.startswith(DID_WEB_PREFIX) or "#" in did or "?" in did or len(did) > 2048:
        raise InvalidDid(f"not a did:web: {did[:100]!r}")
    authority, *segments = did[len(DID_WEB_PREFIX) :].split(":")
    host, _, port_text = unquote(authority).partition(":")
    if not _HOST.match(host):
        raise InvalidDid(f"did:web host {host[:100]!r} is not a domain name")
    port = 443
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise InvalidDid(f"did:web port {port_text[:10]!r} is not a port number")
        port = int(port_text)
    for segment in segments:
        if (
            not _SEGMENT.match(segment)
            or unquote(segment) in (".", "..")
            or "/" in unquote(segment)
        ):
            raise InvalidDid(f"did:web path segment {segment[:100]!r} is not allowed")
    path = "/" + "/".join(segments) + "/did.json" if segments else "/.well-known/did.json"
    return DidWebUrl(host=host.lower(), port=port, path=path)


class DidWebResolver:
    """Resolves did:web DIDs to the keys their documents list under ``authentication``.

    ``config``: the TLS client configuration for the HTTPS fetch (default: the system roots,
    full verification). ``ttl``: seconds a resolved document is reused. ``timeout``: the
    deadline of one fetch, connect to last byte. ``clock``: monotonic seconds (tests pin it).
    """

    def __init__(
        self,
        *,
        config: ClientConfig | None = None,
        ttl: float = DEFAULT_TTL,
        timeout: float = DEFAULT_TIMEOUT,
        max_document_bytes: int = MAX_DOCUMENT_BYTES,
        max_entries: int = MAX_CACHE_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl < 0 or timeout <= 0 or max_document_bytes <= 0 or max_entries <= 0:
            raise ValueError("ttl must be >= 0; timeout, max_document_bytes, max_entries > 0")
        self._config = config
        self.ttl = ttl
        self.timeout = timeout
        self.max_document_bytes = max_document_bytes
        self._max_entries = max_entries
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, tuple[VerificationMethod, ...]]] = OrderedDict()
        self._lock = threading.Lock()
        self.fetches = 0  # documents fetched over the network (for tests and metrics)

    @property
    def config(self) -> ClientConfig:
        if self._config is None:
            self._config = ClientConfig()
        return self._config

    def authentication_keys(
        self, did: str, *, fresh_for: float = 0.0
    ) -> tuple[VerificationMethod, ...]:
        """The keys that may authenticate as ``did`` (cached for ``ttl`` seconds). A cached
        document that expires within ``fresh_for`` seconds is fetched again (a refresh ahead
        of the handshakes that will need it)."""
        url = did_web_url(did)
        now = self._clock()
        with self._lock:
            hit = self._cache.get(did)
            if hit is not None and hit[0] > now + fresh_for:
                self._cache.move_to_end(did)
                return hit[1]
        body = self._fetch(did, url)
        try:
            document = safe_json.loads(body)
        except (ValueError, RecursionError):
            raise DidResolutionError(f"the document of {did} at {url} is not JSON") from None
        keys = authentication_keys(document, did)
        with self._lock:
            self._cache[did] = (self._clock() + self.ttl, keys)
            self._cache.move_to_end(did)
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)
        return keys

    def _fetch(self, did: str, url: DidWebUrl) -> bytes:
        deadline = time.monotonic() + self.timeout
        config = replace(self.config, handshake_timeout=self.timeout)
        self.fetches += 1
        try:
            tls = TLSSocket.connect(
                (url.host, url.port), config=config, server_name=url.host, timeout=self.timeout
            )
        except TLSError as exc:
            raise DidResolutionError(f"cannot resolve {did}: TLS with {url} failed: {exc}") from exc
        except OSError as exc:
            raise DidResolutionError(f"cannot resolve {did}: {url} is unreachable: {exc}") from exc
        try:
            return self._exchange(tls, did, url, deadline)
        except TimeoutError:
            raise DidResolutionError(
                f"cannot resolve {did}: {url} did not answer within {self.timeout:g} s"
            ) from None
        except (TLSError, OSError) as exc:
            raise DidResolutionError(f"cannot resolve {did}: reading {url} failed: {exc}") from exc
        except h11.ProtocolError as exc:
            raise DidResolutionError(f"cannot resolve {did}: bad HTTP from {url}: {exc}") from exc
        finally:
            tls.close()

    def _exchange(self, tls: TLSSocket, did: str, url: DidWebUrl, deadline: float) -> bytes:
        http = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        host = url.host if url.port == 443 else f"{url.host}:{url.port}"
        request = h11.Request(
            method="GET",
            target=url.path,
            headers=[
                ("Host", host),
                ("Accept", "application/did+json, application/json"),
                ("User-Agent", "nautilus-tls did:web resolver"),
                ("Connection", "close"),
            ],
        )
        tls.sendall(http.send(request) + (http.send(h11.EndOfMessage()) or b""))
        body = bytearray()
        while True:
            event = http.next_event()
            if event is h11.NEED_DATA:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                tls.settimeout(remaining)
                http.receive_data(tls.recv(64 * 1024))
            elif isinstance(event, h11.Response):
                if event.status_code != 200:
                    raise DidResolutionError(
                        f"cannot resolve {did}: {url} answered HTTP {event.status_code}"
                    )
                for name, value in event.headers:
                    if name == b"content-length" and int(value) > self.max_document_bytes:
                        raise self._too_big(did, url)
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > self.max_document_bytes:
                    raise self._too_big(did, url)
            elif isinstance(event, h11.EndOfMessage):
                return bytes(body)
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                raise DidResolutionError(f"cannot resolve {did}: {url} closed before the end")

    def _too_big(self, did: str, url: DidWebUrl) -> DidResolutionError:
        return DidResolutionError(
            f"cannot resolve {did}: the document at {url} exceeds {self.max_document_bytes} bytes"
        )
