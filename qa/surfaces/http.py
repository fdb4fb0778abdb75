"""Running the app: a listening socket, and uvicorn with the limits a public server needs.

uvicorn on its own gives a connection that has sent half its headers all the time it likes and
accepts connections until the process runs out of file descriptors (20,000 trickling clients
stopped ``/healthz`` and filled the log with "Too many open files"). ``GuardedH11`` adds, per
connection:

- a header deadline: a request's headers must be complete within ``header_timeout`` seconds of
  its first byte (of the connection's first byte for the first request);
- a body deadline: the whole body within ``body_timeout`` seconds of the headers;
- a connection cap: beyond ``max_connections``, the connection that has waited longest without
  sending a whole request (slow, or idle between requests) is closed to make room, so new
  clients are always served; only when every connection is busy answering is the new one
  refused.

Idle keep-alive connections are closed by uvicorn after ``timeout_keep_alive`` (5 s).
"""

from __future__ import annotations

import contextlib
import logging
import resource
import socket
import sys
import threading
import time

from qa.core.errors import QAError

log = logging.getLogger(__name__)


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
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def guarded_protocol(header_timeout: float, body_timeout: float, max_connections: int, per_client: int = 64):
    """uvicorn's h11 protocol with the deadlines and the connection caps described above."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    from qa.surfaces.guard import client_key, is_stream

    class GuardedH11(H11Protocol):
        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._deadline = None
            self._waiting_since = self.loop.time()
            self._key = client_key((self.client or ("",))[0] or "")
            self._arm(header_timeout)
            mine = sum(1 for c in self.connections if isinstance(c, GuardedH11) and c._key == self._key)
            if mine > per_client:
                log.warning("refused a connection from %s: it holds %d already (max_connections_per_client)",
                            self._key, per_client)
                self._disarm()
                self.transport.close()
            elif len(self.connections) > max_connections:
                self._make_room()

        def _arm(self, seconds: float) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                log.info("closed a connection from %s: request not complete in time", (self.client or ("?",))[0])
                self.transport.close()

        def _waiting(self) -> bool:
            """Waiting for (the rest of) a request, with no answer in progress."""
            return self.conn.their_state is h11.IDLE and (self.cycle is None or self.cycle.response_complete)

        def _streaming(self) -> bool:
            """Answering one of Gradio's endless streams."""
            cycle = self.cycle
            return (cycle is not None and not cycle.response_complete
                    and is_stream(cycle.scope.get("method", ""), cycle.scope.get("path", "")))

        def _make_room(self) -> None:
            others = [c for c in self.connections if c is not self and isinstance(c, GuardedH11)
                      and not c.transport.is_closing()]
            idle = [c for c in others if c._waiting()]
            streams = [c for c in others if c._streaming()]
            if idle:
                oldest = min(idle, key=lambda c: c._waiting_since)
                oldest._disarm()
                oldest.transport.close()
            elif streams:  # the oldest stream of whoever holds the most connections
                held: dict[str, int] = {}
                for c in others:
                    held[c._key] = held.get(c._key, 0) + 1
                greedy = max(streams, key=lambda c: held[c._key])._key
                victim = min((c for c in streams if c._key == greedy), key=lambda c: c._waiting_since)
                log.info("closed a stream from %s to make room (max_connections)", greedy)
                victim.transport.close()
            else:  # every other connection is being answered: this one must wait for another day
                log.warning("refused a connection: %d connections are being answered", len(self.connections) - 1)
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            state = self.conn.their_state
            if state is h11.IDLE:  # part of the next request's headers: its deadline runs from now
                if self._deadline is None and not self.transport.is_closing():
                    self._arm(header_timeout)
            elif state is h11.SEND_BODY:
                if getattr(self, "_body_armed", False) is False:
                    self._body_armed = True
                    self._arm(body_timeout)
            else:
                self._body_armed = False
                self._disarm()

        def on_response_complete(self) -> None:
            self._disarm()
            self._body_armed = False
            self._waiting_since = self.loop.time()
            super().on_response_complete()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

    return GuardedH11


def _file_limit(max_connections: int) -> int:
    """Raise the soft limit on open files towards what ``max_connections`` needs (the hard
    limit permitting); returns the connections that fit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max_connections + 256  # the index, the model, logs, a child build
    if soft < want:
        target = want if hard == resource.RLIM_INFINITY else min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft < want:
        fitted = max(64, soft - 256)
        log.warning("only %d open files are allowed; serving at most %d connections (max_connections=%d)",
                    soft, fitted, max_connections)
        return fitted
    return max_connections


def uvicorn_server(app, settings, **config):
    """A uvicorn server with the guarded protocol that, on shutdown, first ends Gradio's endless
    heartbeat streams (as ``demo.close()`` would), so Ctrl-C with browsers still connected stops
    promptly and cleanly."""
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets=None):
            for route in getattr(app, "routes", []):
                stop = getattr(getattr(route, "app", None), "stop_event", None)
                if stop is not None:
                    stop.set()
            await super().shutdown(sockets=sockets)

    protocol = guarded_protocol(settings.header_timeout, settings.body_timeout, _file_limit(settings.max_connections),
                                settings.max_connections_per_client)
    return Server(uvicorn.Config(app, log_level="warning", lifespan="on", http=protocol, ws="none",
                                 access_log=False, **config))


@contextlib.contextmanager
def serve_in_thread(app, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0, settings=None):
    """Run ``app`` with uvicorn in a background thread; yields its base URL, stops it on exit.

    For tests and notebooks. ``port=0`` picks a free port; waits at most ``timeout`` seconds.
    """
    from qa.core.config import Settings

    sock = bind(host, port)
    port = sock.getsockname()[1]
    server = uvicorn_server(app, settings or Settings(), timeout_graceful_shutdown=2)
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


def log_requests_to_stderr() -> None:
    """Access lines (``qa.access``) and the server's warnings on stderr, one line each."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    for name in ("qa.access", "qa"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False


def run(app, sock: socket.socket, settings) -> None:
    """Serve ``app`` on the listening socket ``sock`` (from ``bind``) in the foreground until Ctrl-C."""
    try:
        uvicorn_server(app, settings, timeout_graceful_shutdown=5).run(sockets=[sock])  # answers in flight get 5 s
    finally:
        sock.close()
