"""The log's HTTP API, in the spirit of RFC 9162 §5, as an ASGI app (Starlette).

All paths are under ``/ledger/v1/``; binary values are base64 (RFC 4648 §4) in JSON:

=============================  ==============================================================
``POST add-entry``             ``{"leaf_input": b64}`` (an encoded :class:`~.entries.Entry`)
                               -> ``{"leaf_index", "leaf_hash", "new"}``
``GET get-sth``                -> ``{"sth": b64, "tree_size", "timestamp", "root_hash"}``
                               (``sth`` is the signed encoding of :mod:`.sth`; the rest is
                               for people: clients verify ``sth``)
``GET get-proof-by-hash``      ``?hash=b64&tree_size=N`` -> ``{"leaf_index", "inclusion_path"}``
``GET get-sth-consistency``    ``?first=M&second=N`` -> ``{"consistency": [b64, ...]}``
``GET get-entries``            ``?start=M&end=N`` -> ``{"entries": [b64, ...]}`` (at most 256)
=============================  ==============================================================

Errors are ``{"error_code": ..., "message": ...}`` with status 400 (bad request, as RFC 9162
§5 "bad request"/"bad hash"), 404 (not found), 413 (body too large) or 503 (store failed; the
detail goes to the server log, not to the client). Request bodies are read only up to
:data:`MAX_BODY` bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from nautilus_tls import safe_json
from nautilus_tls.ledger.encoding import b64decode as unb64
from nautilus_tls.ledger.encoding import b64encode as b64
from nautilus_tls.ledger.entries import MAX_ENTRY_SIZE, Entry
from nautilus_tls.ledger.errors import LedgerError, StoreError, UnknownEntryError
from nautilus_tls.ledger.log import TransparencyLog
from nautilus_tls.ledger.merkle import HASH_SIZE

__all__ = ["MAX_BODY", "PREFIX", "create_app"]

PREFIX = "/ledger/v1"
MAX_BODY = MAX_ENTRY_SIZE * 4 // 3 + 1024
MAX_QUERY_INT = (1 << 63) - 1
log = logging.getLogger("nautilus_tls.ledger.api")


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400, code: str = "bad request") -> None:
        super().__init__(message)
        self.status, self.code = status, code


def _int_param(request: Request, name: str) -> int:
    text = request.query_params.get(name)
    if text is None or not text.isdigit() or not text.isascii() or len(text) > 19:
        raise BadRequest(f"query parameter {name} must be a non-negative integer")
    value = int(text)
    if value > MAX_QUERY_INT:
        raise BadRequest(f"query parameter {name} is too large")
    return value


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise BadRequest("request body is too large", 413, "too large")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_BODY:  # chunked uploads have no Content-Length to check up front
            raise BadRequest("request body is too large", 413, "too large")
        chunks.append(chunk)
    return b"".join(chunks)


Handler = Callable[[Request], Awaitable[dict[str, Any]]]


def _json_endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            return JSONResponse(await handler(request))
        except BadRequest as exc:
            return JSONResponse({"error_code": exc.code, "message": str(exc)}, exc.status)
        except UnknownEntryError as exc:
            return JSONResponse({"error_code": "not found", "message": str(exc)}, 404)
        except StoreError:
            log.exception("ledger store failed")
            return JSONResponse(
                {"error_code": "unavailable", "message": "the log's store failed"}, 503
            )
        except LedgerError as exc:
            return JSONResponse({"error_code": "bad request", "message": str(exc)}, 400)

    return endpoint


def create_app(ledger: TransparencyLog) -> Starlette:
    """The ASGI app serving ``ledger`` (run it with uvicorn or any ASGI server)."""

    async def add_entry(request: Request) -> dict[str, Any]:
        try:
            body = safe_json.loads(await _read_body(request))
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("body is not JSON") from None
        if not isinstance(body, dict):
            raise BadRequest('body must be {"leaf_input": base64}')
        entry = Entry.decode(unb64(body.get("leaf_input"), "leaf_input"))
        index, new = await run_in_threadpool(ledger.add, entry)
        return {"leaf_index": index, "leaf_hash": b64(entry.leaf_hash()), "new": new}

    async def get_sth(request: Request) -> dict[str, Any]:
        sth = await run_in_threadpool(ledger.signed_tree_head)
        return {
            "sth": b64(sth.encode()),
            "tree_size": sth.tree_size,
            "timestamp": sth.tree_head.timestamp_ms,
            "root_hash": b64(sth.root_hash),
        }

    async def get_proof_by_hash(request: Request) -> dict[str, Any]:
        leaf_hash = unb64(request.query_params.get("hash"), "hash")
        if len(leaf_hash) != HASH_SIZE:
            raise BadRequest("hash must be 32 bytes", code="bad hash")
        size = _int_param(request, "tree_size")
        index, path = await run_in_threadpool(ledger.inclusion_proof, leaf_hash, size)
        return {"leaf_index": index, "inclusion_path": [b64(p) for p in path]}

    async def get_sth_consistency(request: Request) -> dict[str, Any]:
        first, second = _int_param(request, "first"), _int_param(request, "second")
        proof = await run_in_threadpool(ledger.consistency_proof, first, second)
        return {"consistency": [b64(p) for p in proof]}

    async def get_entries(request: Request) -> dict[str, Any]:
        start, end = _int_param(request, "start"), _int_param(request, "end")
        found = await run_in_threadpool(ledger.entries, start, end)
        return {"entries": [b64(e) for e in found]}

    routes = [
        Route(f"{PREFIX}/add-entry", _json_endpoint(add_entry), methods=["POST"]),
        Route(f"{PREFIX}/get-sth", _json_endpoint(get_sth), methods=["GET"]),
        Route(f"{PREFIX}/get-proof-by-hash", _json_endpoint(get_proof_by_hash), methods=["GET"]),
        Route(
            f"{PREFIX}/get-sth-consistency", _json_endpoint(get_sth_consistency), methods=["GET"]
        ),
        Route(f"{PREFIX}/get-entries", _json_endpoint(get_entries), methods=["GET"]),
    ]
    return Starlette(routes=routes)
