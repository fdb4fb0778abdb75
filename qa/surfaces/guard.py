"""What may reach the app at all: a route allow-list, body caps, origin checks and the admin key.

The server faces the internet, and Gradio mounts far more routes than the chat uses (file
serving, a URL proxy, uploads, streaming, monitoring, login pages). ``Guard`` is one ASGI
middleware in front of everything; a request passes only when

1. a ``Rule`` names its method and path (anything else is 404, before any app code runs);
2. its body is within the rule's cap (413 without reading more than the cap);
3. a browser request that changes something (not GET/HEAD/OPTIONS) comes from this server's
   own origin or, on public routes, from an origin in ``allowed_origins`` (403 otherwise: a form
   post is a "simple" request that CORS does not stop from being sent);
4. on an admin route, the admin key is given (HTTP Basic password, ``Authorization: Bearer`` or
   ``X-Admin-Key``). Without a configured key the admin pages exist only on a loopback bind,
   for requests from loopback addressed to a loopback host name (which also defeats DNS
   rebinding); otherwise they answer 404 and say how to turn them on;
5. on a long-lived stream (Gradio's heartbeat and event streams: endless responses that the
   connection cap of qa/surfaces/http.py cannot reclaim as idle), its client address holds
   fewer than ``max_streams_per_client`` streams (429 otherwise), and the stream is ended after
   ``stream_seconds`` (a browser's EventSource reconnects).

``AccessLog`` writes one line per request (method, path, status, milliseconds).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import ipaddress
import json
import logging
import re
import time
from dataclasses import dataclass

access_log = logging.getLogger("qa.access")
error_log = logging.getLogger("qa.gradio")

READ_METHODS = frozenset({"GET", "HEAD"})
SAFE_METHODS = READ_METHODS | {"OPTIONS"}
ADMIN_PREFIX = "/admin"
#: What a request without a body may still declare (some clients send "Content-Length: 0").
NO_BODY = 1024


@dataclass(frozen=True)
class Rule:
    """Requests with one of ``methods`` to ``path`` (exact; a trailing ``*`` makes it a prefix)
    are let through with bodies of at most ``max_body`` bytes."""

    methods: frozenset[str]
    path: str
    max_body: int = NO_BODY
    admin: bool = False

    def matches(self, method: str, path: str) -> bool:
        if method not in self.methods and method != "OPTIONS":  # CORS preflights: the CORS middleware answers
            return False
        if self.path.endswith("*"):
            return path.startswith(self.path[:-1])
        return path == self.path


def _rules(methods: set[str], paths: tuple[str, ...], max_body: int = NO_BODY, admin: bool = False) -> list[Rule]:
    return [Rule(frozenset(methods), p, max_body, admin) for p in paths]


def gradio_rules(prefix: str, event_body: int, admin: bool = False) -> list[Rule]:
    """The Gradio routes a chat page, the ``<gradio-app>`` web component and ``gradio_client``
    use (seen in a browser session and in gradio_client's calls), under ``prefix``."""
    pages = tuple(prefix + p for p in ("/", "/config", "/config/", "/theme.css", "/favicon.ico", "/robots.txt",
                                       "/gradio_api/info", "/gradio_api/info/", "/gradio_api/startup-events",
                                       "/gradio_api/app_id"))
    if prefix:
        pages += (prefix,)
    trees = tuple(prefix + p for p in ("/assets/*", "/static/*", "/gradio_api/heartbeat/*", "/gradio_api/queue/data*",
                                       "/gradio_api/call/*"))
    events = tuple(prefix + p for p in ("/gradio_api/queue/join*", "/gradio_api/run/*", "/gradio_api/call/*",
                                        "/gradio_api/api/*"))
    return (_rules({"GET", "HEAD"}, pages + trees, admin=admin)
            + _rules({"POST"}, events, max_body=event_body, admin=admin)
            + _rules({"POST"}, (prefix + "/gradio_api/cancel",), max_body=4096, admin=admin))


#: Gradio's endless responses: the session heartbeat, the queue's event stream, a call's result stream.
_STREAM = re.compile(r"^(?:" + re.escape(ADMIN_PREFIX) + r")?/gradio_api/(?:heartbeat/|queue/data|call/[^/]+/[^/]+)")


def is_stream(method: str, path: str) -> bool:
    """Whether a request opens one of Gradio's long-lived streams."""
    return method in READ_METHODS and _STREAM.match(path) is not None


def client_key(host: str) -> str:
    """Whom per-client limits count: the IPv4 address, or the /64 network of an IPv6 one (one
    subscriber gets a whole /64, so counting single IPv6 addresses would limit nobody)."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(getattr(ip, "ipv4_mapped", None) or ip)


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    """The host part of a Host header ("127.0.0.1:7860" -> "127.0.0.1", "[::1]:80" -> "::1")."""
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def _json(status: int, code: str, message: str, extra_headers: list | None = None):
    body = json.dumps({"error": message, "code": code}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store")] + (extra_headers or [])
    return status, headers, body


class Guard:
    def __init__(self, app, rules: list[Rule], origin_ok, admin_key: str = "", loopback_bind: bool = True,
                 max_streams_per_client: int = 16, stream_seconds: float = 3600.0):
        """``origin_ok(origin) -> bool``: whether a foreign origin may post to public routes."""
        self.app, self.rules, self.origin_ok = app, rules, origin_ok
        self.admin_key, self.loopback_bind = admin_key, loopback_bind
        self.max_streams, self.stream_seconds = max_streams_per_client, stream_seconds
        self._streams: dict[str, int] = {}  # open streams per client key (one event loop: no lock)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":  # websockets are off in the server; lifespan passes
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            return await self.app(scope, receive, send)
        method, path = scope["method"], scope["path"]
        rule = next((r for r in self.rules if r.matches(method, path)), None)
        headers = _headers(scope)
        if rule is None:
            if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
                problem = self._admin_problem(scope, headers)
                if problem:
                    return await _respond(send, *problem)
            return await _respond(send, *_json(404, "not_found", f"no such page or route: {method} {_shown(path)}"))
        if method not in SAFE_METHODS:
            problem = self._origin_problem(headers, rule)
            if problem:
                return await _respond(send, *_json(403, "forbidden_origin", problem))
        if rule.admin:
            problem = self._admin_problem(scope, headers)
            if problem:
                return await _respond(send, *problem)
        if path == ADMIN_PREFIX and method in READ_METHODS:
            # "/admin" as people write it; the mounted app lives at "/admin/". A fixed, relative
            # target (no Host, no query echoed into another origin): never an open redirect.
            query = scope.get("query_string", b"").decode("latin-1")
            target = ADMIN_PREFIX + "/" + ("?" + _shown(query, 1000) if query else "")
            return await _respond(send, 308, [(b"location", target.encode("latin-1")), (b"content-length", b"0")], b"")
        if is_stream(method, path):
            return await self._stream(scope, receive, send, headers, rule)
        return await self._forward(scope, receive, send, headers, rule)

    async def _stream(self, scope, receive, send, headers: dict, rule: Rule):
        """A long-lived stream: counted per client address and ended after ``stream_seconds``."""
        key = client_key((scope.get("client") or ("",))[0] or "")
        if self._streams.get(key, 0) >= self.max_streams:
            error_log.warning("refused a stream from %s: it holds %d already", key, self.max_streams)
            return await _respond(send, *_json(
                429, "too_many_streams", f"this address already holds {self.max_streams} open streams (the server's "
                "max_streams_per_client setting); close some tabs and try again", [(b"retry-after", b"30")]))
        self._streams[key] = self._streams.get(key, 0) + 1
        state = {"started": False, "done": False}

        async def tracking(message):
            state["started"] = state["started"] or message["type"] == "http.response.start"
            state["done"] = state["done"] or (message["type"] == "http.response.body" and not message.get("more_body"))
            await send(message)

        try:
            # Cancelling the response is what a client's disconnect does, so Gradio cleans up
            # the session as it would then.
            await asyncio.wait_for(self._forward(scope, receive, tracking, headers, rule), self.stream_seconds)
        except (asyncio.TimeoutError, TimeoutError):
            if state["started"] and not state["done"]:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            elif not state["started"]:
                await _respond(send, *_json(504, "stream_ended", "the stream ran past the server's stream_seconds"))
        finally:
            left = self._streams.get(key, 1) - 1
            if left > 0:
                self._streams[key] = left
            else:
                self._streams.pop(key, None)

    async def _forward(self, scope, receive, send, headers: dict, rule: Rule):
        method, path = scope["method"], scope["path"]
        started = False

        async def tracking(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            return await _limited(self.app, scope, receive, tracking, headers, rule.max_body)
        except Exception as e:
            # Gradio raises on some malformed requests (an unknown api_name, a body of the wrong
            # shape); uvicorn would print a full stack for each. Those get one line and an error
            # response; an exception from our own code is logged with its stack.
            if _raised_in_gradio(e):
                error_log.warning("request refused: %s %s: %s: %s", method, _shown(path), type(e).__name__,
                                  _shown(str(e), 200).replace("?", " "))
            else:
                error_log.exception("request failed: %s %s", method, _shown(path))
            if started:
                return
            status, code = (404, "not_found") if type(e).__name__ == "FnIndexInferError" else (500, "internal")
            message = "no such API endpoint" if status == 404 else "the request could not be handled"
            return await _respond(send, *_json(status, code, message))

    def _origin_problem(self, headers: dict, rule: Rule) -> str | None:
        origin = headers.get("origin")
        site = headers.get("sec-fetch-site", "")
        if origin is None:
            # Browsers send Origin with every cross-origin POST; without it, a browser that says
            # the request is cross-site is still refused.
            return "cross-site requests are not accepted here" if site == "cross-site" else None
        host = headers.get("host", "")
        if origin in (f"http://{host}", f"https://{host}"):
            return None
        if not rule.admin and self.origin_ok(origin):
            return None
        return (f"requests from the web page at {_shown(origin)} are not accepted; the server's allowed_origins "
                "setting lists the sites that may embed the chat")

    def _admin_problem(self, scope, headers: dict):
        if not self.admin_key:
            client = (scope.get("client") or ("",))[0]
            local = (self.loopback_bind and is_loopback_host(client or "")
                     and is_loopback_host(_host_name(headers.get("host", ""))))
            if local:
                return None
            return _json(404, "admin_off", "the admin pages are off on this server; start it with QA_ADMIN_KEY set "
                         "to use them (or bind it to 127.0.0.1 and open them from this machine)")
        given = headers.get("x-admin-key", "")
        auth = headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer":
            given = value.strip()
        elif scheme.lower() == "basic":
            try:
                given = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                given = ""
        if given and hmac.compare_digest(given.encode(), self.admin_key.encode()):
            return None
        return _json(401, "unauthorized", "the admin pages need the admin key: log in with any user name and the key "
                     "as password, or send 'Authorization: Bearer KEY'",
                     [(b"www-authenticate", b'Basic realm="qa admin", charset="UTF-8"')])


def _raised_in_gradio(e: BaseException) -> bool:
    tb = e.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_globals.get("__name__", "")
        tb = tb.tb_next
    return bool(last) and last.split(".")[0] in ("gradio", "gradio_client", "fastapi", "starlette", "pydantic")


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


_UNPRINTABLE = re.compile(r"[^\x21-\x7e]")


def _shown(text: str, limit: int = 120) -> str:
    """Client-supplied text fit for a message or a log line: printable ASCII, bounded length."""
    text = _UNPRINTABLE.sub("?", text)
    return text if len(text) <= limit else text[:limit] + "..."


async def _respond(send, status: int, headers: list, body: bytes):
    await send({"type": "http.response.start", "status": status, "headers": headers + [(b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


async def _limited(app, scope, receive, send, headers: dict, max_bytes: int):
    """Run ``app`` with the request body capped at ``max_bytes``: a declared or actual larger
    body gets 413 after reading at most ``max_bytes + 1`` bytes; smaller bodies are replayed."""
    declared = headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
        return await _respond(send, *_too_large(max_bytes))
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            return await _respond(send, *_too_large(max_bytes))
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

    return await app(scope, replay, send)


def _too_large(max_bytes: int):
    return _json(413, "too_large", f"request body too large; the limit for this route is {max_bytes:,} bytes")


class AccessLog:
    """One line per request on the ``qa.access`` logger: method, path, status, milliseconds;
    none for a successful request that only keeps a page going (``ROUTINE``)."""

    #: A chat page loads about 30 assets and keeps a heartbeat stream open, and monitors poll
    #: /healthz: a line for each made about 1,000 lines in 19 minutes of light use and buried
    #: the questions and the errors. Refused and failed ones (status 400 and up) are logged.
    ROUTINE = re.compile(r"^(%s)?(/assets/|/static/|/gradio_api/heartbeat/|/theme\.css$|/favicon\.ico$|/healthz$)"
                         % re.escape(ADMIN_PREFIX))

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 0

        async def recording(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                log_line()
            await send(message)

        logged = False

        def log_line():
            nonlocal logged
            if not logged:
                logged = True
                if status < 400 and scope["method"] in ("GET", "HEAD") and self.ROUTINE.match(scope["path"]):
                    return
                client = (scope.get("client") or ("-",))[0]
                access_log.info("%s %s %s %d %.0fms", client, scope["method"], _shown(scope["path"], 200),
                                status, 1000 * (time.perf_counter() - started))

        try:
            await self.app(scope, receive, recording)
        finally:
            if not logged:  # the client went away before any response
                status = status or 499
                log_line()
