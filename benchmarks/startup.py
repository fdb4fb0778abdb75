"""Start-up: ``qa --help`` wall time, and ``python app.py`` from spawn until its first answer
(server polled on a free port with a bounded timeout, then asked over HTTP)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from .common import PY, REPO, stats_ms


def cli_help(runs: int = 5) -> dict:
    qa_bin = Path(PY).parent / "qa"
    cmd = [str(qa_bin), "--help"] if qa_bin.exists() else [PY, "-m", "qa.surfaces.cli", "--help"]
    secs = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, timeout=60)
        secs.append(time.perf_counter() - t0)
    return {"command": " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd)), **stats_ms(secs)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, OSError):
        return 0


def _ask_http(base: str, question: str, timeout: float) -> tuple[str, dict | None]:
    req = urllib.request.Request(base + "/api/ask", data=json.dumps({"question": question}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return "POST /api/ask", json.loads(r.read())
    except urllib.error.HTTPError as e:
        if e.code not in (404, 405):
            raise
    from gradio_client import Client  # the Gradio-only app: its chat endpoint is /ask

    out = Client(base + "/", verbose=False).predict(question, api_name="/ask")
    return "gradio_client /ask", {"answer": out}


def torch_loaded(pid: int) -> bool | None:
    """Whether libtorch is mapped into process ``pid`` (Linux)."""
    try:
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return None


def app_first_answer(corpus_dir: Path, index_dir: Path, question: str = "When was the dialogue declared?",
                     timeout: float = 120.0, script: Path = REPO / "app.py") -> dict:
    """Spawn ``python app.py`` on a free port with a warm index (and ONNX cache) and time it until
    it has answered its first question."""
    port = free_port()
    env = dict(os.environ, QA_CORPUS_DIR=str(corpus_dir), QA_INDEX_DIR=str(index_dir), QA_HOST="127.0.0.1",
               QA_PORT=str(port), PYTHONUNBUFFERED="1")
    base = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    # stderr to a file, not a pipe: the server writes an access line per request, and a pipe
    # nobody reads would fill up and stall it
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([PY, str(script)], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log,
                            start_new_session=True)
    out: dict = {"port": port}
    try:
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            if proc.poll() is not None:
                log.seek(0)
                err = log.read().decode(errors="replace").strip().splitlines()[-3:]
                return {**out, "error": f"app.py exited with {proc.returncode}: {' | '.join(err)}"}
            if "listening_s" not in out and _get(base + "/", timeout=1.0) == 200:
                out["listening_s"] = round(time.perf_counter() - t0, 2)
            # the server answers at once and loads the index behind: /healthz says when it is ready
            if "listening_s" in out and _get(base + "/healthz", timeout=1.0) == 200:
                out["ready_s"] = round(time.perf_counter() - t0, 2)
                break
            time.sleep(0.05)
        else:
            return {**out, "error": f"no answer on {base}/ within {timeout:.0f} s"}
        how, answer = _ask_http(base, question, timeout=max(5.0, deadline - time.perf_counter()))
        out["first_answer_s"] = round(time.perf_counter() - t0, 2)
        out["asked_via"] = how
        out["answer"] = (answer or {}).get("answer")
        out["torch_loaded_in_server"] = torch_loaded(proc.pid)
        return out
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)
        log.close()
