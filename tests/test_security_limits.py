"""The second security review, replayed: each attack of its table against the real server or the
library, each one now held (docs/robustness.md, "Limits").

- streams: endless heartbeat responses from one address no longer lock everyone out
  (per-address caps on connections and streams, a time limit on a stream, the connection cap
  reclaiming streams);
- feedback: one rate-limited, size-capped store that keeps taking honest votes;
- markup: a document title made of Markdown is shown as text;
- secrets: neither key lands in any file `qa build`, `qa eval` or the server writes;
- extraction: slow PDFs and DOCX bombs are read in a child process under time and memory limits;
- dependencies: a missing reader package is named, not blamed on the file; encrypted PDFs;
- uploads: look-alike names, names the index ignores, empty files, stale build messages;
- `/admin` without its slash.

Attacks come from 127.0.0.2 (still loopback), honest clients from 127.0.0.1, so the per-address
limits tell them apart as they would two machines.
"""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
import zipfile
from contextlib import closing
from pathlib import Path

import httpx
import pytest

import docfiles as D
from qa.core.errors import CorpusError
from qa.surfaces.http import serve_in_thread
from qa.surfaces.server import create_app

API_KEY = "api-s3cret-7f3a"
ADMIN_KEY = "admin-s3cret-91c2"
ATTACKER = "127.0.0.2"


def _connect(url: str, source: str = ATTACKER) -> socket.socket:
    host, port = url.rsplit("/", 1)[-1].rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(5)
    s.connect((host, int(port)))
    return s


def _heartbeats(url: str, n: int) -> tuple[list[socket.socket], dict[str, int]]:
    """Open ``n`` heartbeat streams from the attacker's address; returns the sockets and how the
    server answered them (200: a stream held, 429: refused, closed: cut off at connect)."""
    socks, seen = [], {"200": 0, "429": 0, "closed": 0}
    for i in range(n):
        try:
            s = _connect(url)
            s.sendall(f"GET /gradio_api/heartbeat/attack{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        except OSError:
            seen["closed"] += 1
            continue
        socks.append(s)
    for s in socks:
        s.settimeout(30)  # the server answers at once; the slack is for a busy machine
        try:
            head = s.recv(64)
        except OSError:
            head = b""
        key = "200" if head.startswith(b"HTTP/1.1 200") else "429" if head.startswith(b"HTTP/1.1 429") else "closed"
        seen[key] += 1
    return socks, seen


def _ask_in_chat(c: httpx.Client, question: str) -> str:
    r = c.post("/gradio_api/call/ask", json={"data": [question, []]})
    assert r.status_code == 200, r.text
    return c.get(f"/gradio_api/call/ask/{r.json()['event_id']}").text


@pytest.fixture(scope="module")
def capped(seed_fake_qa, tmp_path_factory):
    """The review's deployment: both keys, the connection cap at 200."""
    settings = seed_fake_qa.settings.replace(api_key=API_KEY, admin_key=ADMIN_KEY, max_connections=200,
                                             feedback_path=tmp_path_factory.mktemp("fb") / "feedback.jsonl")
    with serve_in_thread(create_app(seed_fake_qa, settings), settings=settings) as url:
        yield url, settings


@pytest.mark.integration
def test_260_heartbeats_from_one_address_leave_the_server_to_others(capped):
    url, settings = capped
    socks, seen = _heartbeats(url, 260)
    try:
        held = seen["200"]
        print(f"\n260 heartbeats from {ATTACKER} (cap {settings.max_connections}, {settings.max_connections_per_client} "
              f"connections and {settings.max_streams_per_client} streams per address): {seen}")
        assert held <= settings.max_streams_per_client
        with httpx.Client(base_url=url, timeout=30) as c:
            codes = [c.get("/healthz", headers={"connection": "close"}).status_code for _ in range(5)]
            answer = _ask_in_chat(c, "When was the dialogue declared?")
        print(f"/healthz from 127.0.0.1 meanwhile: {codes}; a chat question: {'answered' if 'complete' in answer else answer[:80]}")
        assert codes == [200] * 5
        assert "event: complete" in answer
    finally:
        for s in socks:
            s.close()


@pytest.mark.integration
def test_the_connection_cap_reclaims_streams_when_the_per_address_limits_allow_them(seed_fake_qa):
    """With the per-address limits out of the way (a proxy in front, say), the cap itself closes
    the oldest stream of the greediest address to let a new client in."""
    settings = seed_fake_qa.settings.replace(max_connections=200, max_connections_per_client=100_000,
                                             max_streams_per_client=100_000)
    with serve_in_thread(create_app(seed_fake_qa, settings), settings=settings) as url:
        socks, seen = _heartbeats(url, 260)
        try:
            assert seen["200"] >= 150, seen  # the streams were really held before the probes
            with httpx.Client(base_url=url, timeout=30) as c:
                codes = [c.get("/healthz", headers={"connection": "close"}).status_code for _ in range(5)]
            print(f"\n260 heartbeats, no per-address limits, cap 200: {seen}; /healthz {codes}")
            assert codes == [200] * 5
        finally:
            for s in socks:
                s.close()


@pytest.mark.integration
def test_a_stream_ends_after_stream_seconds(seed_fake_qa):
    settings = seed_fake_qa.settings.replace(stream_seconds=1.0)
    with serve_in_thread(create_app(seed_fake_qa, settings), settings=settings) as url:
        with closing(_connect(url, "127.0.0.1")) as s:
            s.settimeout(30)  # bounded: the server ends it after 1 s
            s.sendall(b"GET /gradio_api/heartbeat/h HTTP/1.1\r\nHost: x\r\n\r\n")
            got = b""
            while not got.endswith(b"0\r\n\r\n"):  # the chunked response's last chunk
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        assert got.startswith(b"HTTP/1.1 200") and b"ALIVE" in got and got.endswith(b"0\r\n\r\n"), got[-200:]


# ---- feedback -------------------------------------------------------------------------------------


def _like_body(config: dict, history: list) -> dict:
    """The chat's like event as the review sent it to /gradio_api/run/predict (no key)."""
    chat = next(x["id"] for x in config["components"] if x["type"] == "chatbot")
    dep = next(d for d in config["dependencies"] if [chat, "like"] in [list(t) for t in d["targets"]])
    return {"fn_index": dep["id"], "data": [history] + [None] * (len(dep["inputs"]) - 1),
            "event_data": {"index": 1, "value": "a", "liked": True}, "session_hash": "attack", "trigger_id": chat}


def _open_session(client: httpx.Client, config: dict, session: str) -> None:
    """What a page does on load (the session's grant is kept from it)."""
    for d in config["dependencies"]:
        if d["targets"] and d["targets"][0][1] == "load" and d.get("backend_fn"):
            r = client.post("/gradio_api/run/predict", json={"fn_index": d["id"], "data": [None] * len(d["inputs"]),
                                                             "session_hash": session})
            assert r.status_code == 200, r.text


@pytest.mark.integration
def test_300_anonymous_votes_store_a_few_dozen_and_an_honest_vote_still_lands(capped):
    url, settings = capped
    big = "q" * 2000
    history = [{"role": "user", "content": [{"type": "text", "text": big}]},
               {"role": "assistant", "content": [{"type": "text", "text": "a" * 2000}]}]
    path = Path(settings.feedback_path)
    with httpx.Client(base_url=url, timeout=30, transport=httpx.HTTPTransport(local_address=ATTACKER)) as attacker:
        config = attacker.get("/config").json()
        _open_session(attacker, config, "attack")
        body = _like_body(config, history)
        codes = [attacker.post("/gradio_api/run/predict", json=body).status_code for _ in range(300)]
    assert set(codes) == {200}, codes  # the event answers; the vote is what is refused
    rows = [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines()]
    print(f"\n300 anonymous like events from one address: {len(rows)} rows stored, "
          f"largest {max(len(json.dumps(r, ensure_ascii=False)) for r in rows):,} bytes")
    assert 1 <= len(rows) <= settings.feedback_burst + 2
    with httpx.Client(base_url=url, timeout=30) as c:
        r = c.post("/api/feedback", json={"question": "When?", "answer": "1999", "vote": "up"},
                   headers={"authorization": f"Bearer {API_KEY}"})
        assert r.status_code == 200, r.text
        assert c.post("/api/feedback", json={"question": "When?", "answer": "1999", "vote": "up"}).status_code == 401
    last = json.loads(path.read_text(encoding="utf-8").splitlines()[-1])
    assert last["question"] == "When?" and last["keyed"] is True


def test_a_full_feedback_file_drops_anonymous_rows_and_keeps_taking_votes(tmp_path, monkeypatch):
    from qa.core.config import Settings
    from qa.surfaces import feedback

    monkeypatch.setattr(feedback, "MAX_FILE_BYTES", 20_000)
    monkeypatch.setattr(feedback, "_buckets", {})
    settings = Settings().replace(feedback_path=tmp_path / "fb.jsonl", feedback_burst=10_000, feedback_interval=0)
    feedback.submit(settings, feedback.Vote("keyed first", "a", True), "10.0.0.1", keyed=True)
    for i in range(200):
        feedback.submit(settings, feedback.Vote(f"spam {i}", "x" * 200, True), "10.0.0.2")
    feedback.submit(settings, feedback.Vote("honest last", "b", True), "10.0.0.3")
    text = settings.feedback_path.read_text(encoding="utf-8")
    rows = [json.loads(ln) for ln in text.splitlines()]
    assert len(text.encode()) <= 20_000
    assert rows[0]["question"] == "keyed first" and rows[-1]["question"] == "honest last"
    assert "spam 0" not in text  # the oldest anonymous rows went first


def test_a_vote_row_is_capped_and_votes_are_rate_limited_per_address(tmp_path, monkeypatch):
    from qa.core.config import Settings
    from qa.surfaces import feedback

    monkeypatch.setattr(feedback, "_buckets", {})
    settings = Settings().replace(feedback_path=tmp_path / "fb.jsonl", feedback_burst=3, feedback_interval=3600)
    history = tuple({"role": "user", "content": "é" * 5000} for _ in range(20))
    row = feedback.submit(settings, feedback.Vote("q" * 9000, "a" * 9000, False, "c" * 9000, history), "10.0.0.9")
    assert row["question"] == "q" * settings.max_question_chars
    line = settings.feedback_path.read_bytes()
    assert len(line) <= feedback.MAX_ROW_BYTES
    for _ in range(2):
        feedback.submit(settings, feedback.Vote("q", "a", True), "10.0.0.9")
    with pytest.raises(feedback.TooManyVotes, match="please wait"):
        feedback.submit(settings, feedback.Vote("q", "a", True), "10.0.0.9")
    feedback.submit(settings, feedback.Vote("q", "a", True), "10.0.0.10")  # another address is not held back
    with pytest.raises(feedback.TooManyVotes):  # one IPv6 subscriber is one /64, not 2^64 addresses
        for i in range(5):
            feedback.submit(settings, feedback.Vote("q", "a", True), f"2001:db8::{i + 1}")


# ---- markup ---------------------------------------------------------------------------------------

EVIL_TITLE = "Guide [Login to continue](https://evil.example/phish) ![t](https://evil.example/pixel.png)"


@pytest.mark.integration
def test_a_markdown_title_reaches_the_chat_intro_as_text(tmp_path):
    from conftest import FakeEmbedder
    from qa.answer.pipeline import QA
    from qa.core.config import Settings

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "guide.md").write_text(f"# {EVIL_TITLE}\n\nThe harbour opened in 1999.\n", encoding="utf-8")
    qa = QA(Settings().replace(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index"), embedder=FakeEmbedder())
    qa.warm_up()
    with serve_in_thread(create_app(qa)) as url, httpx.Client(base_url=url, timeout=30) as c:
        config = c.get("/config").json()
        intro = next(x["id"] for x in config["components"] if x.get("props", {}).get("elem_id") == "qa-intro")
        load = next(d for d in config["dependencies"] if d["targets"] and d["targets"][0][1] == "load" and
                    intro in d["outputs"])
        out = c.post("/gradio_api/run/predict", json={"fn_index": load["id"], "data": [], "session_hash": "m"}).json()
        shown = out["data"][0]
    assert "Login to continue" in shown
    assert "](" not in shown.replace("\\](", "") and "![" not in shown.replace("!\\[", "")  # every bracket escaped


# ---- secrets --------------------------------------------------------------------------------------


@pytest.mark.integration
def test_no_key_in_any_file_that_build_eval_or_the_server_write(tmp_path, monkeypatch, fake_embedder, tiny_corpus):
    from click.testing import CliRunner

    import qa.answer.pipeline
    from qa.answer.pipeline import QA
    from qa.core.config import load_settings
    from qa.index.child import child_env
    from qa.surfaces.cli import cli

    monkeypatch.setenv("QA_API_KEY", API_KEY)
    monkeypatch.setenv("QA_ADMIN_KEY", ADMIN_KEY)
    monkeypatch.setattr(qa.answer.pipeline, "load_embedder", lambda *a, **k: fake_embedder)
    index, reports = tmp_path / "index", tmp_path / "reports"
    base = ["--corpus", str(tiny_corpus), "--index", str(index)]
    runner = CliRunner()
    assert runner.invoke(cli, base + ["build", "-q"], catch_exceptions=False).exit_code == 0
    testset = Path(__file__).parent / "data" / "eval" / "tiny.jsonl"
    res = runner.invoke(cli, base + ["eval", str(testset), "--report-dir", str(reports), "-q"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    settings = load_settings(corpus_dir=tiny_corpus, index_dir=index, feedback_path=tmp_path / "fb" / "f.jsonl")
    assert settings.api_key == API_KEY and settings.admin_key == ADMIN_KEY
    log_file = tmp_path / "server.log"
    import logging

    handler = logging.FileHandler(log_file)
    for name in ("qa", "qa.access"):
        logging.getLogger(name).addHandler(handler)
    try:
        app_qa = QA(settings, embedder=fake_embedder)
        app_qa.warm_up()
        with serve_in_thread(create_app(app_qa, settings), settings=settings) as url, \
                httpx.Client(base_url=url, timeout=30) as c:
            auth = {"authorization": f"Bearer {API_KEY}"}
            c.post("/api/ask", json={"question": "When was the treaty signed?"}, headers=auth)
            c.post("/api/feedback", json={"question": "q", "answer": "a", "vote": "up"}, headers=auth)
            c.get(f"/admin/?key={ADMIN_KEY}", auth=("admin", ADMIN_KEY))
            c.get("/healthz")
    finally:
        for name in ("qa", "qa.access"):
            logging.getLogger(name).removeHandler(handler)
        handler.close()
    written = [p for p in tmp_path.rglob("*") if p.is_file() and tiny_corpus not in p.parents]
    assert any(p.name == "report.json" for p in written) and any(p.name == "f.jsonl" for p in written)
    leaks = [str(p) for p in written for key in (API_KEY, ADMIN_KEY) if key.encode() in p.read_bytes()]
    assert leaks == []
    env = child_env(settings)
    assert API_KEY not in env.values() and ADMIN_KEY not in env.values()


def test_secrets_are_marked_once_on_the_settings():
    from qa.core.config import Settings, public_settings, secret_names

    assert secret_names() == {"api_key", "admin_key"}
    dumped = public_settings(Settings().replace(api_key="a-key", admin_key="b-key"))
    assert "a-key" not in json.dumps(dumped) and "b-key" not in json.dumps(dumped)
    assert "a-key" not in repr(Settings().replace(api_key="a-key"))


# ---- extraction limits ----------------------------------------------------------------------------


def slow_pdf(ops: int) -> bytes:
    """A few kB of PDF whose one page draws ``ops`` text operators (the review's had 500,000)."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    w = PdfWriter()
    page = w.add_blank_page(200, 200)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): w._add_object(font)})})
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 1 Tf " + b"(a) Tj " * ops + b"ET")
    page[NameObject("/Contents")] = w._add_object(stream.flate_encode(level=9))
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def docx_unpacking_to(unpacked: int, noise: int) -> bytes:
    """A real Word document whose text unpacks to about ``unpacked`` bytes of XML, padded with
    ``noise`` bytes that do not compress (the review's was 2 MB unpacking to 190 MB: 95x, under
    the ratio check)."""
    src = zipfile.ZipFile(io.BytesIO(D.docx_bytes()))
    xml = src.read("word/document.xml")
    cut = xml.rindex(b"<w:sectPr")
    para = b"<w:p><w:r><w:t>The harbour opened in 1999.</w:t></w:r></w:p>"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for info in src.infolist():
            if info.filename != "word/document.xml":
                z.writestr(info.filename, src.read(info.filename))
        z.writestr(zipfile.ZipInfo("word/media/noise.bin"), os.urandom(noise), compress_type=zipfile.ZIP_STORED)
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            f.write(xml[:cut])
            block = para * 20_000
            for _ in range(max(1, unpacked // len(block))):
                f.write(block)
            f.write(xml[cut:])
    return out.getvalue()


def test_a_slow_pdf_is_skipped_at_the_time_limit_naming_it():
    from qa.ingest.sandbox import Limits, Sandbox

    with Sandbox(Limits(seconds=2.0)) as sandbox:
        with pytest.raises(CorpusError, match=r"^slow\.pdf: reading it took longer than 2 s \(the extract_seconds setting\)"):
            sandbox.extract(slow_pdf(1_000_000), "slow.pdf")  # past 2 s on an idle machine too (300,000 was not)
        sandbox.limits = Limits()  # the default limit: a busy machine must not fail the next file
        assert "Velmora" in sandbox.extract(D.pdf_bytes(), "next.pdf").text  # a fresh child reads the next file


def test_a_docx_unpacking_to_190_mb_is_refused_before_reading():
    data = docx_unpacking_to(190_000_000, 900_000)
    from qa.ingest.formats import MAX_UNPACK_RATIO, extract

    assert len(data) < 2_500_000 and len(data) * MAX_UNPACK_RATIO > 190_000_000  # the ratio check alone lets it in
    with pytest.raises(CorpusError, match=r"unpacks to 1\d\d,\d{3},\d{3} bytes from 2,\d{3},\d{3}"):
        extract(data, "bomb.docx")


def test_a_reader_over_the_memory_limit_is_skipped_naming_it():
    from qa.ingest.sandbox import Limits, Sandbox

    data = docx_unpacking_to(60_000_000, 700_000)  # within the unpack limits: parsed, in 256 MB
    from qa.ingest.formats import MAX_UNPACK_RATIO, MAX_UNPACKED_BYTES

    size = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    assert size < MAX_UNPACKED_BYTES and size < MAX_UNPACK_RATIO * len(data)
    with Sandbox(Limits(memory_mb=256)) as sandbox:
        with pytest.raises(CorpusError, match=r"extract_memory_mb"):
            sandbox.extract(data, "heavy.docx")


def test_builds_and_uploads_read_through_the_limits(tmp_path, monkeypatch):
    """A build skips the slow PDF with the reason and indexes the rest; an upload refuses it."""
    from conftest import FakeEmbedder
    from qa.answer.pipeline import QA
    from qa.core.config import Settings
    from qa.ingest.library import add_file
    from qa.ingest.sandbox import Limits, Sandbox

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "slow.pdf").write_bytes(slow_pdf(1_000_000))  # past 2 s on an idle machine too (300,000 was not)
    (corpus / "harbour.txt").write_text("= Harbour =\n\nThe harbour opened in 1999.\n", encoding="utf-8")
    qa = QA(Settings().replace(corpus_dir=corpus, index_dir=tmp_path / "index", extract_seconds=2.0),
            embedder=FakeEmbedder())
    manifest = qa.build()
    assert "extract_seconds" in manifest["skipped"]["slow.pdf"] and "harbour.txt" not in manifest["skipped"]
    assert manifest["counts"]["documents"] == 1
    with Sandbox(Limits(seconds=2.0)) as sandbox, pytest.raises(CorpusError, match="extract_seconds"):
        add_file(tmp_path / "corpus", "slow2.pdf", slow_pdf(1_000_000), sandbox=sandbox)
    assert not (corpus / "slow2.pdf").exists()


# ---- dependencies and encrypted PDFs -------------------------------------------------------------


def test_every_reader_dependency_is_declared():
    import tomllib

    deps = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {d.split(">")[0].split("=")[0].split("<")[0].strip().lower() for d in deps}
    assert {"pypdf", "python-docx", "trafilatura", "lxml_html_clean", "cryptography"} <= names


@pytest.mark.parametrize("kind,data,error,package", [
    ("html", D.HTML_PAGE.encode(), ImportError("lxml.html.clean module is now a separate project lxml_html_clean"),
     "lxml_html_clean"),
    ("pdf", None, "DependencyError", "cryptography"),
])
def test_a_missing_reader_package_is_named_not_blamed_on_the_file(monkeypatch, kind, data, error, package):
    from qa.ingest import formats

    if error == "DependencyError":
        from pypdf.errors import DependencyError

        error = DependencyError("cryptography>=3.1 is required for AES algorithm")

    def broken(*a, **k):
        raise error

    monkeypatch.setattr(formats, f"_{kind}", broken)
    with pytest.raises(CorpusError) as e:
        formats.extract(data or D.pdf_bytes(), f"x.{kind}")
    assert f"pip install {package}" in str(e.value) and "damaged" not in str(e.value)


def test_an_aes_pdf_with_an_empty_password_is_read_and_a_password_is_named():
    from pypdf import PdfReader, PdfWriter

    from qa.ingest.formats import extract

    def encrypted(user: str) -> bytes:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(D.pdf_bytes())))
        writer.encrypt(user_password=user, owner_password="owner", algorithm="AES-256")
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    assert "Velmora" in extract(encrypted(""), "filing.pdf").text
    with pytest.raises(CorpusError, match="encrypted with a password"):
        extract(encrypted("secret"), "locked.pdf")


# ---- uploads -------------------------------------------------------------------------------------


def test_an_upload_whose_name_looks_like_another_file_is_refused(tmp_path):
    from qa.ingest.library import add_file

    (tmp_path / "central-asia-plus-japan.txt").write_text("The original.\n", encoding="utf-8")
    for name in ("ｃentral-asia-plus-japan.txt", "Central-Asia-Plus-Japan.txt"):
        with pytest.raises(CorpusError, match="already has central-asia-plus-japan.txt"):
            add_file(tmp_path, name, b"A replacement.\n")
    assert (tmp_path / "central-asia-plus-japan.txt").read_text(encoding="utf-8") == "The original.\n"
    assert add_file(tmp_path, "central-asia-plus-japan.txt", b"Asked for.\n") == ("central-asia-plus-japan.txt", True)


@pytest.mark.parametrize("name,data,reason", [
    ("README.md", b"# Notes\n\nSome text.\n", "left out of the index"),
    ("LICENSE.txt", b"Some text.\n", "left out of the index"),
    ("empty.pdf", b"", r"the file is empty \(0 bytes\)"),
    ("blank.txt", b"  \n\n ", "holds no text"),
])
def test_an_upload_the_index_would_not_take_is_refused_with_the_reason(tmp_path, name, data, reason):
    from qa.ingest.library import add_file

    with pytest.raises(CorpusError, match=reason):
        add_file(tmp_path, name, data)
    assert list(tmp_path.iterdir()) == []


def test_a_refused_upload_says_nothing_of_an_earlier_build(tmp_path):
    from qa.surfaces.documents_tab import Library

    class FakeQA:
        build_in_child = False

        def __init__(self, settings):
            self.settings = settings

    from qa.core.config import Settings

    (tmp_path / "corpus").mkdir()
    lib = Library(FakeQA(Settings().replace(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")))
    lib.reindexer.result = "Re-indexed in 9 s: 3 documents; 0 texts embedded, 10 kept."
    upload = tmp_path / "README.md"
    upload.write_text("# Notes\n", encoding="utf-8")
    from qa.surfaces.render import unescape

    message = unescape(list(lib.follow(lib.add([upload])))[-1][0])
    assert message.startswith("Not added: README.md") and "Re-indexed" not in message


# ---- /admin ---------------------------------------------------------------------------------------


@pytest.mark.integration
def test_admin_without_the_slash_redirects_behind_the_key(capped):
    url, _ = capped
    with httpx.Client(base_url=url, timeout=30) as c:
        assert c.get("/admin").status_code == 401
        r = c.get("/admin", auth=("admin", ADMIN_KEY))
        assert r.status_code == 308 and r.headers["location"] == "/admin/"
        r = c.get("/admin?next=//evil.example/x", auth=("admin", ADMIN_KEY))
        assert r.status_code == 308 and r.headers["location"].startswith("/admin/?")
        assert c.get("/admin", auth=("admin", ADMIN_KEY), follow_redirects=True).status_code == 200
