"""The Evaluate tab: its handler (no browser) and the tab itself in headless Chromium."""

import json
from pathlib import Path

import pytest

from conftest import REPO, TINY_DOC, FakeEmbedder
from qa.core.config import Settings
from qa.surfaces.eval_tab import make_evaluator
from qa.answer.pipeline import QA

DATA = Path(__file__).parent / "data" / "eval"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
PAYLOAD = '<img src=x onerror="window.__xss=1">'


@pytest.fixture
def tiny_qa(tiny_settings, fake_embedder):
    qa = QA(tiny_settings, embedder=fake_embedder)
    qa.warm_up()
    return qa


def test_handler_evaluates_an_upload(tiny_qa, tmp_path):
    evaluate_file = make_evaluator(tiny_qa, tmp_path / "out")
    ticks = []
    status, summary, fails, conf_png, hit_png, report = evaluate_file(
        str(DATA / "tiny.jsonl"), lambda frac, desc: ticks.append(frac))
    assert status.startswith("Evaluated **6** questions from *tiny\\.jsonl* (jsonl)")
    assert ["answer contained (all)"] == [r[0] for r in summary if r[0] == "answer contained (all)"]
    assert all(len(row) == 6 for row in fails)
    assert Path(conf_png).read_bytes()[:4] == b"\x89PNG" and Path(hit_png).is_file()
    assert json.loads(Path(report).read_text())["metrics"]["questions"] == 6
    assert ticks[-1] == 1.0 and len(ticks) == 6


@pytest.mark.parametrize("content, message", [
    (b"", "tiny.up is empty"),
    (b'{"id": "a", "question": "Q?"}\n', "line 1, field 'answers': missing"),
    (b"\xff\xfe", "not UTF-8 text"),
])
def test_handler_bad_files_are_messages(tiny_qa, tmp_path, content, message):
    up = tmp_path / "tiny.up"
    up.write_bytes(content)
    status, summary, fails, *files = make_evaluator(tiny_qa, tmp_path / "out")(str(up))
    assert message in status.replace("\\", "") and status.startswith("**")
    assert summary == [] and fails == [] and files == [None, None, None]


def test_handler_without_file_and_too_many_questions(tiny_qa, tmp_path, monkeypatch):
    evaluate_file = make_evaluator(tiny_qa, tmp_path / "out")
    assert "Upload a test set first" in evaluate_file(None)[0]
    assert "cannot read the uploaded file" in evaluate_file(str(tmp_path / "gone.jsonl"))[0]
    monkeypatch.setattr("qa.surfaces.eval_tab.MAX_QUESTIONS", 2)
    assert "has 6 questions; the limit here is 2" in evaluate_file(str(DATA / "tiny.jsonl"))[0].replace("\\", "")


def test_handler_hides_internal_errors(tiny_qa, tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("internal detail")

    monkeypatch.setattr("qa.surfaces.eval_tab.evaluate", boom)
    status = make_evaluator(tiny_qa, tmp_path / "out")(str(DATA / "tiny.jsonl"))[0]
    assert "Something went wrong" in status and "internal detail" not in status


# ---- in the browser -------------------------------------------------------------------------


ADMIN_KEY = "eval-admin-key"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    from qa.surfaces.server import create_app
    from qa.surfaces.http import serve_in_thread

    root = tmp_path_factory.mktemp("eval-ui")
    (root / "corpus").mkdir()
    (root / "corpus" / "tiny.txt").write_text(TINY_DOC, encoding="utf-8")
    qa = QA(Settings().replace(corpus_dir=root / "corpus", index_dir=root / "index", admin_key=ADMIN_KEY),
            embedder=FakeEmbedder())
    qa.warm_up()
    with serve_in_thread(create_app(qa, qa.settings)) as url:
        yield url


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.skipif(not CHROMIUM.exists(), reason="!!! /usr/bin/chromium is missing: browser test SKIPPED !!!")
def test_evaluate_tab_in_the_browser(app_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    hostile = tmp_path / "hostile.jsonl"
    hostile.write_text(
        (DATA / "tiny.jsonl").read_text(encoding="utf-8")
        + json.dumps({"id": "x1", "question": f"What about {PAYLOAD} markup?", "answers": ["it's gold"]}) + "\n",
        encoding="utf-8")
    bad = tmp_path / "broken.jsonl"
    bad.write_text('{"id": "a", "question": "Q?", "answers": "Tokyo"}\n', encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--headless=new", "--no-sandbox",
                                                                        "--disable-gpu", "--no-first-run"])
        # the admin pages: the browser asks for the key (HTTP Basic), Playwright answers
        page = browser.new_page(viewport={"width": 1280, "height": 1400},
                                http_credentials={"username": "admin", "password": ADMIN_KEY})
        page.set_default_timeout(30_000)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(app_url + "/admin/")
        page.get_by_role("tab", name="Evaluate").click()
        panel = page.get_by_role("tabpanel")  # the shown tab only: the Documents tab has an upload too
        panel.locator("input[type=file]").first.set_input_files(str(hostile))
        page.get_by_role("button", name="Evaluate", exact=True).click()
        expect(page.get_by_text("Evaluated 7 questions")).to_be_visible()
        expect(page.get_by_text("answer contained (all)").first).to_be_visible()
        expect(page.locator("img[src*='confidence']").first).to_be_visible()
        expect(page.locator("img[src*='hit_at_k']").first).to_be_visible()
        expect(page.get_by_text(f"What about {PAYLOAD} markup?").first).to_be_attached()  # shown as text
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "evaluate-tab.png"), full_page=True)
        assert page.evaluate("window.__xss") is None

        panel.get_by_role("button", name="Clear").first.click()  # remove the first upload
        panel.locator("input[type=file]").first.set_input_files(str(bad))
        page.get_by_role("button", name="Evaluate", exact=True).click()
        expect(page.get_by_text("broken.jsonl, line 1, field 'answers': must be a list of strings, got text")
               ).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "evaluate-tab-error.png"), full_page=True)
        assert errors == [] and page.evaluate("window.__xss") is None
        browser.close()
