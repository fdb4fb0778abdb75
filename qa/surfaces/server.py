"""The web server: the Gradio chat at ``/`` plus what other pages and programs need to embed it.

``create_app(qa, settings)`` returns one FastAPI app that serves

- ``POST /api/ask``: JSON in ``{"question", "history"?}``, JSON out: exactly ``Answer.to_dict()``
  (the ``qa ask --json`` contract); OpenAPI schema at ``/openapi.json``;
- ``GET /widget.js``: the floating chat widget (``qa/surfaces/static/widget.js``), one ``<script>`` tag;
- ``GET /gradio.js``: Gradio's own web-component loader, from the installed gradio package, so
  ``<gradio-app src=...>`` works without a CDN;
- ``GET /healthz``: liveness, index size, or build progress while the index is being built;
- the Gradio chat (``qa.surfaces.chat.create_demo``) mounted at ``/`` (its ``gradio_client`` route is ``/ask``);
- the admin pages (``qa.surfaces.admin``: evaluation) at ``/admin``, behind the admin key.

Everything passes ``qa.surfaces.guard.Guard`` first: only the routes listed there exist, each with
its body cap and origin rule. Who may use the chat from another site is one setting,
``allowed_origins``: CORS for the API and the web component, ``Content-Security-Policy:
frame-ancestors`` for iframes. ``api_key`` guards ``/api/ask``; ``admin_key`` guards ``/admin``.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import sys
import threading
import traceback
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request  # at module level: route signatures are resolved from here

from qa.core.config import Settings
from qa.core.errors import BadQuestionError, QAError
from qa.index.backend import Where
from qa.surfaces.access import EVERYTHING, Access, Grant
from qa.surfaces.guard import ADMIN_PREFIX, NO_BODY, AccessLog, Guard, Rule, gradio_rules, is_loopback_host

if TYPE_CHECKING:
    from qa.answer.pipeline import QA
    from qa.surfaces.startup import Startup

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
API_PREFIX = "/api/"
EXAMPLE_BODY = '{"question": "When was the dialogue declared?"}'  # quoted in error messages
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
    """The CSP header value that lets exactly these origins (and this server) frame the chat.
    CSP host sources cannot be IPv6 literals, so ``http://[::1]:*`` (allowed for CORS) is left
    out here: browsers logged an error for it on every page load."""
    if origins == ["*"]:
        return "frame-ancestors *"
    return " ".join(["frame-ancestors", "'self'", *(o for o in origins if "://[" not in o)])


class SecurityHeaders:
    """``Content-Security-Policy: frame-ancestors ...`` and ``nosniff`` on every response; the
    admin pages may not be framed at all."""

    def __init__(self, app, csp: str):
        self.app = app
        self.public = [(b"content-security-policy", csp.encode()), (b"x-content-type-options", b"nosniff")]
        self.admin = [(b"content-security-policy", b"frame-ancestors 'none'"), (b"x-content-type-options", b"nosniff"),
                      (b"referrer-policy", b"same-origin")]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        extra = self.admin if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/") else self.public

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in extra if h[0] not in names]
            await send(message)

        return await self.app(scope, receive, send_with_headers)


# ---------------------------------------------------------------------------------------------
# The API's shapes (OpenAPI is generated from these).


class SourceRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    doc: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class HistoryTurn(BaseModel):
    role: Literal["user", "assistant"] = Field(description="Who said it.")
    content: str = Field(description="What was said (for assistant turns, the answer text).")
    source: SourceRef | None = Field(None, description="For an answer: its `source` as /api/ask returned it, so a "
                                                       "follow-up resolves to the sentence that answer came from.")


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(description="The question that was answered.")
    answer: str | None = Field(description="The answer shown; null when the bot declined.")
    vote: Literal["up", "down"]
    correction: str = Field("", description="What the answer should have been (optional, with a down vote).")
    history: list[HistoryTurn] | None = None


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
    page: int | None = Field(None, description="PDF: the 1-based page the supporting sentence starts on (null for other kinds).")
    page_end: int | None = Field(None, description="PDF: the page it ends on.")


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
    kind: str = Field("answer", description="answer, declined, overview (an open question: no single answer, "
                                            "see `overview`) or language (asked in a language the system does not read).")
    overview: list[dict] = Field([], description="For an open question: sentences {text, citation} copied from the "
                                                 "numbered citations.")
    corrected: str | None = Field(None, description="The question as read after correcting misspelt words; null "
                                                    "when nothing was corrected.")


class ErrorOut(BaseModel):
    error: str = Field(description="What went wrong, in words for people.")
    code: str = Field(description="bad_question, unauthorized, invalid_request, too_large, unavailable or internal.")
    detail: list | None = Field(None, description="Field-level problems, for invalid_request.")


# ---------------------------------------------------------------------------------------------
# The app.


def _gradio_loader() -> Path:
    return Path(str(resources.files("gradio").joinpath("templates/frontend/gradio.js")))


def admin_enabled(settings: Settings) -> bool:
    """The admin pages exist with an admin key, or without one on a loopback bind."""
    return bool(settings.admin_key) or is_loopback_host(settings.host)


def create_app(qa: QA, settings: Settings | None = None, startup: Startup | None = None):
    """The FastAPI app: API, widget, web-component loader, health check, Gradio chat at ``/``,
    admin pages at ``/admin``. With ``startup`` (``qa serve``), questions and ``/healthz`` wait
    for nothing: until the index is loaded they say it is being built."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no phoning home
    import gradio as gr
    from fastapi import Depends, FastAPI
    from fastapi.exception_handlers import http_exception_handler
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
    from fastapi.security import APIKeyHeader, HTTPBearer
    from starlette.exceptions import HTTPException as StarletteHTTPException
    from starlette.middleware.cors import CORSMiddleware

    from qa.surfaces.admin import MAX_UPLOAD_FILE_BYTES, create_admin
    from qa.surfaces.docview import message as page_message
    from qa.surfaces.render import to_html
    from qa.surfaces.view import answer_json, answer_source, view
    from qa.surfaces.chat import chat_css, chat_theme, create_demo

    settings = settings or qa.settings
    access = Access(settings.access_file or None)
    sign = access.sign if access.enabled else None
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

    def grant_of(given: str) -> Grant | None:
        """What a request's key may see: everything with the operator's api_key (or when no key is
        needed), the access file's grant with an access key, else None."""
        if settings.api_key and given and hmac.compare_digest(given.encode(), settings.api_key.encode()):
            return EVERYTHING
        if access.enabled:
            return access.grant(given)
        return None if settings.api_key else EVERYTHING

    def check_key(token=Depends(bearer), key: str | None = Depends(header_key)) -> Grant:
        grant = grant_of(key or (token.credentials if token else ""))
        if grant is None:
            raise _Unauthorized()
        return grant

    def request_grant(request: Request) -> Grant | None:
        """``check_key`` for routes that read the key themselves (the document view, /healthz)."""
        auth = request.headers.get("authorization", "")
        given = request.headers.get("x-api-key") or (auth[7:].strip() if auth[:7].lower() == "bearer " else "")
        return grant_of(given)

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
        tags=["qa"],
    )
    def ask(req: AskRequest, grant: Grant = Depends(check_key)):  # sync: FastAPI runs it in a worker thread
        """Ask one question, optionally with earlier turns for follow-ups. The answer is copied from
        the corpus and comes with numbered citations (exact excerpts with character offsets); when
        the evidence is too weak, `abstained` is true and the citations are the closest passages."""
        history = [t.model_dump() for t in req.history or []]
        waiting = startup.not_ready() if startup is not None else None
        if waiting:
            return error(503, "unavailable", waiting, headers={"Retry-After": "10"})
        try:
            with answer_slots:  # at most `concurrency` at once: more only thrash 2 cores (docs/robustness.md)
                answer = qa.ask(req.question, history=history, top_k=req.top_k, collections=grant.collections)
        except BadQuestionError as e:
            return error(400, "bad_question", str(e))
        except QAError as e:
            return error(503, "unavailable", str(e))
        except Exception:
            log.exception("failed to answer %r", req.question)
            return error(500, "internal", "something went wrong while answering; the error was logged on the server")
        out = answer_json(answer, sign)
        out["html"] = to_html(view(answer, sign), source=answer_source(answer))
        return JSONResponse(out)

    @app.post("/api/feedback", summary="Thumbs up or down on an answer", tags=["qa"], response_model=None,
              dependencies=[Depends(check_key)],
              responses={200: {"description": "Stored."}, 400: {**err}, 413: {**err}, 422: {**err}, 429: {**err},
                         503: {**err}})
    def give_feedback(req: FeedbackRequest, request: Request):
        """Store a vote (and an optional correction) on an answer, append-only; `qa eval` reads the
        file as a test set (docs/evaluation.md). Votes are rate-limited per client address (429)."""
        from qa.surfaces import feedback

        vote = feedback.Vote(req.question, req.answer, req.vote == "up", req.correction,
                             tuple(t.model_dump(include={"role", "content"}) for t in req.history or []))
        try:
            feedback.submit(settings, vote, (request.client.host if request.client else ""),
                            keyed=bool(settings.api_key))  # check_key has let it through: it carries the key
        except feedback.TooManyVotes as e:
            return error(429, "too_many_votes", str(e), headers={"Retry-After": str(max(1, round(settings.feedback_interval)))})
        except QAError as e:
            return error(503, "unavailable", str(e))
        return {"stored": True}

    @app.get("/doc/{doc_id:path}", include_in_schema=False)
    def document(request: Request, doc_id: str, start: int | None = None, end: int | None = None,
                 original: bool = False, image: int | None = None, t: str | None = None):
        """The whole document, the cited passage highlighted and scrolled to (``#passage``); for a
        PDF beside the cited page's image (``?image=N`` is that image). With access keys, only
        through a link an answer handed out (``t``) or with a key that sees it; anything else
        looks exactly like a document that does not exist."""
        from qa.surfaces.docview import page

        waiting = startup.not_ready() if startup is not None else None
        if waiting:
            return HTMLResponse(page_message(waiting), status_code=503)
        try:
            index = qa.index
        except QAError:
            return HTMLResponse(page_message("The documents cannot be searched right now."), status_code=503)
        doc = index.documents.get(doc_id)
        if doc is not None and access.enabled and not access.signed(doc_id, t):
            grant = request_grant(request)
            if grant is None or not grant.sees(doc_id):
                doc = None
        if doc is None:
            return HTMLResponse(page_message("There is no such document here."), status_code=404)
        if original:
            return _original(doc)
        if image is not None:
            return _page_image(doc, image)
        return HTMLResponse(page(doc, start, end, _cited_page(doc, start, end), sign(doc.id) if sign else ""),
                            headers={"Cache-Control": "no-store"})

    def _source(doc) -> Path | None:
        """The file an indexed document was read from, inside the corpus folder (else None)."""
        root = Path(settings.corpus_dir).resolve()
        path = (root / doc.id).resolve()
        return path if path.is_relative_to(root) and path.is_file() else None

    def _cited_page(doc, start, end):
        """(page, boxes of the passage on it) for a PDF cited at ``start``..``end``; else None."""
        from qa.surfaces.pdfpage import passage_boxes

        path = _source(doc) if doc.kind == "pdf" and doc.pages else None
        if path is None or start is None or end is None or not 0 <= start < end <= len(doc.text):
            return None
        n = doc.page_at(start)
        return n, passage_boxes(path, doc, n, start, end)

    def _page_image(doc, n: int):
        """Page ``n`` of an indexed PDF as PNG: only that document's own file, only a page it has."""
        from qa.surfaces.pdfpage import render_png

        path = _source(doc) if doc.kind == "pdf" else None
        png = render_png(path, n) if path is not None and 1 <= n <= max(1, len(doc.pages)) else None
        if png is None:
            return HTMLResponse(page_message("There is no such page here."), status_code=404)
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})

    def _original(doc):
        """The file a document was read from: only an indexed document's own file, inside the corpus
        folder, sent as a download (never rendered here)."""
        path = _source(doc)
        if path is None:
            return HTMLResponse(page_message("The original file is no longer there."), status_code=404)
        types = {"pdf": "application/pdf", "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 "html": "text/html; charset=utf-8", "text": "text/plain; charset=utf-8"}
        return FileResponse(path, media_type=types.get(doc.kind, "application/octet-stream"), filename=path.name,
                            content_disposition_type="attachment", headers={"Cache-Control": "no-store"})

    @app.get("/answer.css", include_in_schema=False)
    def answer_css():
        return FileResponse(STATIC_DIR / "answer.css", media_type="text/css; charset=utf-8",
                            headers={"Cache-Control": "public, max-age=300"})

    def counted(status: dict, request: Request) -> dict:
        """With access keys, the counts are those of the collections the request's key sees (none
        without a key): how big another team's collection is is theirs to know."""
        if not access.enabled or "documents" not in status:
            return status
        grant = request_grant(request)
        status = {k: v for k, v in status.items() if k not in ("documents", "chunks")}
        if grant is not None:
            index = qa.index
            where = None if grant.collections is None else Where(grant.collections)
            status["documents"] = sum(1 for d in index.documents if grant.sees(d))
            status["chunks"] = index.search.count("chunk", where)
        return status

    @app.get("/healthz", tags=["ops"], summary="Liveness and index size")
    def healthz(request: Request):
        if startup is not None:
            status = startup.status()
            return JSONResponse(counted(status, request), status_code=200 if status["status"] == "ok" else 503,
                                headers=None if status["status"] == "ok" else {"Retry-After": "5"})
        try:
            index = qa.index
        except QAError as e:  # e.g. the corpus folder is missing: the app runs, but cannot answer yet
            return JSONResponse({"status": "unavailable", "error": str(e)}, status_code=503)
        return counted({"status": "ok", "documents": len(index.documents), "chunks": len(index.chunks)}, request)

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
    cors = {"allow_origins": ["*"]} if origins == ["*"] else {"allow_origin_regex": origin_regex(origins)}
    app.add_middleware(CORSMiddleware, **cors, allow_methods=["GET", "POST", "OPTIONS"], allow_headers=["*"],
                       allow_credentials=False, max_age=600)
    app.add_middleware(SecurityHeaders, csp=frame_ancestors(origins))
    with_admin = admin_enabled(settings)
    allowed = re.compile(origin_regex(origins)) if origins != ["*"] else None
    app.add_middleware(Guard, rules=routes(settings, with_admin),
                       origin_ok=lambda o: allowed is None or allowed.match(o) is not None,
                       admin_key=settings.admin_key, loopback_bind=is_loopback_host(settings.host),
                       max_streams_per_client=settings.max_streams_per_client, stream_seconds=settings.stream_seconds)
    app.add_middleware(AccessLog)

    # Gradio answers one event at a time unless told otherwise; answering is read-only and thread-safe.
    if with_admin:
        admin = create_admin(qa, access).queue(default_concurrency_limit=1, max_size=16)
        app = gr.mount_gradio_app(app, admin, path=ADMIN_PREFIX, server_name=settings.host, server_port=settings.port,
                                  show_error=False, ssr_mode=False, max_file_size=MAX_UPLOAD_FILE_BYTES, theme=chat_theme())
        _launched(admin)
    demo = create_demo(qa, startup, access, settings).queue(default_concurrency_limit=settings.concurrency, max_size=settings.queue_size)
    demo.state_session_capacity = settings.chat_sessions  # bounds memory: Gradio keeps 10,000 sessions by default
    app = gr.mount_gradio_app(app, demo, path="/", server_name=settings.host, server_port=settings.port,
                              show_error=False, ssr_mode=False, theme=chat_theme(), css=chat_css())
    _launched(demo)
    _quiet_gradio_tracebacks()
    _unknown_endpoints_are_404(app)
    return app


def _unknown_endpoints_are_404(app) -> None:
    """Gradio raises FnIndexInferError for an api_name it does not have, which became a 500 and a
    printed stack; it is the client's mistake, so each mounted Gradio app answers 404."""
    from fastapi.responses import JSONResponse
    from gradio.route_utils import FnIndexInferError

    async def unknown(request, exc):
        return JSONResponse({"error": "no such API endpoint; see /gradio_api/info", "code": "not_found"}, status_code=404)

    for route in app.routes:
        mounted = getattr(route, "app", None)
        if mounted is not None and hasattr(mounted, "get_blocks"):
            mounted.add_exception_handler(FnIndexInferError, unknown)


class _OneLineTracebacks:
    """Stands in for the ``traceback`` module inside Gradio's event code, which prints a full
    stack for every event whose input it refuses (a missing value, a file that was never
    uploaded): clients can send those at will, so each becomes one warning line instead. Our own
    handlers catch and log their errors themselves (qa/surfaces/chat.py, qa/surfaces/eval_tab.py)."""

    def __getattr__(self, name):
        return getattr(traceback, name)

    @staticmethod
    def print_exc(*args, **kwargs):
        e = sys.exc_info()[1]
        logging.getLogger("qa.gradio").warning("event refused: %s: %s", type(e).__name__,
                                               " ".join(str(e).split())[:300])


def _quiet_gradio_tracebacks() -> None:
    import gradio.queueing
    import gradio.routes

    for module in (gradio.queueing, gradio.routes):
        module.traceback = _OneLineTracebacks()


def _launched(blocks) -> None:
    """Mark mounted Blocks as launched. Gradio checks that a file named in an event's input was
    uploaded to this server (``processing_utils._check_allowed``) only once ``has_launched`` is
    set, which ``launch()`` does and ``mount_gradio_app`` does not: without this, any path on the
    machine sent inside a chat message was copied into Gradio's cache and served."""
    blocks.has_launched = True


def routes(settings: Settings, with_admin: bool) -> list[Rule]:
    """Every request the server accepts (qa.http_guard.Guard refuses the rest with 404)."""
    read = {"GET", "HEAD"}
    # The chat's event routes carry the conversation so far with each message: generous, bounded.
    event_body = max(1 << 20, 16 * settings.max_request_bytes)
    ours = [Rule(frozenset(read), p) for p in ("/healthz", "/widget.js", "/gradio.js", "/openapi.json", "/answer.css",
                                                 "/doc/*")]
    ours += [Rule(frozenset({"POST"}), "/api/ask", settings.max_request_bytes),
             Rule(frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"}), "/api/*", settings.max_request_bytes)]
    rules = ours + gradio_rules("", event_body)
    if with_admin:
        from qa.surfaces.admin import MAX_UPLOAD_REQUEST_BYTES

        rules += gradio_rules(ADMIN_PREFIX, event_body, admin=True)
        # one upload request may carry several files (the Documents tab); Gradio caps each file
        rules += [Rule(frozenset({"POST"}), ADMIN_PREFIX + "/gradio_api/upload*", MAX_UPLOAD_REQUEST_BYTES + (64 << 10),
                       True),
                  Rule(frozenset(read), ADMIN_PREFIX + "/gradio_api/upload_progress*", NO_BODY, True),
                  Rule(frozenset(read), ADMIN_PREFIX + "/gradio_api/file=*", NO_BODY, True)]
    return rules


def _version() -> str:
    from qa import __version__

    return __version__


def serve(settings: Settings, on_stage=None) -> None:
    """Serve the chat at / plus /api/ask, /widget.js, /admin (qa/surfaces/server.py) at once; the index is
    loaded, or built in a child process, in the background (qa/surfaces/startup.py)."""
    from qa.answer.pipeline import QA
    from qa.surfaces.http import bind, log_requests_to_stderr, run
    from qa.surfaces.startup import Startup

    sock = bind(settings.host, settings.port)  # fail fast, with a readable message, if the port is taken
    try:
        qa = QA(settings, build_in_child=True)
        startup = Startup(qa, progress=True, on_stage=on_stage)
        app = create_app(qa, settings, startup)
    except BaseException:
        sock.close()
        raise
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    url = f"http://{host}:{sock.getsockname()[1]}"
    log_requests_to_stderr()
    (on_stage or log.info)(f"Chat on {url}/  ·  API POST {url}/api/ask (schema {url}/openapi.json)  ·  widget {url}/widget.js")
    startup.start()
    run(app, sock, settings)  # closes sock
