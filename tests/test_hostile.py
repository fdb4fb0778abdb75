"""Hostile and odd input, through every surface: the library (QA.ask), the CLI (`qa ask` with an
argument and `qa ask --json -` on stdin), the Gradio chat handler, the HTTP API (TestClient) and a
real server on 127.0.0.1 (httpx + gradio_client).

The corpus is hostile too: HTML/JS and Markdown payloads, right-to-left, CJK and emoji text, a file
that is not UTF-8, a binary file, a NUL after the first 8 kB, a file name that is an HTML tag and a
10 kB line without punctuation. Each input gets a clear error or a safe answer (the contract
holds, no script survives rendering) within a time bound; nothing crashes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

import qa.answer.pipeline
from conftest import TINY_DOC, assert_safe_html
from qa.surfaces.cli import cli
from qa.core.config import load_settings
from qa.core.errors import BadQuestionError
from qa.answer.pipeline import QA
from qa.surfaces.render import to_html
from qa.surfaces.view import view
from qa.core.types import Answer
from test_faults import seed_model_cache

pytestmark = pytest.mark.integration

CASE_SECONDS = 20.0  # per input and surface; a typical answer takes 10-50 ms
CANARY = Path("/tmp") / f"qa-hostile-canary-{os.getpid()}"

# ---------------------------------------------------------------------------------------------
# The hostile corpus

XSS_DOC = """# Payload Handbook

The <script>alert('corpus-xss')</script> tag is the classic payload. An image tag such as
<img src=x onerror=alert('corpus-img')> can run code when it fails to load. A link written as
[click me](javascript:alert('corpus-link')) looks harmless. Markdown **bold**, `code`, | a | table |
and > quotes are only text here.

## Entities
The entity &lt;b&gt; and the raw &amp; sign appear in 2019 files. <iframe src="https://evil.example"></iframe> frames were banned.
"""
RTL_DOC = """= القاهرة =

القاهرة هي عاصمة مصر. يبلغ عدد سكانها أكثر من عشرين مليون نسمة.

==עברית==
ירושלים היא עיר עתיקה. \u202eThis line carries a right-to-left override.
"""
CJK_DOC = """= 東京 =

東京は日本の首都です。人口は約1400万人です。

==中文==
北京是中国的首都。上海是最大的城市。
"""
EMOJI_DOC = """= Emoji Summit 🎉 =

The party emoji 🎉 was chosen as the summit logo in 2020. Delegates voted 👍🏽 with 42 votes.
The family emoji 👨‍👩‍👧 and the flag 🇯🇵 appeared on the banner.
"""
SHELL_DOC = """= Shell Notes =

The student Robert'); DROP TABLE Students;-- enrolled in 2008. The command $(rm -rf /) is never run.
Backticks `id` and pipes | cat and redirects > /etc/passwd are only characters in this file.
"""


def make_hostile_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "tiny.txt").write_text(TINY_DOC, encoding="utf-8")
    (folder / "payloads.md").write_text(XSS_DOC, encoding="utf-8")
    (folder / "rtl.txt").write_text(RTL_DOC, encoding="utf-8")
    (folder / "cjk.txt").write_text(CJK_DOC, encoding="utf-8")
    (folder / "emoji.txt").write_text(EMOJI_DOC, encoding="utf-8")
    (folder / "shell.txt").write_text(SHELL_DOC, encoding="utf-8")
    (folder / "crlf-bom.txt").write_bytes("\ufeff= Windows File =\r\n\r\nThis file uses CRLF line ends and a BOM.\r\n".encode())
    (folder / "late-nul.txt").write_bytes(b"= Late Nul =\n\n" + b" " * 8200 + b"\n\nA NUL \x00 hides here.\n")
    (folder / "<img src=x onerror=alert('name')>.md").write_text("Named by a tag. The file name is a payload.\n")
    (folder / "blob.txt").write_text("= Blob =\n\n" + " ".join(f"word{i}" for i in range(1200)), encoding="utf-8")
    (folder / "latin1.txt").write_bytes("= Café =\n\nLe café est très bon.\n".encode("latin-1"))  # not UTF-8
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 20)  # NUL bytes: binary
    (folder / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(2000))
    return folder


@pytest.fixture(scope="module")
def hostile(real_qa, tmp_path_factory):
    """The real model over the hostile corpus (index built once for this module)."""
    root = tmp_path_factory.mktemp("hostile")
    corpus = make_hostile_corpus(root / "corpus")
    (root / "index").mkdir()
    seed_model_cache(root / "index", real_qa.settings.index_dir)
    settings = load_settings(corpus_dir=corpus, index_dir=root / "index")
    q = QA(settings, embedder=real_qa.embedder)
    q.warm_up()
    return q


def test_hostile_corpus_builds_and_skips_what_it_cannot_read(hostile):
    m = hostile.index.manifest
    assert set(m["skipped"]) == {"latin1.txt", "binary.txt", "image.md"}, m["skipped"]
    assert "not valid UTF-8 at byte 5" in m["skipped"]["latin1.txt"]
    assert "binary" in m["skipped"]["binary.txt"] and "binary" in m["skipped"]["image.md"]
    docs = hostile.index.documents
    assert {"payloads.md", "rtl.txt", "cjk.txt", "emoji.txt", "late-nul.txt", "blob.txt", "crlf-bom.txt",
            "<img src=x onerror=alert('name')>.md"} <= set(docs)
    assert docs["crlf-bom.txt"].title == "Windows File"  # the BOM does not hide the title
    for s in hostile.index.sentences:  # the offset contract holds for odd text as well
        assert docs[s.doc_id].text[s.start:s.end] == s.text
    assert max(c.end - c.start for c in hostile.index.chunks) <= 4 * hostile.settings.chunk_chars


def test_cli_build_reports_skipped_files(hostile, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "qa.surfaces.cli", "--corpus", str(hostile.settings.corpus_dir),
                           "--index", str(hostile.settings.index_dir), "status"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "state:  fresh" in proc.stdout, proc.stdout + proc.stderr


# ---------------------------------------------------------------------------------------------
# The input table


@dataclass(frozen=True)
class Case:
    id: str
    question: object  # usually str; bytes and other types for the library
    error: str | None = None  # regex of the BadQuestionError message, or None: must be answered or abstain
    answer: str | None = None  # when set, the answer must contain this
    abstain: bool = False  # must abstain
    cli: bool = True  # can be passed through argv and stdin (one line, no NUL)
    api: bool = True  # can be sent as a JSON string


MEGA = "why " * 250_000  # 1 MB
CASES = [
    Case("empty", "", error="empty"),
    Case("whitespace", " \t \n  \u3000 ", error="empty", cli=False),
    Case("spaces", "     ", error="empty"),
    Case("1MB", MEGA, error=r"1,000,000 characters long; the limit is 2,000", cli=False),
    Case("just over the limit", "a" * 2001, error="limit is 2,000"),
    Case("at the limit", ("When was the treaty signed? " * 80)[:2000]),
    Case("NUL inside", "When was the\x00 treaty signed?", answer="1999", cli=False),
    Case("ANSI escapes", "\x1b[31mWhen was the treaty signed?\x1b[0m\x07", answer="1999"),
    Case("only control chars", "\x01\x02\x7f\x1b", error="empty"),
    Case("newlines inside", "When\n\nwas the treaty\r\nsigned?", answer="1999", cli=False),
    Case("invalid UTF-8 bytes", b"When was the \xff\xfe treaty signed?", error="not valid UTF-8", cli=False, api=False),
    Case("lone surrogate", "When was \ud800 the treaty signed?", error="not valid (Unicode|UTF-8)"),
    Case("Arabic RTL", "ما هي عاصمة مصر؟"),
    Case("RTL override", "\u202e?dengis ytaert eht saw nehW"),
    Case("Japanese", "東京は日本の首都ですか？"),
    Case("Chinese", "中国的首都是哪里？"),
    Case("emoji only", "🎉🎉🎉", abstain=True),
    Case("emoji question", "When was the 🎉 emoji chosen as the summit logo?", answer="2020"),
    Case("ZWJ and skin tones", "👨‍👩‍👧 👍🏽 🇯🇵 which emoji appeared on the banner?"),
    Case("SQL injection", "'; DROP TABLE answers; -- When was the treaty signed?"),
    Case("SQL tautology", "1 OR 1=1; SELECT * FROM users WHERE name = '' OR ''=''"),
    Case("shell metacharacters", f"$(touch {CANARY}) `touch {CANARY}` && rm -rf / ; echo | cat > /etc/passwd"),
    Case("format strings", "%s%s%s%n {0} {__class__.__init__} ${jndi:ldap://x/a} {{7*7}}"),
    Case("path traversal", "../../../../etc/passwd"),
    Case("JSON in question", '{"question": "x", "__proto__": {"admin": true}}'),
    Case("Markdown payload", "**bold** [link](javascript:alert(1)) ![img](http://evil.example/x.png) # heading"),
    Case("HTML script", "<script>alert('q-xss')</script> When was the treaty signed?"),
    Case("HTML img", "<img src=x onerror=alert('q-img')>"),
    Case("javascript URL", "javascript:alert(document.cookie)"),
    Case("question about the script tag", "Which tag is the classic payload?"),
    Case("question about the image tag", "What can run code when it fails to load?"),
    Case("question about the iframe", "Which frames were banned?"),
    Case("one stop word", "the", abstain=True),
    Case("only question words", "what who when?", abstain=True),
    Case("punctuation only", "?!?...", abstain=True),
    Case("zalgo", "W̴̢̛h̸̨e̵͇n̶̰ w̷a̴s̵ t̶h̷e̸ t̵r̶e̷a̸t̵y̶ s̷i̸g̵n̶e̷d̸?"),
    Case("zero-width spaces", "When\u200b was\u200b the\u200b treaty\u200b signed?"),
    Case("fullwidth letters", "Ｗｈｅｎ ｗａｓ ｔｈｅ ｔｒｅａｔｙ ｓｉｇｎｅｄ？", answer="1999"),
    Case("one long word", "x" * 2000),
    Case("many distinct words", " ".join(f"w{i}" for i in range(300))),
    Case("late NUL document", "Where does a NUL hide?"),
    Case("leading dash", "-rf --help", cli=False),  # argv would read it as an option: see docs/robustness.md
]
NOT_TEXT = [None, 42, 3.5, ["When was the treaty signed?"], {"text": "x"}]


def bounded(fn, *args, seconds: float = CASE_SECONDS, **kwargs):
    """Run ``fn`` in a worker thread; fail the test if it takes longer than ``seconds``."""
    with ThreadPoolExecutor(1) as ex:
        fut = ex.submit(fn, *args, **kwargs)
        try:
            return fut.result(timeout=seconds)
        except FutureTimeout:
            pytest.fail(f"{getattr(fn, '__name__', fn)} took more than {seconds} s")


def check_answer(d: dict, case: Case, corpus: Path) -> None:
    assert set(d) >= {"question", "abstained", "answer", "answer_citation", "score", "citations"}
    for c in d["citations"]:
        text = (corpus / c["doc"]).read_bytes().decode("utf-8")
        assert text[c["start"]:c["end"]] == c["text"], c
    if d["abstained"]:
        assert d["answer"] is None
    else:
        assert d["answer"] in d["citations"][d["answer_citation"] - 1]["text"]
    if case.abstain:
        assert d["abstained"], d
    if case.answer:
        assert not d["abstained"] and case.answer in d["answer"], d


ids = [c.id for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_library(hostile, case):
    if case.error:
        with pytest.raises(BadQuestionError, match=case.error):
            bounded(hostile.ask, case.question)
        return
    answer = bounded(hostile.ask, case.question)
    assert isinstance(answer, Answer)
    check_answer(answer.to_dict(), case, hostile.settings.corpus_dir)
    assert_safe_html(to_html(view(answer)))
    json.dumps(answer.to_dict(), ensure_ascii=False).encode("utf-8")  # serialisable as UTF-8


@pytest.mark.parametrize("value", NOT_TEXT, ids=[type(v).__name__ for v in NOT_TEXT])
def test_library_rejects_non_text(hostile, value):
    with pytest.raises(BadQuestionError, match="must be text"):
        hostile.ask(value)


def test_library_hostile_history_is_bounded(hostile):
    """A client controls the history: huge, many, odd turns cost bounded time."""
    huge = "Japan summit treaty " * 50_000  # 1 MB
    histories = [
        [{"role": "user", "content": huge}, {"role": "assistant", "content": huge}],
        [{"role": "user", "content": "When was it signed?"}] * 100_000,
        [{"role": "user", "content": "\ud800\x00<script>"}, {"role": "system", "content": "ignore"}, "junk", 42,
         {"role": "assistant", "content": ["not", {"text": "a string"}]}, ("pair", None)],
    ]
    for history in histories:
        answer = bounded(hostile.ask, "Who chaired it?", history=history)  # a hang guard; timings are `make bench`'s
        check_answer(answer.to_dict(), Case("h", ""), hostile.settings.corpus_dir)
        assert len(answer.retrieval_query) <= 5 * hostile.settings.max_question_chars


# ---- CLI --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_invoke(hostile):
    """`qa ask` in-process (CliRunner) with the already loaded model: argv exactly as Python
    would decode it (invalid bytes arrive as lone surrogates)."""
    runner = CliRunner()
    base = ["--corpus", str(hostile.settings.corpus_dir), "--index", str(hostile.settings.index_dir)]

    def invoke(*args, input=None):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(qa.answer.pipeline, "load_embedder", lambda *a, **k: hostile.embedder)
            return bounded(runner.invoke, cli, base + list(args), input=input)

    return invoke


@pytest.mark.parametrize("case", [c for c in CASES if c.cli], ids=[c.id for c in CASES if c.cli])
def test_cli_argument(cli_invoke, hostile, case):
    res = cli_invoke("ask", "--json", "--no-build", case.question)
    assert "Traceback" not in res.output
    if case.error:
        assert res.exit_code == 1 and re.search(case.error, res.output), res.output
        assert res.output.startswith("Error: ")
        return
    assert res.exit_code == 0, res.output
    check_answer(json.loads(res.stdout.strip().splitlines()[-1]), case, hostile.settings.corpus_dir)


def test_cli_stdin_batch_real_process(hostile):
    """All table inputs that fit on one line, as raw bytes through `qa ask --json -` in a real
    process: one JSON object per line, errors as {"question", "error"}, the loop never dies."""
    lines = []
    for c in CASES:
        q = c.question if isinstance(c.question, bytes) else str(c.question).encode("utf-8", "surrogatepass")
        if b"\n" in q or b"\r" in q or not q.strip() or c.id == "1MB":
            continue
        lines.append((c, q))
    lines.append((Case("1MB line", MEGA, error="the limit is 2,000"), MEGA.encode()))
    stdin = b"".join(q + b"\n" for _, q in lines)
    proc = subprocess.run(
        [sys.executable, "-m", "qa.surfaces.cli", "--corpus", str(hostile.settings.corpus_dir), "--index",
         str(hostile.settings.index_dir), "ask", "--json", "--no-build", "-"],
        input=stdin, capture_output=True, timeout=180, env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0 and "Traceback" not in err, err
    out = [json.loads(x) for x in proc.stdout.decode("utf-8").splitlines()]
    assert len(out) == len(lines), (len(out), len(lines))
    for (case, _), d in zip(lines, out):
        if case.error:
            assert re.search(case.error, d["error"]), (case.id, d)
        else:
            assert "error" not in d, (case.id, d)
            check_answer(d, case, hostile.settings.corpus_dir)


def test_cli_argv_real_process_bytes_and_metacharacters(hostile):
    """What only a real process shows: argv bytes that are not UTF-8, shell metacharacters never
    evaluated, a 100 kB argument."""
    def ask(arg: bytes):
        return subprocess.run(
            [sys.executable.encode(), b"-m", b"qa.surfaces.cli", b"--corpus", bytes(hostile.settings.corpus_dir), b"--index",
             bytes(hostile.settings.index_dir), b"ask", b"--json", b"--no-build", arg],
            capture_output=True, timeout=120,
        )

    p = ask(b"When was the \xff treaty signed?")
    assert p.returncode == 1 and b"not valid Unicode" in p.stderr and b"Traceback" not in p.stderr, p.stderr
    p = ask(f"$(touch {CANARY}) `touch {CANARY}`; touch {CANARY} | cat".encode())
    assert p.returncode == 0 and b"Traceback" not in p.stderr, p.stderr
    assert not CANARY.exists()
    p = ask(b"x" * 100_000)
    assert p.returncode == 1 and b"the limit is 2,000" in p.stderr


# ---- Gradio chat handler ------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_chat_handler(hostile, case):
    from qa.surfaces.chat import make_handler

    respond = make_handler(hostile)
    reply = bounded(respond, case.question, [])
    assert isinstance(reply, str) and reply
    assert_safe_html(reply)
    assert "Something went wrong" not in reply
    if case.error:
        assert re.search(case.error, reply.replace("\\", "")), reply
    # the multimodal textbox shape and a hostile history give the same kind of reply
    reply2 = bounded(respond, {"text": case.question, "files": ["/etc/passwd"]},
                     [{"role": "assistant", "content": "<script>alert(1)</script>"}])
    assert isinstance(reply2, str)
    assert_safe_html(reply2)


@pytest.mark.parametrize("value", NOT_TEXT, ids=[type(v).__name__ for v in NOT_TEXT])
def test_chat_handler_non_text(hostile, value):
    from qa.surfaces.chat import make_handler

    reply = make_handler(hostile)(value, None)
    if isinstance(value, dict):  # the multimodal textbox shape: its "text" is the question
        assert "Something went wrong" not in reply
    elif value is None:  # an API client's null: an empty question
        assert "question is empty" in reply, reply
    else:
        assert "must be text" in reply, reply
    assert_safe_html(reply)


# ---- HTTP API (TestClient) --------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(hostile):
    from fastapi.testclient import TestClient

    from qa.surfaces.server import create_app

    with TestClient(create_app(hostile, hostile.settings)) as client:
        yield client


@pytest.mark.parametrize("case", [c for c in CASES if c.api], ids=[c.id for c in CASES if c.api])
def test_http_api(api, hostile, case):
    body = json.dumps({"question": case.question}).encode()  # ensure_ascii: lone surrogates as \ud800
    r = bounded(api.post, "/api/ask", content=body, headers={"content-type": "application/json"})
    if case.id == "1MB":
        assert r.status_code == 413 and r.json()["code"] == "too_large"
        return
    if case.error:
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "bad_question" and re.search(case.error, r.json()["error"]), r.json()
        return
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    check_answer(r.json(), case, hostile.settings.corpus_dir)


@pytest.mark.parametrize("body, code", [
    (b'{"question": "When was the \xff treaty signed?"}', 422),  # not UTF-8: not JSON
    (b'{"question": ', 422),
    (b"\x00\x01\x02", 422),
    (b'{"question": null}', 422),
    (b'{"question": 42}', 422),
    (b'{"question": ["a"]}', 422),
    (b'{"question": "x", "admin": true}', 422),
    (b'{"question": "x", "top_k": 100000}', 422),
    (b'{"question": "x", "top_k": -1}', 422),
    (b'{"question": "x", "history": "not a list"}', 422),
    (b'{"question": "x", "history": [{"role": "system", "content": "obey"}]}', 422),
    (b'[' * 5000 + b']' * 5000, 422),  # deeply nested JSON
    (b'{"question": "When was the treaty signed?", "history": [' + b'{"role": "user", "content": "hi"},' * 2000
     + b'{"role": "user", "content": "hi"}]}', 413),
], ids=["invalid-utf8", "truncated-json", "binary", "null", "number", "list", "extra-field", "top_k-huge",
        "top_k-negative", "history-string", "history-role", "nested", "too-large"])
def test_http_api_malformed_bodies(api, body, code):
    r = bounded(api.post, "/api/ask", content=body, headers={"content-type": "application/json"})
    if r.status_code == 400:  # FastAPI's own refusal when its parser gives up, in our error shape
        assert code == 422 and r.json()["code"] == "invalid_request", r.text
        assert "send one JSON object" in r.json()["error"]
        return
    assert r.status_code == code, r.text
    assert r.json()["code"] in {"invalid_request", "too_large"} and r.json()["error"]


# ---- a real server ------------------------------------------------------------------------------


def test_real_server_smoke(hostile):
    """uvicorn on 127.0.0.1: hostile inputs over HTTP and through the Gradio route; the server
    keeps answering afterwards."""
    import httpx
    from gradio_client import Client

    from qa.surfaces.server import create_app
    from qa.surfaces.http import serve_in_thread

    with serve_in_thread(create_app(hostile, hostile.settings)) as url:
        with httpx.Client(base_url=url, timeout=CASE_SECONDS) as http:
            for case in CASES:
                if not case.api:
                    continue
                r = http.post("/api/ask", content=json.dumps({"question": case.question}),
                              headers={"content-type": "application/json"})
                assert r.status_code in (200, 400, 413), (case.id, r.status_code, r.text[:200])
            r = http.post("/api/ask", content=b"x" * 10_000_000, headers={"content-type": "application/json"})
            assert r.status_code == 413
            # The chat's own routes are capped too (generously: browsers send the conversation).
            big = json.dumps({"data": ["x" * 10_000_000]})
            for path in ("/gradio_api/call/ask", "/gradio_api/queue/join"):
                r = http.post(path, content=big, headers={"content-type": "application/json"})
                assert r.status_code == 413 and r.json()["code"] == "too_large", (path, r.text[:200])
            r = http.post("/gradio_api/call/ask", json={"data": ["When was the treaty signed? " + "x" * 200_000]})
            assert r.status_code == 200 and r.json()["event_id"]
            ok = http.post("/api/ask", json={"question": "When was the treaty signed?"})
            assert ok.status_code == 200 and "1999" in ok.json()["answer"]
        client = Client(url + "/", verbose=False, analytics_enabled=False, download_files=False)
        try:
            for case in CASES:
                if case.id in {"empty", "HTML script", "question about the image tag", "NUL inside",
                               "1MB", "emoji only"}:
                    reply = bounded(client.predict, case.question, api_name="/ask")
                    assert isinstance(reply, str)
                    assert_safe_html(reply)
                    if case.error:
                        assert re.search(case.error, reply.replace("\\", "")), (case.id, reply[:300])
            assert "1999" in client.predict("When was the treaty signed?", api_name="/ask")
        finally:
            client.close()
    assert not CANARY.exists()
