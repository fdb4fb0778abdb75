"""The web server: the Gradio chat at ``/`` plus what other pages and programs need to embed it.

``create_app(qa, settings)`` returns one FastAPI app that serves

- ``POST /api/ask``: JSON in ``{"question", "history"?}``, JSON out: exactly ``Answer.to_dict()``
  (the ``qa ask --json`` contract); OpenAPI schema at ``/openapi.json``;
- ``GET /widget.js``: the floating chat widget (``qa/static/widget.js``), one ``<script>`` tag;
- ``GET /gradio.js``: Gradio's own web-component loader, from the installed gradio package, so
  ``<gradio-app src=...>`` works without a CDN;
- ``GET /healthz``: liveness and index size;
- the Gradio chat (``qa.web.create_demo``) mounted at ``/`` (its ``gradio_client`` route is ``/ask``).

Who may use it from another site is one setting, ``allowed_origins``: CORS for the API and the
web component, and ``Content-Security-Policy: frame-ancestors`` for iframes. ``api_key`` guards
``/api/ask``; ``max_request_bytes`` caps request bodies under ``/api/``.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import re
import socket
import threading
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from .config import Settings
from .errors import BadQuestionError, QAError

if TYPE_CHECKING:
    from .pipeline import QA

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
API_PREFIX = "/api/"
EXAMPLE_BODY = '{"question": "When was the dialogue declared?"}'  # quoted in error messages
#: Gradio's event routes (mounted at "/"): what the browser and gradio_client post questions to.
GRADIO_EVENT_PREFIXES = ("/gradio_api/queue/join", "/gradio_api/call/", "/gradio_api/run/", "/gradio_api/api/")
#: Origins allowed when ``allowed_origins`` is empty: this machine, any port, http or https.
LOCAL_ORIGINS = (
    "http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*",
    "https://localhost:*", "https://127.0.0.1:*", "https://[::1]:*",
)
_ORIGIN = re.compile(r"^(?P<scheme>https?)://(?P<host>\*|(\*\.)?[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:(?P<port>\*|\d{1,5}))?$")


# ---------------------------------------------------------------------------------------------
# Allowed origins: one list drives both CORS and frame-ancestors.


def parse_origins(spec: str) -> list[str]:
    """``allowed_origins`` as a list: ``["*"]``, the given origins, or the localhost defaults.

    Entries are ``scheme://host[:port]``; ``*.`` before a host and ``:*`` as port are wildcards
    (the syntax CSP ``frame-ancestors`` uses too). Raises QAError naming a malformed entry.
    """
    entries = [e.strip().rstrip("/") for e in (spec or "").split(",") if e.strip()]
    if not entries:
        return list(LOCAL_ORIGINS)
    if "*" in entries:
        return ["*"]
    for e in entries:
        if not _ORIGIN.match(e):
            raise QAError(
                f"allowed_origins entry {e!r} is not an origin; write scheme://host[:port], e.g. "
                "https://docs.example.com, https://*.example.com or http://localhost:*"
            )
    return entries


def origin_regex(origins: list[str]) -> str:
    """One regular expression matching the browser ``Origin`` header of every allowed origin."""
    parts = []
    for e in origins:
        m = _ORIGIN.match(e)
        host = m["host"]
        if host == "*":
            host_re = r"[^/:]+"
        elif host.startswith("*."):
            host_re = r"[^/:]+\." + re.escape(host[2:])
        else:
            host_re = re.escape(host)
        port = m["port"]
        port_re = r"(:\d{1,5})?" if port == "*" else (f":{port}" if port else "")
        parts.append(f"{m['scheme']}://{host_re}{port_re}")
    return "^(" + "|".join(parts) + ")$"


def frame_ancestors(origins: list[str]) -> str:
    """The CSP header value that lets exactly these origins (and this server) frame the chat."""
    return "frame-ancestors *" if origins == ["*"] else "frame-ancestors 'self' " + " ".join(origins)


# ---------------------------------------------------------------------------------------------
# Small ASGI middlewares (plain ASGI so streaming Gradio responses pass through untouched).


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` under ``prefix`` with 413, before the app reads them."""

    def __init__(self, app, max_bytes: int, prefix: str | tuple[str, ...] = API_PREFIX):
        self.app, self.max_bytes, self.prefix = app, max_bytes, prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await self._refuse(send)
        # No or honest Content-Length: read (at most max_bytes + 1) and replay to the app.
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return await self._refuse(send)
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _refuse(self, send):
        import json

        payload = json.dumps({
            "error": f"request body too large; the limit is {self.max_bytes:,} bytes (QA_MAX_REQUEST_BYTES)",
            "code": "too_large",
        }).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": payload})


class SecurityHeaders:
    """Add ``Content-Security-Policy: frame-ancestors ...`` and ``nosniff`` to every response."""

    def __init__(self, app, csp: str):
        self.app = app
        self.headers = [(b"content-security-policy", csp.encode()), (b"x-content-type-options", b"nosniff")]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in self.headers if h[0] not in names]
            await send(message)

        return await self.app(scope, receive, send_with_headers)


# ---------------------------------------------------------------------------------------------
# The API's shapes (OpenAPI is generated from these).


class HistoryTurn(BaseModel):
    role: Literal["user", "assistant"] = Field(description="Who said it.")
    content: str = Field(description="What was said (for assistant turns, the answer text).")


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": "When was the dialogue declared?"},
        {"question": "Who chaired it?", "history": [
            {"role": "user", "content": "When was the first leaders' summit?"},
            {"role": "assistant", "content": "The first summit was held on 28 August 2006."}]},
    ]})
    question: str = Field(description="The question, in plain text.")
    history: list[HistoryTurn] | None = Field(
        default=None, description="Earlier turns, oldest first, so follow-up questions ('Who chaired it?') work.")
    top_k: int | None = Field(default=None, ge=1, le=50, description="How many citations (default: the server's top_k).")


class CitationOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    n: int = Field(description="1-based citation number.")
    doc: str = Field(description="Corpus file, relative to the corpus folder.")
    title: str
    section: str
    start: int = Field(description="Character offset of the excerpt in the document (UTF-8 text as read).")
    end: int
    text: str = Field(description="Exactly document_text[start:end].")
    score: float
    highlight_start: int | None = Field(None, description="Absolute offsets of the supporting sentence.")
    highlight_end: int | None = None


class AnswerOut(BaseModel):
    """Exactly what `qa ask --json` prints."""

    model_config = ConfigDict(extra="allow")
    question: str
    abstained: bool = Field(description="True when the corpus does not answer the question.")
    answer: str | None = Field(description="Text copied from citation `answer_citation`; null when abstained.")
    answer_citation: int | None
    score: float = Field(description="Confidence, 0..1.")
    citations: list[CitationOut]
    answer_start: int | None = None
    answer_end: int | None = None
    question_type: str = "other"
    retrieval_query: str = ""
    message: str = Field("", description="Human-readable note, e.g. why the corpus could not answer.")
    uncertain: bool = Field(False, description="Answered with a confidence below the sure threshold: show it as "
                                               "possibly wrong and point the reader to the sources.")
    signals: dict[str, float] = {}


class ErrorOut(BaseModel):
    error: str = Field(description="What went wrong, in words for people.")
    code: str = Field(description="bad_question, unauthorized, invalid_request, too_large, unavailable or internal.")
    detail: list | None = Field(None, description="Field-level problems, for invalid_request.")


# ---------------------------------------------------------------------------------------------
# The app.


def _gradio_loader() -> Path:
    return Path(str(resources.files("gradio").joinpath("templates/frontend/gradio.js")))


def create_app(qa: QA, settings: Settings | None = None):
    """The FastAPI app: API, widget, web-component loader, health check, Gradio chat at ``/``."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no phoning home
    import gradio as gr
    from fastapi import Depends, FastAPI, Request
    from fastapi.exception_handlers import http_exception_handler
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
    from fastapi.security import APIKeyHeader, HTTPBearer
    from starlette.exceptions import HTTPException as StarletteHTTPException
    from starlette.middleware.cors import CORSMiddleware

    from .eval_ui import MAX_UPLOAD_BYTES
    from .web import create_demo

    settings = settings or qa.settings
    if settings.max_request_bytes < 1024:
        raise QAError(f"max_request_bytes={settings.max_request_bytes}: use at least 1024")
    origins = parse_origins(settings.allowed_origins)

    app = FastAPI(
        title="Corpus QA",
        version=_version(),
        summary="Answers copied from a folder of documents, with numbered citations.",
        docs_url=None, redoc_url=None,  # their pages load from a CDN; /openapi.json is enough offline
    )

    def error(status: int, code: str, message: str, detail=None, headers=None):
        body = {"error": message, "code": code}
        if detail is not None:
            body["detail"] = detail
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        problems = exc.errors()
        first = problems[0] if problems else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        msg = "the request body is not valid JSON" if first.get("type") == "json_invalid" else \
            f"{where}: {first.get('msg', 'invalid value')}"
        ctype = request.headers.get("content-type", "")
        if where == "body" and "json" not in ctype.lower():
            sent = ctype.split(";")[0].strip()
            msg = (f"the request body was sent as {sent}" if sent else "the request has no JSON body") + \
                "; send JSON with 'Content-Type: application/json'"
        detail = [{"loc": list(p.get("loc", ())), "msg": p.get("msg"), "type": p.get("type")} for p in problems]
        return error(422, "invalid_request", msg, detail)

    @app.exception_handler(StarletteHTTPException)
    async def http_problem(request: Request, exc: StarletteHTTPException):
        # FastAPI's own refusals (e.g. 400 for a body too deeply nested to parse) in the API's
        # error shape; other paths keep FastAPI's default response.
        # (Unknown /api/ paths and methods never get here: api_unknown below answers them.)
        if not request.url.path.startswith(API_PREFIX):
            return await http_exception_handler(request, exc)
        if exc.status_code == 400:
            return error(400, "invalid_request", f"the request body could not be parsed; send one JSON object such as "
                         f"{EXAMPLE_BODY}")
        return error(exc.status_code, "http_error", str(exc.detail), headers=getattr(exc, "headers", None))

    class _Unauthorized(Exception):
        pass

    bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <api_key> (only when the server sets one).")
    header_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="Alternative to the bearer token.")

    def check_key(token=Depends(bearer), key: str | None = Depends(header_key)):
        if not settings.api_key:
            return
        given = key or (token.credentials if token else "")
        if not (given and hmac.compare_digest(given.encode(), settings.api_key.encode())):
            raise _Unauthorized()

    @app.exception_handler(_Unauthorized)
    async def unauthorized(request: Request, exc):
        return error(401, "unauthorized", "missing or wrong API key; send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
                     headers={"WWW-Authenticate": "Bearer"})

    err = {"model": ErrorOut}
    answer_slots = threading.BoundedSemaphore(settings.concurrency)

    @app.post(
        "/api/ask",
        summary="Answer a question from the corpus",
        response_model=None,
        responses={200: {"model": AnswerOut, "description": "The answer: exactly `qa ask --json`."},
                   400: {**err, "description": "Bad question (empty, too long)."},
                   401: {**err, "description": "API key required and missing or wrong."},
                   413: {**err, "description": "Request body larger than max_request_bytes."},
                   422: {**err, "description": "Body is not valid JSON or does not match the schema."},
                   503: {**err, "description": "Index or model unavailable."}},
        dependencies=[Depends(check_key)],
        tags=["qa"],
    )
    def ask(req: AskRequest):  # sync: FastAPI runs it in a worker thread
        """Ask one question, optionally with earlier turns for follow-ups. The answer is copied from
        the corpus and comes with numbered citations (exact excerpts with character offsets); when
        the evidence is too weak, `abstained` is true and the citations are the closest passages."""
        history = [t.model_dump() for t in req.history or []]
        try:
            with answer_slots:  # at most `concurrency` at once: more only thrash 2 cores (docs/robustness.md)
                answer = qa.ask(req.question, history=history, top_k=req.top_k)
        except BadQuestionError as e:
            return error(400, "bad_question", str(e))
        except QAError as e:
            return error(503, "unavailable", str(e))
        except Exception:
            log.exception("failed to answer %r", req.question)
            return error(500, "internal", "something went wrong while answering; the error was logged on the server")
        return JSONResponse(answer.to_dict())

    @app.get("/healthz", tags=["ops"], summary="Liveness and index size")
    def healthz():
        try:
            index = qa.index
        except QAError as e:  # e.g. the corpus folder is missing: the app runs, but cannot answer yet
            return JSONResponse({"status": "unavailable", "error": str(e)}, status_code=503)
        return {"status": "ok", "documents": len(index.documents), "chunks": len(index.chunks)}

    @app.get("/widget.js", include_in_schema=False)
    def widget():
        return FileResponse(STATIC_DIR / "widget.js", media_type="text/javascript; charset=utf-8",
                            headers={"Cache-Control": "public, max-age=300"})

    @app.get("/gradio.js", include_in_schema=False)
    def gradio_loader():
        path = _gradio_loader()
        if not path.is_file():
            return PlainTextResponse(f"gradio's web-component loader is missing from the gradio package ({path})",
                                     status_code=404)
        return FileResponse(path, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})

    @app.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def api_unknown(rest: str):
        # Without this, Gradio (mounted at /) would answer unknown /api/ paths in its own shape.
        if rest == "ask":
            return error(405, "method_not_allowed", f"use POST /api/ask with a JSON body such as {EXAMPLE_BODY}",
                         headers={"Allow": "POST"})
        return error(404, "not_found", f"no API route /api/{rest[:100]}; the API is POST /api/ask "
                     "(schema at /openapi.json)")

    # Middleware: the last added runs first. CORS is ours, so Gradio adds none of its own.
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    # The chat's own HTTP routes read whole bodies too (a 20 MB message was read, then refused):
    # cap them, generously, since a browser sends the conversation so far with each message.
    # Not /gradio_api/upload (files for the Evaluate tab).
    app.add_middleware(BodyLimit, max_bytes=max(1 << 20, 16 * settings.max_request_bytes),
                       prefix=GRADIO_EVENT_PREFIXES)
    cors = {"allow_origins": ["*"]} if origins == ["*"] else {"allow_origin_regex": origin_regex(origins)}
    app.add_middleware(CORSMiddleware, **cors, allow_methods=["GET", "POST", "OPTIONS"], allow_headers=["*"],
                       allow_credentials=False, max_age=600)
    app.add_middleware(SecurityHeaders, csp=frame_ancestors(origins))

    # Gradio answers one event at a time unless told otherwise; answering is read-only and thread-safe.
    demo = create_demo(qa).queue(default_concurrency_limit=settings.concurrency, max_size=settings.queue_size)
    demo.state_session_capacity = settings.chat_sessions  # bounds memory: Gradio keeps 10,000 sessions by default
    # Gradio would otherwise accept uploads of any size to /gradio_api/upload (the Evaluate tab's
    # file box) and keep them on disk; test sets are small, so the tab's own limit caps uploads.
    return gr.mount_gradio_app(app, demo, path="/", server_name=settings.host, server_port=settings.port,
                               show_error=False, ssr_mode=False, max_file_size=MAX_UPLOAD_BYTES)


def _version() -> str:
    from . import __version__

    return __version__


# ---------------------------------------------------------------------------------------------
# Running it.


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; ``port=0`` picks a free one (read it from ``sock.getsockname()``)."""
    # proto=IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY on accepted connections only for
    # sockets that say they are TCP, and without it every keep-alive request waited ~40 ms (Nagle +
    # delayed ACK) -- see docs/robustness.md.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise QAError(f"cannot listen on {host}:{port} ({e.strerror}); pick another port with --port or QA_PORT") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _uvicorn_server(app, **config):
    """A uvicorn server that, on shutdown, first ends Gradio's endless heartbeat streams (as
    ``demo.close()`` would), so Ctrl-C with browsers still connected stops promptly and cleanly."""
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets=None):
            for route in getattr(app, "routes", []):
                stop = getattr(getattr(route, "app", None), "stop_event", None)
                if stop is not None:
                    stop.set()
            await super().shutdown(sockets=sockets)

    return Server(uvicorn.Config(app, log_level="warning", lifespan="on", **config))


@contextlib.contextmanager
def serve_in_thread(app, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0):
    """Run ``app`` with uvicorn in a background thread; yields its base URL, stops it on exit.

    For tests and notebooks. ``port=0`` picks a free port; waits at most ``timeout`` seconds.
    """
    sock = bind(host, port)
    port = sock.getsockname()[1]
    server = _uvicorn_server(app, timeout_graceful_shutdown=2)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"uvicorn-{port}")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the server on {host}:{port} did not start within {timeout:.0f} s")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout)
        sock.close()


def run(app, sock: socket.socket) -> None:
    """Serve ``app`` on the listening socket ``sock`` (from ``bind``) in the foreground until Ctrl-C."""
    try:
        _uvicorn_server(app, timeout_graceful_shutdown=5).run(sockets=[sock])  # answers in flight get 5 s
    finally:
        sock.close()
