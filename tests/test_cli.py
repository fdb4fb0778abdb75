import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

import qa.answer.pipeline
from qa.surfaces.cli import cli


@pytest.fixture
def runner(monkeypatch, fake_embedder, tiny_corpus, tmp_path):
    monkeypatch.setattr(qa.answer.pipeline, "load_embedder", lambda *a, **k: fake_embedder)
    monkeypatch.setenv("QA_ABSTAIN_THRESHOLD", "0")
    base = ["--corpus", str(tiny_corpus), "--index", str(tmp_path / "index")]
    r = CliRunner()
    return lambda *args, **kw: r.invoke(cli, base + list(args), catch_exceptions=False, **kw)


def test_build_summary(runner):
    res = runner("build", "-q")
    assert res.exit_code == 0, res.output
    assert "Indexed 1 document(s)" in res.output and "fake/bow" in res.output


def test_ask_json_contract(runner, tiny_corpus):
    res = runner("ask", "When was the treaty signed?", "--json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout.strip().splitlines()[-1])
    assert d["answer"] == "3 May 1999" and d["answer_citation"] == 1
    c = d["citations"][0]
    assert (tiny_corpus / c["doc"]).read_text(encoding="utf-8")[c["start"]:c["end"]] == c["text"]
    assert d["answer"] in c["text"]


def test_ask_text_output(runner):
    res = runner("ask", "When was the treaty signed?")
    assert res.exit_code == 0
    assert res.stdout.startswith("3 May 1999 [1]\n(Likely, ") and "Sources:" in res.stdout
    assert "[1] Tiny Treaty › History (tiny.txt)" in res.stdout


def test_ask_text_output_says_when_it_is_not_sure(runner, monkeypatch):
    monkeypatch.setenv("QA_SURE_THRESHOLD", "1")  # no confidence reaches it
    res = runner("ask", "When was the treaty signed?")
    assert res.exit_code == 0
    assert res.stdout.startswith("3 May 1999 [1]\n(Not sure, ") and "; This may be wrong" in res.stdout
    monkeypatch.setenv("QA_SURE_THRESHOLD", "0")
    assert "Not sure" not in runner("ask", "When was the treaty signed?").stdout


def test_a_question_starting_with_a_dash_says_how_to_ask_it(runner):
    res = runner("ask", "-x marks the spot?")
    assert res.exit_code == 2 and 'put -- before it: qa ask -- "-x ..."' in res.output
    res = runner("ask", "--jsn", "x")  # a mistyped option gets click's own suggestion only
    assert res.exit_code == 2 and "Did you mean '--json'?" in res.output and "put --" not in res.output
    res = runner("ask", "--json", "--", "-When was the treaty signed?")
    assert res.exit_code == 0 and json.loads(res.stdout.strip().splitlines()[-1])["answer"] == "3 May 1999"


def test_ask_stdin_batch(runner):
    res = runner("ask", "--json", "-", input="When was the treaty signed?\n\nWhere did they meet in 2001?\n\x01\x02\n")
    lines = [json.loads(x) for x in res.stdout.strip().splitlines()]
    assert len(lines) == 3
    assert lines[0]["answer"] == "3 May 1999"
    assert lines[1]["question"] == "Where did they meet in 2001?"  # blank lines are skipped
    assert "empty" in lines[2]["error"]


def test_errors_are_messages_not_tracebacks(runner, tmp_path):
    res = CliRunner().invoke(cli, ["--corpus", str(tmp_path / "missing"), "--index", str(tmp_path / "i"), "build"])
    assert res.exit_code == 1
    assert "does not exist" in res.output and "Traceback" not in res.output
    res = runner("ask", "   ")
    assert res.exit_code == 1 and "empty" in res.output


def test_no_build_flag(runner):
    res = CliRunner().invoke(cli, ["--index", "/nonexistent-qa-index", "ask", "x", "--no-build"])
    assert res.exit_code == 1 and "qa build" in res.output


def test_status(runner):
    runner("build", "-q")
    res = runner("status")
    assert "state:  fresh" in res.output and "stored vectors by" not in res.output


def test_status_names_a_bulk_embedder(runner, fake_embedder, monkeypatch):
    import qa.index.store

    class Bulk:  # what bulk_embedder returns for a big bf16 build: the same vectors, another name
        name, dim = "fake/bow-bf16", fake_embedder.dim
        encode = staticmethod(fake_embedder.encode)

    monkeypatch.setattr(qa.index.store, "bulk_embedder", lambda precision, query_embedder, n: Bulk())
    runner("build", "-q")
    res = runner("status")
    assert "model fake/bow; stored vectors by fake/bow-bf16" in res.output and "state:  fresh" in res.output


def test_help_loads_no_heavy_modules():
    code = ("import sys; from qa.surfaces.cli import cli; from click.testing import CliRunner;"
            "r = CliRunner().invoke(cli, ['--help']); assert r.exit_code == 0;"
            "heavy = [m for m in ('numpy', 'torch', 'faiss', 'gradio', 'sentence_transformers', 'bm25s') if m in sys.modules];"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
