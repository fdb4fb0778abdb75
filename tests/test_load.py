"""Load: many users at once, through the library, the HTTP API and the Gradio route.

In the default run (small and quick):
- ``QA.ask`` from 8 threads gives exactly the single-threaded answers (thread safety);
- the Gradio queue and the API really answer several questions at the same time (a slowed-down
  fake shows the overlap), as configured by ``Settings.concurrency``;
- 4 clients x 5 questions through a real server on 127.0.0.1: zero errors, identical answers.

Marked ``bench`` (``make bench`` or ``pytest -m bench -s tests/test_load.py``): ``qa serve`` in its
own process, 32 clients x 20 questions through the API and through the Gradio route, the
saturation curve (1..32 clients), and RSS before/after 5,000 questions. Results are printed and
written to benchmarks/results/load.json; docs/robustness.md quotes them.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import REPO

DEV = [json.loads(line) for line in (REPO / "testsets" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
       if line.strip()]
QUESTIONS = [d["question"] for d in DEV]
FOLLOW_UPS = [
    ("Who chaired it?", [{"role": "user", "content": "When was the first leaders' summit held?"},
                         {"role": "assistant", "content": "28 August 2006"}]),
    ("Where was it held?", [{"role": "user", "content": "When was the dialogue formally declared?"},
                            {"role": "assistant", "content": "28 August 2004"}]),
    ("How much did it pledge?", [{"role": "user", "content": "What did Japan announce at the 4th meeting?"}]),
]


# ---------------------------------------------------------------------------------------------
# Thread safety of the library


@pytest.mark.integration
def test_ask_from_8_threads_gives_the_single_threaded_answers(real_qa):
    jobs = [(q, None) for q in QUESTIONS[:60]] + FOLLOW_UPS * 3
    reference = [real_qa.ask(q, history=h).to_dict() for q, h in jobs]
    start = threading.Barrier(8)

    def worker(offset: int) -> list[tuple[int, dict]]:
        start.wait()  # all eight begin together
        out = []
        for k in range(len(jobs)):
            i = (k * 7 + offset * 13) % len(jobs)  # each thread walks the jobs in its own order
            q, h = jobs[i]
            out.append((i, real_qa.ask(q, history=h).to_dict()))
        return out

    with ThreadPoolExecutor(8) as ex:
        results = [r for f in [ex.submit(worker, t) for t in range(8)] for r in f.result(timeout=600)]
    assert len(results) == 8 * len(jobs)
    mismatches = [(jobs[i][0], d) for i, d in results if d != reference[i]]
    assert not mismatches, mismatches[:2]


# ---------------------------------------------------------------------------------------------
# The server answers in parallel (configured, not Gradio's default of one at a time)


class SlowQA:
    """A QA whose answers take ``delay`` seconds (sleeping, like I/O-bound work would)."""

    def __init__(self, qa, delay: float):
        self._qa, self.delay = qa, delay
        self.settings = qa.settings
        self.active = self.peak = 0
        self._lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self._qa, name)

    def ask(self, *args, **kwargs):
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            time.sleep(self.delay)
            return self._qa.ask(*args, **kwargs)
        finally:
            with self._lock:
                self.active -= 1


@pytest.mark.parametrize("concurrency", [1, 4])
def test_chat_and_api_answer_concurrently_as_configured(seed_fake_qa, concurrency):
    import httpx
    from gradio_client import Client

    from qa.surfaces.server import create_app
    from qa.surfaces.http import serve_in_thread

    slow = SlowQA(seed_fake_qa, delay=0.4)
    settings = seed_fake_qa.settings.replace(concurrency=concurrency)
    with serve_in_thread(create_app(slow, settings)) as url:
        clients = [Client(url + "/", verbose=False, analytics_enabled=False, download_files=False) for _ in range(4)]
        try:
            with ThreadPoolExecutor(4) as ex:
                t0 = time.perf_counter()
                replies = list(ex.map(lambda c: c.predict(QUESTIONS[0], api_name="/ask"), clients))
                chat_seconds = time.perf_counter() - t0
        finally:
            for c in clients:
                c.close()
        chat_peak, slow.peak = slow.peak, 0
        with httpx.Client(base_url=url, timeout=30) as http, ThreadPoolExecutor(4) as ex:
            t0 = time.perf_counter()
            codes = list(ex.map(lambda _: http.post("/api/ask", json={"question": QUESTIONS[0]}).status_code, range(4)))
            api_seconds = time.perf_counter() - t0
    assert all(isinstance(r, str) and r for r in replies) and codes == [200] * 4
    assert chat_peak == min(4, concurrency), (chat_peak, chat_seconds)
    assert slow.peak == min(4, concurrency), (slow.peak, api_seconds)
    if concurrency == 1:  # Gradio's default: one at a time
        assert chat_seconds >= 4 * slow.delay and api_seconds >= 4 * slow.delay
    # With concurrency 4 the peak of 4 simultaneous answers above is the proof of overlap; a wall-time
    # upper bound flaked on a loaded machine (timing belongs in the `bench` load test).


def test_keep_alive_requests_do_not_wait_for_delayed_acks(seed_fake_qa):
    """The listening socket must be created as TCP (proto IPPROTO_TCP) so that asyncio turns
    Nagle off on each connection; it once was not, and every request on a kept-alive connection
    (what browsers and clients do) took ~40 ms longer: /healthz 45 ms instead of 2. The latency
    itself is measured by the bench test below (a wall-clock bound fails on a busy machine)."""
    import socket as socketlib

    from qa.surfaces.http import bind

    sock = bind("127.0.0.1", 0)
    try:
        assert sock.proto == socketlib.IPPROTO_TCP
    finally:
        sock.close()


@pytest.mark.bench
def test_bench_keep_alive_latency(seed_fake_qa):
    import httpx

    from qa.surfaces.server import create_app
    from qa.surfaces.http import serve_in_thread

    with serve_in_thread(create_app(seed_fake_qa, seed_fake_qa.settings)) as url, httpx.Client(base_url=url) as http:
        http.get("/healthz")
        times = []
        for _ in range(15):
            t0 = time.perf_counter()
            assert http.get("/healthz").status_code == 200
            times.append(time.perf_counter() - t0)
    print(f"\nkeep-alive /healthz: median {1000 * statistics.median(times):.1f} ms")
    assert statistics.median(times) < 0.025, f"median {1000 * statistics.median(times):.1f} ms per request"


def test_concurrency_setting_is_validated():
    from qa.core.config import load_settings
    from qa.core.errors import QAError

    with pytest.raises(QAError, match="concurrency=0"):
        load_settings(concurrency=0)
    assert load_settings().concurrency >= 2


# ---------------------------------------------------------------------------------------------
# Load harness (used by the small test below and by the benchmark)


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def run_clients(make_client, ask, questions: list[str], clients: int, per_client: int, reference: dict,
                timeout: float = 600) -> dict:
    """``clients`` threads, each with its own client, each asking ``per_client`` questions; every
    reply is compared with the single-user ``reference``. Returns errors, mismatches, latencies."""
    barrier = threading.Barrier(clients)
    errors, mismatches, latencies = [], [], []
    lock = threading.Lock()

    def user(k: int):
        client = make_client()
        try:
            barrier.wait(timeout=60)
            for j in range(per_client):
                q = questions[(k * per_client + j) % len(questions)]
                t0 = time.perf_counter()
                try:
                    reply = ask(client, q)
                except Exception as e:  # counted, not raised: the test asserts there are none
                    with lock:
                        errors.append(f"{type(e).__name__}: {e}"[:300])
                    continue
                dt = time.perf_counter() - t0
                with lock:
                    latencies.append(dt)
                    if reply != reference[q]:
                        mismatches.append(q)
        finally:
            close = getattr(client, "close", None)
            if close:
                close()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as ex:
        for f in [ex.submit(user, k) for k in range(clients)]:
            f.result(timeout=timeout)
    wall = time.perf_counter() - t0
    n = len(latencies)
    return {
        "clients": clients, "questions": clients * per_client, "errors": errors, "mismatches": mismatches,
        "seconds": round(wall, 2), "throughput_qps": round(n / wall, 1) if wall else 0.0,
        "median_ms": round(1000 * statistics.median(latencies), 1) if n else None,
        "p95_ms": round(1000 * percentile(latencies, 95), 1) if n else None,
    }


def api_client(url: str):
    import httpx

    return lambda: httpx.Client(base_url=url, timeout=120)


def api_ask(client, q: str) -> dict:
    r = client.post("/api/ask", json={"question": q})
    r.raise_for_status()
    return r.json()  # answer_json(...) plus the answer card's html


class GradioHTTP:
    """The Gradio route without gradio_client: POST /gradio_api/call/ask, then read the event
    stream. Far lighter on the client side, so the server, not the client, is what saturates."""

    def __init__(self, url: str):
        import httpx

        self.http = httpx.Client(base_url=url, timeout=120)

    def close(self):
        self.http.close()


def gradio_http_ask(client: GradioHTTP, q: str) -> str:
    r = client.http.post("/gradio_api/call/ask", json={"data": [q]})  # each call is a new session
    r.raise_for_status()
    event = None
    with client.http.stream("GET", f"/gradio_api/call/ask/{r.json()['event_id']}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                if event == "error":
                    raise RuntimeError(f"gradio error: {line[5:].strip()[:200]}")
                return json.loads(line[5:])[0]
    raise RuntimeError("the event stream ended without a result")


def gradio_client_factory(url: str):
    from gradio_client import Client

    return lambda: Client(url + "/", verbose=False, analytics_enabled=False, download_files=False)


def gradio_ask(client, q: str) -> str:
    """One question in a new conversation: the chat keeps each session's history and rewrites
    follow-ups with it, so only a fresh session has a single, comparable answer per question."""
    client.reset_session()
    return client.predict(q, api_name="/ask")


@pytest.mark.integration
def test_small_load_through_api_and_gradio(real_qa):
    from qa.surfaces.server import create_app
    from qa.surfaces.http import serve_in_thread

    questions = QUESTIONS[:10]
    with serve_in_thread(create_app(real_qa, real_qa.settings)) as url:
        from qa.surfaces.render import to_html
        from qa.surfaces.view import answer_json, answer_source, view

        def reference(q):  # the library's single-user answer, as the API sends it
            a = real_qa.ask(q)
            return {**answer_json(a), "html": to_html(view(a), source=answer_source(a))}

        api_ref = {q: reference(q) for q in questions}
        result = run_clients(api_client(url), api_ask, questions, clients=4, per_client=5, reference=api_ref)
        assert not result["errors"] and not result["mismatches"], result
        one = gradio_client_factory(url)()
        try:
            chat_ref = {q: gradio_ask(one, q) for q in questions}
        finally:
            one.close()
        result = run_clients(gradio_client_factory(url), gradio_ask, questions, clients=4, per_client=5,
                             reference=chat_ref)
        assert not result["errors"] and not result["mismatches"], result

        # The chat's API route keeps no conversation on the server: a follow-up carries its history
        # (as the chat page and the widget send it), so one user's turns never reach another's.
        a, b = gradio_client_factory(url)(), gradio_client_factory(url)()
        try:
            fresh = gradio_ask(b, "Who chaired it?")
            first = a.predict("When was the first leaders' summit held?", api_name="/ask")
            history = [{"role": "user", "content": "When was the first leaders' summit held?"},
                       {"role": "assistant", "content": first}]
            in_a = a.predict("Who chaired it?", history, api_name="/ask")
            assert b.predict("Who chaired it?", api_name="/ask") == fresh
            assert in_a != fresh  # ... while A's own history is used for A's follow-up
        finally:
            a.close()
            b.close()


# ---------------------------------------------------------------------------------------------
# The benchmark: a real `qa serve` process


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class Server:
    """`qa serve` in a subprocess on a free loopback port; stops on exit (bounded waits)."""

    def __init__(self, real_qa, log_dir: Path, **env):
        import httpx

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = REPO / "qa.toml"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
        full_env.update({
            "QA_CONFIG": str(cfg if cfg.is_file() else log_dir / "no-such-qa.toml"),
            "QA_CORPUS_DIR": str(real_qa.settings.corpus_dir), "QA_INDEX_DIR": str(real_qa.settings.index_dir),
            "QA_HOST": "127.0.0.1", "QA_PORT": str(self.port), "GRADIO_ANALYTICS_ENABLED": "False",
            **{k: str(v) for k, v in env.items()},
        })
        self.log_path = log_dir / f"serve-{self.port}.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "qa.surfaces.cli", "serve"], env=full_env, cwd=REPO,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"qa serve exited: {self.log_path.read_text(errors='replace')}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("qa serve did not start within 180 s")
            time.sleep(0.25)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _table(rows: list[dict]) -> str:
    lines = ["| route | clients | questions | errors | mismatches | throughput (q/s) | median ms | p95 ms |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['route']} | {r['clients']} | {r['questions']} | {len(r['errors'])} | "
                     f"{len(r['mismatches'])} | {r['throughput_qps']} | {r['median_ms']} | {r['p95_ms']} |")
    return "\n".join(lines)


BENCH_CONCURRENCY = int(os.environ.get("QA_BENCH_CONCURRENCY", "0"))  # 0: the default of Settings
BENCH_SESSIONS = int(os.environ.get("QA_BENCH_CHAT_SESSIONS", "0"))  # 0: the default of Settings
RESULTS = REPO / "benchmarks" / "results"


@pytest.fixture(scope="module")
def bench_server(real_qa, tmp_path_factory):
    """`qa serve` in its own process (so its RSS is its own and clients do not share its GIL),
    plus each route's single-user reference answers."""
    concurrency = BENCH_CONCURRENCY or real_qa.settings.concurrency
    sessions = BENCH_SESSIONS or real_qa.settings.chat_sessions
    # the simulated users all come from this machine: the per-address limits would count them as one
    with Server(real_qa, tmp_path_factory.mktemp("bench"), QA_CONCURRENCY=concurrency,
                QA_CHAT_SESSIONS=sessions, QA_MAX_CONNECTIONS_PER_CLIENT=100_000,
                QA_MAX_STREAMS_PER_CLIENT=100_000) as server:
        server.chat_sessions = sessions
        routes = {"api": (api_client(server.url), api_ask),
                  "gradio": (lambda: GradioHTTP(server.url), gradio_http_ask)}
        refs = {}
        for name, (factory, ask) in routes.items():
            c = factory()
            try:
                refs[name] = {q: ask(c, q) for q in QUESTIONS}  # one user, one question at a time
            finally:
                c.close()
        assert refs["api"] == {q: real_qa.ask(q).to_dict() for q in QUESTIONS}  # the API is the library
        yield server, routes, refs, concurrency
        assert "Traceback" not in server.log_path.read_text(errors="replace")


def _save(name: str, data: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {**data, "cpus": os.cpu_count(), "load_avg": os.getloadavg()}
    (RESULTS / f"load-{name}.json").write_text(json.dumps(data, indent=2))


@pytest.mark.bench
def test_bench_32_clients_x_20_questions(bench_server):
    server, routes, refs, concurrency = bench_server
    rows = []
    for name, (factory, ask) in routes.items():
        rows.append({"route": name, **run_clients(factory, ask, QUESTIONS, clients=32, per_client=20,
                                                   reference=refs[name])})
    print(f"\n32 clients x 20 questions, concurrency={concurrency}\n" + _table(rows))
    _save(f"32x20-c{concurrency}", {"concurrency": concurrency, "rows": rows})
    for row in rows:
        assert not row["errors"] and not row["mismatches"], (row["route"], row["errors"][:3], row["mismatches"][:3])


@pytest.mark.bench
def test_bench_saturation_curve(bench_server):
    server, routes, refs, concurrency = bench_server
    rows = []
    for name, (factory, ask) in routes.items():
        for clients in (1, 2, 4, 8, 16, 32):
            per = max(10, 320 // clients)
            rows.append({"route": name, **run_clients(factory, ask, QUESTIONS, clients=clients, per_client=per,
                                                       reference=refs[name])})
    print(f"\nsaturation, concurrency={concurrency}\n" + _table(rows))
    _save(f"saturation-c{concurrency}", {"concurrency": concurrency, "rows": rows})
    for row in rows:
        assert not row["errors"] and not row["mismatches"], (row["route"], row["clients"], row["errors"][:3])


@pytest.mark.bench
def test_bench_memory_is_flat_over_5000_questions(bench_server):
    server, routes, refs, concurrency = bench_server
    result = {}
    # Every Gradio call is a new chat session, and Gradio keeps each session's state (~70 kB) up
    # to `chat_sessions` (LRU): RSS grows until that many sessions exist, then stays flat. So the
    # Gradio route is measured after `chat_sessions` calls.
    sessions = server.chat_sessions
    for name, warm, total in (("api", 200, 5000), ("gradio", sessions + 200, 2000)):
        factory, ask = routes[name]
        # warm-up: the first questions fill caches (stemmer, allocator pools, Gradio sessions)
        run_clients(factory, ask, QUESTIONS, clients=8, per_client=warm // 8, reference=refs[name])
        before = rss_mb(server.proc.pid)
        r = run_clients(factory, ask, QUESTIONS, clients=16, per_client=total // 16 + 1, reference=refs[name])
        after = rss_mb(server.proc.pid)
        result[name] = {"rss_mb_before": round(before, 1), "rss_mb_after": round(after, 1), "warm_up": warm, **r}
        print(f"\n{name}: {r['questions']} questions after {warm} warm-up, RSS {before:.1f} -> {after:.1f} MB, "
              f"{r['throughput_qps']} q/s, errors {len(r['errors'])}")
    _save(f"memory-c{concurrency}", result)
    for name, r in result.items():
        assert not r["errors"] and not r["mismatches"], (name, r["errors"][:3])
        growth = r["rss_mb_after"] - r["rss_mb_before"]
        assert growth < max(50.0, 0.15 * r["rss_mb_before"]), f"{name}: RSS grew by {growth:.0f} MB"
