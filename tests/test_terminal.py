"""What a first start shows in the terminal and on the page while it builds: the build's stage
(never a made-up overall percentage, never a server path on /healthz), no "Run `qa build`"
while it is already building, access lines for what matters only, and a Makefile that neither
echoes its comments nor installs the test tools for `make run`."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess

import pytest

from conftest import REPO, FakeEmbedder
from qa.answer.pipeline import QA
from qa.core.errors import QAError
from qa.surfaces.guard import AccessLog
from qa.surfaces.startup import Startup


class _Idle:
    """Stands in for a QA in a Startup that is never started."""

    settings = None


def _fed(*chunks: str) -> Startup:
    s = Startup(_Idle())
    for chunk in chunks:
        s._output(chunk)
    return s


def test_progress_is_per_stage_and_names_no_path():
    s = _fed("Reading /srv/private/docs\n", "Embedding 54 texts with all-MiniLM-L6-v2/onnx-fp32\n")
    assert s.status() == {"status": "building", "stage": "Embedding"}
    assert "(embedding the passages)" in s.not_ready()
    # a library's own bar (the model's weights loading) says nothing about our stages
    s._output("\rLoading weights: 100%|##########| 103/103 [00:00<00:00, 1e4it/s]\n")
    assert s.status() == {"status": "building", "stage": "Embedding"}
    s._output("\rEmbedding:  42%|####      | 23/54 [00:05<00:07, 4.1text/s]")
    assert s.status() == {"status": "building", "stage": "Embedding", "progress": 0.42}
    assert "(embedding the passages: 42% done)" in s.not_ready()
    # the bar at 100% is over when writing starts: no "100% done" while the index is written
    s._output("\rEmbedding: 100%|##########| 54/54 [00:14<00:00]\nWriting index\n")
    assert s.status() == {"status": "building", "stage": "Writing"}
    message = s.not_ready()
    assert "(writing the index)" in message and "%" not in message
    assert "/srv" not in str(s.status()) and "/srv" not in message


def test_the_page_is_told_it_updates_itself():
    s = _fed("Writing index\n")
    assert s.not_ready(then="This page updates itself when they are ready.").endswith("updates itself when they are ready.")
    assert s.not_ready().endswith("Please try again in a minute.")


def test_only_a_question_or_a_page_load_retries_a_failed_start_never_the_polling():
    class Failing:
        calls = 0

        def warm_up(self, **kw):
            Failing.calls += 1
            raise QAError("the corpus folder /srv/docs does not exist")

    s = Startup(Failing(), progress=False).start()
    assert s.wait(10) is False and s.state == "unavailable" and not s.busy
    assert "does not exist" in s.not_ready(retry=False)
    s.wait(10)
    assert Failing.calls == 1  # the chat page's polling stops here (busy is False)
    s.not_ready()
    s.wait(10)
    assert Failing.calls == 2


def test_a_server_building_its_first_index_does_not_say_run_qa_build(tiny_settings, caplog):
    caplog.set_level(logging.INFO, logger="qa")
    QA(tiny_settings, embedder=FakeEmbedder()).warm_up()
    said = [r.getMessage() for r in caplog.records if r.name == "qa.answer.pipeline"]
    assert said == [f"Building the index (no index in {tiny_settings.index_dir})"]
    assert not any("qa build" in r.getMessage() for r in caplog.records)


def _access_lines(method: str, path: str, status: int, caplog) -> list[str]:
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        pass

    caplog.clear()
    scope = {"type": "http", "method": method, "path": path, "client": ("127.0.0.1", 5000)}
    asyncio.run(AccessLog(app)(scope, receive, send))
    return [r.getMessage() for r in caplog.records if r.name == "qa.access"]


@pytest.mark.parametrize("path", ["/assets/index-Dphv.js", "/theme.css", "/favicon.ico", "/static/js/x.js",
                                  "/gradio_api/heartbeat/2tlz0nuj5mz", "/healthz", "/admin/assets/Index.css"])
def test_no_access_line_for_what_keeps_a_page_going(path, caplog):
    caplog.set_level(logging.INFO, logger="qa.access")
    assert _access_lines("GET", path, 200, caplog) == []
    # ... but a refused or failed one is logged, as is anything else
    assert len(_access_lines("GET", path, 404, caplog)) == 1
    assert len(_access_lines("GET", path, 503, caplog)) == 1


@pytest.mark.parametrize("method, path", [("GET", "/"), ("POST", "/api/ask"), ("POST", "/gradio_api/queue/join"),
                                          ("GET", "/doc/a.txt"), ("POST", "/healthz")])
def test_an_access_line_for_pages_and_questions(method, path, caplog):
    caplog.set_level(logging.INFO, logger="qa.access")
    (line,) = _access_lines(method, path, 200, caplog)
    assert f"{method} {path} 200" in line


@pytest.fixture(scope="module")
def make_n():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")

    def dry_run(target: str) -> list[str]:
        out = subprocess.run(["make", "-n", "-C", str(REPO), target, "VENV=/nonexistent/venv"], capture_output=True,
                             text=True, timeout=60, check=True).stdout
        return out.splitlines()

    return dry_run


def test_make_echoes_no_comments_and_run_installs_no_test_tools(make_n):
    for target in ("run", "test", "build", "bench"):
        lines = make_n(target)
        assert lines and not [ln for ln in lines if ln.lstrip().startswith("#")], (target, lines)
    run = "\n".join(make_n("run"))
    assert "pip install --quiet -e ." in run and "[test]" not in run and "pytest" not in run
    assert "pip install --quiet -e '.[test]'" in "\n".join(make_n("test"))
    # the recipes make prints as it runs them are the few that say something
    recipe = [ln for ln in (REPO / "Makefile").read_text(encoding="utf-8").splitlines() if ln.startswith("\t")]
    assert not [ln for ln in recipe if ln.lstrip("\t@ ").startswith("#")]
