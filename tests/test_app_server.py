"""The real app, started the way users start it (`qa serve`, a separate process) on a free port on
127.0.0.1, asked through `gradio_client` and through the HTTP API."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from conftest import REPO

pytestmark = pytest.mark.integration

Q = "When was the dialogue declared?"
START_TIMEOUT = 120  # seconds; the index is already built by the session fixture, so ~10 s is typical


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(real_qa, port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    cfg = REPO / "qa.toml"
    env.update({
        # The same settings the session fixture built its index with, so nothing is rebuilt.
        "QA_CONFIG": str(cfg if cfg.is_file() else real_qa.settings.index_dir / "no-such-qa.toml"),
        "QA_CORPUS_DIR": str(real_qa.settings.corpus_dir),
        "QA_INDEX_DIR": str(real_qa.settings.index_dir),
        "QA_HOST": "127.0.0.1",
        "QA_PORT": str(port),
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
    })
    return env


def _serve(env, log_path):
    log = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "qa.surfaces.cli", "serve"], env=env, cwd=REPO,
                            stdout=log, stderr=subprocess.STDOUT)
    return proc, log


def _stop(proc, log):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    log.close()


@pytest.fixture(scope="module")
def served(real_qa, tmp_path_factory):
    """`qa serve` in a subprocess; yields its base URL once /healthz answers."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    proc, log = _serve(_env(real_qa, port), log_path)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"`qa serve` exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"`qa serve` not ready after {START_TIMEOUT} s:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.25)
        yield url
    finally:
        _stop(proc, log)
    assert "Traceback" not in log_path.read_text(errors="replace")


def test_gradio_client_asks_the_real_app(served):
    from gradio_client import Client

    client = Client(served + "/", verbose=False, analytics_enabled=False, download_files=False)
    try:
        api = client.view_api(print_info=False, return_format="dict")
        assert "/ask" in api["named_endpoints"], list(api["named_endpoints"])
        reply = client.predict(Q, api_name="/ask")
    finally:
        client.close()
    assert isinstance(reply, str)
    assert "28 August 2004" in reply and "Sources" in reply


def test_http_api_on_the_real_app(served, real_qa):
    r = httpx.post(served + "/api/ask", json={"question": Q}, timeout=30)
    assert r.status_code == 200
    body = r.json()
    assert "28 August 2004" in body["answer"]
    from qa.surfaces.view import answer_json

    body.pop("html")
    assert body == answer_json(real_qa.ask(Q))  # same library, same answer, same JSON as `qa ask --json`
    c = body["citations"][body["answer_citation"] - 1]
    text = (real_qa.settings.corpus_dir / c["doc"]).read_text(encoding="utf-8")
    assert c["text"] == text[c["start"]:c["end"]] and body["answer"] in c["text"]


def test_widget_loader_and_schema_are_served(served):
    assert httpx.get(served + "/widget.js").text.startswith("/*! Corpus QA chat widget")
    assert httpx.get(served + "/gradio.js").text.startswith('import("./assets/')
    assert "/api/ask" in httpx.get(served + "/openapi.json").json()["paths"]
    page = httpx.get(served + "/")
    assert page.status_code == 200 and "<gradio-app" in page.text
    assert "frame-ancestors 'self'" in page.headers["content-security-policy"]


def test_port_in_use_is_a_clear_error_before_loading_anything(real_qa, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "qa.surfaces.cli", "serve"], env=_env(real_qa, port), cwd=REPO,
                             capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr
    assert "Traceback" not in out.stderr
