"""A server builds its index in a child `qa build` (qa/index/child.py), so it never keeps the
bulk embedder (torch, ~450 MB) in memory after the build."""

import io
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import fields
from pathlib import Path

import pytest

import qa
from qa.index.child import _failure, build_in_child, child_env
from qa.core.config import Settings, load_settings
from qa.core.errors import QAError


def test_the_child_reads_the_same_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_API_KEY", "secret-from-env")
    settings = load_settings(corpus_dir=tmp_path / "c", index_dir=tmp_path / "i", chunk_chars=333,
                             context_prefix=False, build_precision="fp32", abstain_threshold=0.25)
    env = child_env(settings)
    assert "QA_API_KEY" not in env  # a build needs no key
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(Path(qa.__file__).resolve().parents[1])  # this code
    monkeypatch.delenv("QA_API_KEY")
    for name, value in env.items():
        if name.startswith("QA_"):
            monkeypatch.setenv(name, value)
    child = load_settings()
    for f in fields(Settings):
        if f.name != "api_key" and not isinstance(getattr(settings, f.name), dict):
            assert getattr(child, f.name) == getattr(settings, f.name), f.name


def test_a_failed_child_build_reports_its_own_error(tmp_path, monkeypatch):
    missing = load_settings(corpus_dir=tmp_path / "no-such-folder", index_dir=tmp_path / "index")
    with pytest.raises(QAError, match="no-such-folder"):  # found before starting a child
        build_in_child(missing, quiet=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(QAError, match="no .txt, .md, .pdf, .html or .docx"):  # also found before starting a child
        build_in_child(load_settings(corpus_dir=empty, index_dir=tmp_path / "index"), quiet=True)
    binary = tmp_path / "binary"
    binary.mkdir()
    (binary / "a.txt").write_bytes(b"\x00\x01 not text")
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a text-only stderr still gets the output
    with pytest.raises(QAError, match="looks binary"):  # the child's own "Error: ..." line
        build_in_child(load_settings(corpus_dir=binary, index_dir=tmp_path / "index"), quiet=True)
    assert "looks binary" in sys.stderr.getvalue()


def test_how_a_child_ended_is_said_when_it_printed_no_error():
    assert _failure(1, b"Traceback ...\nModuleNotFoundError: No module named 'qa'\n") == (
        "`qa build` failed (exit status 1): ModuleNotFoundError: No module named 'qa'")
    assert _failure(-9, b"") == "`qa build` was killed by SIGKILL (out of memory?)"
    assert _failure(1, b"Reading x\rError: Corpus folder x has no files\n") == "Corpus folder x has no files"


def test_warm_up_builds_in_the_child_not_here(tiny_settings, monkeypatch):
    import qa.index.child
    import qa.answer.pipeline
    from qa.answer.pipeline import QA

    calls = []

    def child(settings, quiet, on_output=None):
        calls.append(settings)
        raise QAError("stop here")

    monkeypatch.setattr(qa.index.child, "build_in_child", child)
    monkeypatch.setattr(qa.answer.pipeline, "build_index", lambda *a, **k: pytest.fail("built in the server process"))
    with pytest.raises(QAError, match="stop here"):
        QA(tiny_settings, build_in_child=True).warm_up()
    assert calls == [tiny_settings]


@pytest.mark.integration
def test_a_server_builds_in_a_child_and_stays_torch_free(real_qa, tmp_path):
    from qa.embed.model import cpu_has_bf16_matmul

    index = tmp_path / "index"
    index.mkdir()
    shutil.copytree(real_qa.settings.index_dir / "onnx", index / "onnx")  # skip a second ONNX export
    # bf16 makes the build load torch (only possible on a CPU with bf16 units); the server must not
    precision = "bf16" if cpu_has_bf16_matmul() else "fp32"
    code = textwrap.dedent(f"""
        import sys
        from qa.core.config import load_settings
        from qa.answer.pipeline import QA
        s = load_settings(corpus_dir={str(real_qa.settings.corpus_dir)!r}, index_dir={str(index)!r},
                          build_precision={precision!r})
        qa = QA(s, build_in_child=True)
        qa.warm_up(progress=True)
        print(qa.ask("When was the dialogue declared?").text)
        print("torch" in sys.modules)
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    answer, torch_loaded = res.stdout.strip().splitlines()[-2:]
    assert "28 August 2004" in answer and torch_loaded == "False"
    assert "Indexed 1 document(s)" in res.stdout  # the child's summary line
    if precision == "bf16":
        assert "torch-bf16" in res.stdout + res.stderr  # the child embedded with torch


def test_a_qa_with_its_own_embedder_builds_in_process(tiny_settings, fake_embedder):
    from qa.answer.pipeline import QA

    assert QA(tiny_settings, build_in_child=True).build_in_child
    injected = QA(tiny_settings, embedder=fake_embedder, build_in_child=True)
    assert not injected.build_in_child  # a child would load the configured model, not this one
    injected.warm_up()  # builds here, with the fake embedder
    assert injected.index.manifest["model"] == fake_embedder.name
