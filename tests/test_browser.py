"""Embedding in a real browser: headless Chromium (Debian's /usr/bin/chromium) against the real app
on 127.0.0.1, with the host pages served from ANOTHER port (another origin).

Covers the widget (<script src=/widget.js>), Gradio's web component (<gradio-app>) and the iframe,
on desktop and phone-sized viewports; that no request leaves 127.0.0.1; that HTML in a question or
in a document is shown as text and never runs (widget and Gradio chat); and that an origin not in
``allowed_origins`` can neither frame the chat nor call the API. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import functools
import json
import http.server
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import REPO, TINY_DOC, FakeEmbedder
from qa.core.config import Settings
from qa.answer.pipeline import QA
from qa.surfaces.server import create_app
from qa.surfaces.http import serve_in_thread

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "test-artifacts"
AXE = REPO / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"  # `.ci/run` installs it
Q = "When was the dialogue declared?"
WAIT = 30_000  # ms; bounded waits for answers and page loads

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="!!! BROWSER TESTS SKIPPED: /usr/bin/chromium is missing. Install it with "
               "`sudo apt-get install -y chromium` (Debian) so the embedding tests can run !!!"),
]

PAYLOAD = '<img src=x onerror="window.__xss=1">'
XSS_DOC = f"""= Payload Archive =

==Markup in text==
This archive entry quotes the markup {PAYLOAD} inside a sentence about payload handling.
The archive's editors wrote "Tom & Jerry's <b>bold</b> notes" in the margin.
It also quotes <script>window.__xss=2</script> and <a href="javascript:window.__xss=3">a link</a> as plain words.

==Other==
The harbour festival was held on 3 May 1999 in Gamma City.
"""
XSS_Q = f"What does the archive entry quote about {PAYLOAD} payload markup?"

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  body {{ font-family: Georgia, serif; margin: 24px; color: #333; background: #fbfaf5; }}
  /* Hostile global CSS: none of it may reach the widget. */
  button {{ background: rgb(255, 0, 0) !important; border-radius: 0 !important; }}
  * {{ letter-spacing: 2px; }}
</style></head>
<body>
  <h1>{title}</h1>
  <p>This page is served from another origin than the chat. <button id="host-button" class="send">Host button</button>
     <mark id="host-mark">a host mark</mark></p>
  {snippet}
</body></html>
"""


# ---- servers and browser (one of each per module) --------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """A static web server for the host pages, on its own free port: (base url, folder)."""
    folder = tmp_path_factory.mktemp("host-pages")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def host_page(host, name: str, snippet: str, title: str = "Team intranet") -> str:
    base, folder = host
    (folder / name).write_text(HOST_PAGE.format(title=title, snippet=snippet), encoding="utf-8")
    return f"{base}/{name}"


@pytest.fixture(scope="module")
def app_url(real_qa):
    """The real app (real model, seed corpus) with default settings: localhost may embed it."""
    with serve_in_thread(create_app(real_qa, real_qa.settings)) as url:
        yield url


def _fake_app(root: Path, doc: str, **settings):
    (root / "corpus").mkdir(parents=True)
    (root / "corpus" / "doc.txt").write_text(doc, encoding="utf-8")
    qa = QA(Settings().replace(corpus_dir=root / "corpus", index_dir=root / "index", **settings), embedder=FakeEmbedder())
    qa.warm_up()
    return create_app(qa)


@pytest.fixture(scope="module")
def xss_url(tmp_path_factory, host):
    """An app over a document full of HTML, allowing exactly the host page's origin."""
    app = _fake_app(tmp_path_factory.mktemp("xss"), XSS_DOC, allowed_origins=host[0])
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture(scope="module")
def locked_url(tmp_path_factory):
    """An app that only docs.example.com may embed or call."""
    app = _fake_app(tmp_path_factory.mktemp("locked"), TINY_DOC, allowed_origins="https://docs.example.com")
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture(scope="module")
def unsure_url(tmp_path_factory, host):
    """An app that answers everything (threshold 0) and is sure of nothing (sure threshold 1)."""
    app = _fake_app(tmp_path_factory.mktemp("unsure"), TINY_DOC, allowed_origins=host[0],
                    abstain_threshold=0.0, sure_threshold=1.0)
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield browser
        browser.close()


class Page:
    """A fresh browser context + page that records every request (all frames)."""

    def __init__(self, browser, **context_args):
        self.context = browser.new_context(**context_args)
        self.context.set_default_timeout(WAIT)
        self.requests: list[str] = []
        self.api_bodies: list[dict] = []
        self.errors: list[str] = []
        self.context.on("request", self._on_request)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("websocket", lambda ws: self.requests.append(ws.url))

    def _on_request(self, request):
        self.requests.append(request.url)
        if request.url.endswith("/api/ask") and request.method == "POST":
            self.api_bodies.append(request.post_data_json)

    def offsite(self) -> list[str]:
        """Requests to anything but 127.0.0.1 (data:/blob: URLs stay inside the page)."""
        return [u for u in self.requests if urlsplit(u).scheme not in ("data", "blob")
                and urlsplit(u).hostname != "127.0.0.1"]

    def shot(self, name: str, **kw):
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), **kw)

    def close(self):
        self.context.close()


@pytest.fixture
def browser_page(chromium):
    from playwright.sync_api import expect

    # expect() has its own 5 s default, apart from the context's: the same bounded wait for both
    # (a loaded machine can take longer than 5 s to start the Gradio web component)
    expect.set_options(timeout=WAIT)
    pages = []

    def make(**context_args) -> Page:
        pages.append(Page(chromium, **context_args))
        return pages[-1]

    yield make
    for p in pages:
        p.close()


#: ids used by more than one element of the page (empty ids, which Gradio writes, left aside)
DUPLICATE_IDS = """() => { const seen = {};
    document.querySelectorAll('[id]').forEach(e => { if (e.id) seen[e.id] = (seen[e.id] || 0) + 1; });
    return Object.keys(seen).filter(k => seen[k] > 1); }"""


def axe_violations(page) -> list[str]:
    """The serious and critical axe-core violations of the page (skips the test without axe-core)."""
    if not AXE.exists():
        pytest.skip(f"!!! axe-core is missing ({AXE}); `.ci/run` installs it with npm: accessibility check SKIPPED !!!")
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => v.id + ': ' + v.help + ' ' + v.nodes.map(n => n.target.join(' ')).join(', '))""")


def wait_until(page, predicate, timeout_ms: int = 5000) -> bool:
    """Poll ``predicate()`` while letting the page run, for at most ``timeout_ms``."""
    for _ in range(timeout_ms // 100):
        if predicate():
            return True
        page.wait_for_timeout(100)
    return predicate()


def offset_in_chat(locator) -> float:
    """How far below the top of the chat's scrolled view a message's first line is (px)."""
    return locator.evaluate("""el => {
        const wrap = el.closest('.bubble-wrap');
        return el.getBoundingClientRect().top - wrap.getBoundingClientRect().top;
    }""")


def shadow_eval(page, expr: str):
    """Evaluate ``expr`` with ``root`` bound to the widget's shadow root."""
    return page.evaluate(f"() => {{ const root = document.querySelector('qa-chat-widget').shadowRoot; return {expr}; }}")


def widget_snippet(url: str, **data) -> str:
    attrs = "".join(f' data-{k}="{v}"' for k, v in data.items())
    return f'<script src="{url}/widget.js"{attrs}></script>'


# ---- the widget ------------------------------------------------------------------------------


def test_widget_on_another_origin_answers_with_citations(browser_page, host, app_url):
    from playwright.sync_api import expect

    bp = browser_page(viewport={"width": 1280, "height": 800})
    page = bp.page
    url = host_page(host, "widget.html", widget_snippet(app_url, title="Ask the docs", position="right"))
    assert urlsplit(url).port != urlsplit(app_url).port  # really another origin
    page.goto(url)

    bubble = page.get_by_role("button", name="Ask the docs", exact=True)
    expect(bubble).to_be_visible()
    bubble.focus()
    page.keyboard.press("Enter")  # keyboard only
    dialog = page.get_by_role("dialog", name="Ask the docs")
    expect(dialog).to_be_visible()
    assert shadow_eval(page, "root.activeElement && root.activeElement.tagName") == "INPUT"  # focus moved in
    expect(bubble).to_have_attribute("aria-expanded", "true")

    page.keyboard.type(Q)
    page.keyboard.press("Enter")
    card = page.locator("qa-chat-widget .bot .qa-answer").first
    expect(card.locator(".qa-headline")).to_contain_text("28 August 2004")
    label = card.locator(".qa-confidence .qa-label")
    expect(label).to_have_text(re.compile(r"^(Likely|Not sure)$"))  # in words; the percentage on hover
    expect(label).to_have_attribute("title", re.compile(r"^Confidence \d+%$"))
    expect(card.locator(".qa-sources-label")).to_have_text("Sources")
    first = card.locator(".qa-card").first
    expect(first.locator(".qa-title")).to_contain_text("Central Asia plus Japan › Initial declaration")
    expect(first.locator(".qa-sentence mark").first).to_contain_text("The dialogue was formally declared on")
    expect(first.locator(".qa-sentence mark strong")).to_contain_text("28 August 2004")  # the answer, in its sentence
    # the [1] marker jumps to its source card
    card.locator(".qa-ref").click()
    assert shadow_eval(page, "root.activeElement && root.activeElement.id") == first.get_attribute("id")
    # the card links to the document view on the chat server, in a new tab
    link = first.locator("a.qa-open")
    expect(link).to_have_attribute("href", re.compile("^" + re.escape(app_url) + r"/doc/central-asia-plus-japan\.txt\?"))
    assert not card.locator("a[href*='score']").count() and "score" not in card.inner_text()
    page.wait_for_timeout(300)  # let the scroll settle for the screenshot
    bp.shot("widget-desktop")

    # Feedback: thumbs up is stored on the server. The thumbs are inline SVG, not emoji (a
    # machine without an emoji font drew empty boxes).
    votes = page.locator("qa-chat-widget .bot .vote button[aria-label$='elpful']")
    assert [votes.nth(i).locator("svg").count() for i in range(votes.count())] == [1, 1]
    assert [votes.nth(i).inner_text().strip() for i in range(votes.count())] == ["", ""]
    page.locator("qa-chat-widget .bot .vote button[aria-label='Helpful']").first.click()
    expect(page.locator("qa-chat-widget .bot .vote [role=status]").first).to_have_text("Thanks for the feedback.")

    # A follow-up sends the conversation so far, with where the answer came from.
    input_ = page.get_by_role("textbox", name="Your question")
    input_.focus()
    page.keyboard.type("Where was it declared?")
    page.keyboard.press("Enter")
    expect(page.locator("qa-chat-widget .bot")).to_have_count(2)
    assert bp.api_bodies[0] == {"question": Q, "history": []}
    assert bp.api_bodies[1]["history"][0] == {"role": "user", "content": Q}
    turn = bp.api_bodies[1]["history"][1]
    assert turn["role"] == "assistant" and "28 August 2004" in turn["content"]
    assert turn["source"]["doc"] == "central-asia-plus-japan.txt"

    # New chat empties the conversation.
    page.locator("qa-chat-widget .new").click()
    expect(page.locator("qa-chat-widget .bot")).to_have_count(0)

    # Escape closes the panel and gives focus back to the bubble.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert shadow_eval(page, "root.activeElement && root.activeElement.className") == "bubble"
    expect(page.get_by_role("button", name="Ask the docs", exact=True)).to_have_attribute("aria-expanded", "false")

    # No CSS crosses the shadow boundary, in either direction.
    styles = shadow_eval(page, """(() => {
        const s = (el) => getComputedStyle(el);
        return {bubble: s(root.querySelector('.bubble')).backgroundColor,
                spacing: s(root.querySelector('.hint')).letterSpacing,
                hostButton: getComputedStyle(document.getElementById('host-button')).backgroundColor,
                hostButtonPad: getComputedStyle(document.getElementById('host-button')).paddingLeft,
                hostMark: getComputedStyle(document.getElementById('host-mark')).backgroundColor};
    })()""")
    assert styles["bubble"] == "rgb(29, 78, 216)"  # not the host's red !important
    assert styles["spacing"] == "normal"  # the host's * { letter-spacing } did not get in
    assert styles["hostButton"] == "rgb(255, 0, 0)" and styles["hostButtonPad"] != "14px"  # ours did not get out
    assert styles["hostMark"] == "rgb(255, 255, 0)"
    assert bp.errors == []
    assert bp.offsite() == []


def test_widget_is_readable_on_a_phone(browser_page, host, app_url):
    from playwright.sync_api import expect

    bp = browser_page(viewport={"width": 375, "height": 667}, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = bp.page
    page.goto(host_page(host, "widget-phone.html", widget_snippet(app_url, title="Ask the docs")))
    page.get_by_role("button", name="Ask the docs", exact=True).tap()
    dialog = page.get_by_role("dialog", name="Ask the docs")
    expect(dialog).to_be_visible()
    page.get_by_role("textbox", name="Your question").fill(Q)
    page.get_by_role("button", name="Send").tap()
    expect(page.locator("qa-chat-widget .bot .qa-headline").first).to_contain_text("28 August 2004")
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375 and box["width"] >= 340
    assert box["y"] >= 0 and box["y"] + box["height"] <= 667
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling
    assert shadow_eval(page, "parseFloat(getComputedStyle(root.querySelector('input')).fontSize)") >= 16  # no zoom-on-focus
    card = page.locator("qa-chat-widget .bot .qa-card").first.bounding_box()
    assert card["x"] + card["width"] <= 375
    page.wait_for_timeout(300)
    bp.shot("widget-phone")
    assert bp.errors == [] and bp.offsite() == []


# ---- the full chat: Gradio web component and iframe --------------------------------------------


def _ask_gradio(scope, question: str):
    box = scope.locator("#qa-question textarea").first
    box.fill(question)
    box.press("Enter")


def _question_offset(bot) -> float:
    """How far below the top of the chat's scrolled view the question of ``bot``'s answer is (px)."""
    return bot.evaluate("""el => {
        const row = el.closest('.message-row');
        let q = row.previousElementSibling;
        while (q && !q.classList.contains('user-row')) q = q.previousElementSibling;
        const wrap = el.closest('.bubble-wrap');
        return (q || row).getBoundingClientRect().top - wrap.getBoundingClientRect().top;
    }""")


def test_gradio_chat_keeps_the_question_and_the_answer_in_view(browser_page, app_url):
    from playwright.sync_api import expect

    bp = browser_page(viewport={"width": 1100, "height": 900})
    page = bp.page
    page.goto(app_url + "/")
    for n, (question, answer) in enumerate([(Q, "28 August 2004"), ("Who chaired the first summit?", "Takaichi")]):
        _ask_gradio(page, question)
        bot = page.locator('#qa-answers [data-testid="bot"]').nth(n)
        expect(bot).to_contain_text("Sources")
        page.wait_for_timeout(500)
        assert 0 <= _question_offset(bot) <= 40, "the question must stay at the top of the chat"
        headline = bot.locator(".qa-headline")
        expect(headline).to_contain_text(answer)
        expect(headline).to_be_in_viewport()
    bp.shot("gradio-answer-in-view")
    page.locator('#qa-answers .bubble-wrap').evaluate("el => { el.scrollTop = 0; }")  # the reader scrolls up ...
    page.wait_for_timeout(300)
    assert page.locator('#qa-answers .bubble-wrap').evaluate("el => el.scrollTop") == 0  # ... and stays there
    assert bp.errors == []


def test_gradio_chat_answer_card_sources_and_document_view(browser_page, app_url):
    from playwright.sync_api import expect

    bp = browser_page(viewport={"width": 1280, "height": 900})
    page = bp.page
    page.goto(app_url + "/")
    _ask_gradio(page, Q)
    bot = page.locator('#qa-answers [data-testid="bot"]').last
    expect(bot.locator(".qa-headline")).to_contain_text("28 August 2004")
    expect(bot.locator(".qa-label")).to_have_text(re.compile(r"^(Likely|Not sure)$"))
    assert "score" not in bot.inner_text()
    cards = bot.locator(".qa-card")
    texts = [cards.nth(i).locator(".qa-sentence").inner_text() for i in range(cards.count())]
    assert len(texts) == len(set(texts))  # no sentence twice
    assert bot.locator(".qa-card:not(.qa-supports) mark").count() == 0  # only supporting sentences marked
    # the whole passage is one click away
    more = cards.first.locator("details.qa-more")
    if more.count():
        more.locator("summary").click()
        expect(more.locator(".qa-passage")).to_be_visible()
    # the source opens in place: the document, the passage highlighted and scrolled to
    href = cards.first.locator("a.qa-open").get_attribute("href")
    assert href.startswith("/doc/central-asia-plus-japan.txt?")
    doc = bp.context.new_page()
    doc.goto(app_url + href)
    mark = doc.locator("mark#passage")
    expect(mark).to_contain_text("The dialogue was formally declared on 28 August 2004")
    expect(mark).to_be_in_viewport()
    doc.screenshot(path=str(ARTIFACTS / "document-view.png"))
    doc.close()
    bp.shot("gradio-answer-card")
    assert bp.errors == [] and bp.offsite() == []


def test_gradio_chat_examples_feedback_and_new_chat(browser_page, tmp_path_factory):
    from playwright.sync_api import expect

    root = tmp_path_factory.mktemp("feedback")
    (root / "corpus").mkdir()
    (root / "corpus" / "doc.txt").write_text(TINY_DOC, encoding="utf-8")
    qa = QA(Settings().replace(corpus_dir=root / "corpus", index_dir=root / "index", feedback_path=root / "fb.jsonl"),
            embedder=FakeEmbedder())
    qa.warm_up()
    with serve_in_thread(create_app(qa)) as url:
        bp = browser_page(viewport={"width": 1280, "height": 900})
        page = bp.page
        page.goto(url + "/")
        examples = page.locator("#qa-examples button")
        expect(examples.first).to_be_visible()
        labels = [examples.nth(i).inner_text() for i in range(examples.count())]
        assert labels and all("Tiny Treaty" in t for t in labels)  # made from the corpus's own headings
        assert any("history" in t.lower() or "goals" in t.lower() for t in labels), labels
        # keyboard only: Tab to the question box, type, Enter
        page.locator("#qa-question textarea").focus()
        page.keyboard.type("When was the treaty signed?")
        page.keyboard.press("Enter")
        bot = page.locator('#qa-answers [data-testid="bot"]').last
        expect(bot.locator(".qa-headline")).to_contain_text("3 May 1999")
        expect(examples.first).to_be_hidden()  # they make way once the conversation starts
        # thumbs down, then a correction
        bot.locator("xpath=ancestor::div[contains(@class,'message-row')]").first.hover()
        page.get_by_role("button", name="Dislike").last.click()
        fix = page.get_by_label("What should the answer have been? (optional)")
        expect(fix).to_be_visible()
        assert page.evaluate(DUPLICATE_IDS) == []  # Gradio wrote a Group's elem_id twice
        fix.fill("3 May 1999, in Gamma City")
        page.get_by_role("button", name="Send correction").click()
        expect(page.locator("#qa-thanks")).to_contain_text("correction was saved")
        rows = [json.loads(line) for line in (root / "fb.jsonl").read_text(encoding="utf-8").splitlines()]
        assert [r["vote"] for r in rows] == ["down", "down"] and "answers" not in rows[0]
        assert rows[1]["answers"] == ["3 May 1999, in Gamma City"] and rows[1]["corrects"] == rows[0]["id"]
        assert rows[0]["question"] == "When was the treaty signed?" and rows[0]["shown"] == "3 May 1999"
        # New chat empties the conversation and brings the examples back
        page.get_by_role("button", name="New chat").click()
        expect(page.locator('#qa-answers [data-testid="bot"]')).to_have_count(0)
        expect(examples.first).to_be_visible()
        assert bp.errors == []


def test_gradio_web_component_on_another_origin(browser_page, host, app_url):
    from playwright.sync_api import expect

    bp = browser_page(viewport={"width": 1280, "height": 1000})
    page = bp.page
    snippet = f'<script type="module" src="{app_url}/gradio.js"></script>\n  <gradio-app src="{app_url}/"></gradio-app>'
    page.goto(host_page(host, "web-component.html", snippet))
    app = page.locator("gradio-app")
    expect(app.get_by_text("Ask the documents").first).to_be_visible()
    _ask_gradio(app, Q)
    bot = app.locator('[data-testid="bot"]').last
    expect(bot.locator(".qa-headline")).to_contain_text("28 August 2004")
    expect(bot).to_contain_text("Sources")
    expect(bot).to_contain_text("Initial declaration")
    expect(bot.locator("mark").first).to_contain_text("28 August 2004")
    page.wait_for_timeout(500)
    assert 0 <= _question_offset(bot) <= 40  # embedded, too, the question stays in view
    assert bot.locator(".qa-headline").evaluate("e => getComputedStyle(e).fontWeight") == "700"  # the same styles
    bp.shot("gradio-web-component", full_page=True)
    assert any(u.startswith(app_url + "/assets/") for u in bp.requests)  # the frontend came from our server
    assert bp.offsite() == []


@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)])
def test_iframe_embed_on_another_origin(browser_page, host, app_url, width, height):
    from playwright.sync_api import expect

    bp = browser_page(viewport={"width": width, "height": height})
    page = bp.page
    snippet = (f'<iframe src="{app_url}/?__theme=light" title="Ask the documents"\n'
               '        style="width:100%; height:760px; border:0" loading="lazy"></iframe>')  # as in docs/embedding.md
    page.goto(host_page(host, f"iframe-{width}.html", snippet))
    frame = page.frame_locator("iframe")
    _ask_gradio(frame, Q)
    bot = frame.locator('[data-testid="bot"]').last
    expect(bot.locator(".qa-headline")).to_contain_text("28 August 2004")
    expect(bot).to_contain_text("Sources")
    page.wait_for_timeout(500)
    assert 0 <= _question_offset(bot) <= 40
    # the question box is inside the frame, not clipped by it
    frame_box = page.locator("iframe").bounding_box()
    ask_box = frame.locator("#qa-question textarea").bounding_box()
    assert ask_box["y"] + ask_box["height"] <= frame_box["y"] + frame_box["height"], (ask_box, frame_box)
    bp.shot(f"iframe-embed-{width}", full_page=True)
    assert bp.offsite() == []


@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)])
def test_chat_page_layout_and_accessibility(browser_page, app_url, width, height):
    """Desktop and phone: no sideways scroll, the answer bubble uses the width, the question box
    in view, no console errors on load, and no serious or critical axe-core violations."""
    from playwright.sync_api import expect

    bp = browser_page(viewport={"width": width, "height": height})
    page = bp.page
    console = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.goto(app_url + "/")
    expect(page.locator("#qa-question textarea")).to_be_in_viewport()
    _ask_gradio(page, Q)
    bot = page.locator('#qa-answers [data-testid="bot"]').last
    expect(bot.locator(".qa-headline")).to_contain_text("28 August 2004")
    page.wait_for_timeout(500)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    chat = page.locator("#qa-answers").bounding_box()
    card = bot.locator(".qa-answer").bounding_box()
    assert chat["x"] + chat["width"] - (card["x"] + card["width"]) <= 40, (chat, card)  # no wide blank margin
    assert card["x"] + card["width"] <= chat["x"] + chat["width"] + 1, (chat, card)  # and not cut off at the right
    bp.shot(f"chat-{width}")
    assert console == [], console
    assert page.evaluate(DUPLICATE_IDS) == []
    found = axe_violations(page)
    assert found == [], found


def test_empty_chat_on_a_phone_says_what_to_ask(browser_page, app_url):
    """On a phone the empty chat shows the intro and the example questions above the question
    box, all on the first screen; once a question is asked the conversation takes the screen."""
    from playwright.sync_api import expect

    bp = browser_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = bp.page
    page.goto(app_url + "/")
    intro = page.locator("#qa-intro")
    expect(intro).to_contain_text("Ask about Central Asia plus Japan")
    examples = page.locator("#qa-examples button")
    expect(examples.first).to_be_visible()
    for el in [intro, *[examples.nth(i) for i in range(examples.count())], page.locator("#qa-question textarea")]:
        if el.is_visible():
            expect(el).to_be_in_viewport(ratio=1)
    assert examples.count() >= 2 and all(examples.nth(i).is_visible() for i in range(examples.count()))
    bp.shot("chat-empty-390")
    examples.first.click()
    bot = page.locator('#qa-answers [data-testid="bot"]').last
    expect(bot.locator(".qa-headline")).to_be_visible()
    expect(intro).to_be_hidden()
    expect(examples.first).to_be_hidden()
    assert page.locator("#qa-answers").bounding_box()["height"] > 400  # the answer gets the room
    assert bp.errors == []


def test_chat_opened_while_indexing_fills_itself_in(browser_page, tmp_path_factory):
    """A page opened during the first build says which stage it is in (no made-up overall
    percentage), then shows the corpus and its example questions once the index is ready,
    without a reload."""
    from playwright.sync_api import expect

    from qa.surfaces.startup import Startup

    root = tmp_path_factory.mktemp("first-build")
    (root / "corpus").mkdir()
    (root / "corpus" / "doc.txt").write_text(TINY_DOC, encoding="utf-8")
    qa = QA(Settings().replace(corpus_dir=root / "corpus", index_dir=root / "index"), embedder=FakeEmbedder())
    go, build = threading.Event(), qa.warm_up

    def slow_build(progress=False, on_stage=None, on_output=None, **kw):
        # what a child build prints (qa/index/store.py), then a wait the test ends
        on_output(f"Reading {root / 'corpus'}\nEmbedding 12 texts with fake\n")
        on_output("\rEmbedding:  42%|####      | 5/12 [00:01<00:01, 4.2text/s]")
        assert go.wait(WAIT / 1000)
        build()

    qa.warm_up = slow_build
    startup = Startup(qa, progress=False).start()
    with serve_in_thread(create_app(qa, qa.settings, startup)) as url:
        bp = browser_page(viewport={"width": 1280, "height": 900})
        page = bp.page
        page.goto(url + "/")
        intro = page.locator("#qa-intro")
        expect(intro).to_contain_text("still being indexed (embedding the passages: 42% done)")
        expect(intro).to_contain_text("This page updates itself")
        assert str(root) not in intro.inner_text()  # a stage, never a path of the server
        examples = page.locator("#qa-examples button")
        expect(examples.first).to_be_hidden()
        bp.shot("chat-while-indexing")
        page.evaluate("window.__same_page = 1")
        go.set()
        expect(examples.first).to_be_visible()
        expect(intro).to_contain_text("Ask about Tiny Treaty")
        assert page.evaluate("window.__same_page") == 1  # no reload
        _ask_gradio(page, "When was the treaty signed?")
        expect(page.locator('#qa-answers [data-testid="bot"]').last.locator(".qa-headline")).to_contain_text("3 May 1999")
        assert bp.errors == []
    startup.wait(10)


def test_origins_not_allowed_can_neither_frame_nor_call(browser_page, host, locked_url):
    from playwright.sync_api import expect

    bp = browser_page(viewport={"width": 1280, "height": 800})
    page = bp.page
    messages = []
    page.on("console", lambda m: messages.append(m.text))
    snippet = (f'<iframe src="{locked_url}/" title="Ask the corpus" style="width:600px;height:300px"></iframe>\n  '
               + widget_snippet(locked_url, title="Ask the docs", open="true"))
    page.goto(host_page(host, "not-allowed.html", snippet))
    page.get_by_role("textbox", name="Your question").fill("When was the treaty signed?")
    page.keyboard.press("Enter")
    alert = page.locator("qa-chat-widget .error")
    expect(alert).to_contain_text("Could not reach the chat server")
    expect(alert).to_contain_text("allowed_origins")
    expect(alert).to_have_attribute("role", "alert")
    # The frame was refused by Content-Security-Policy: frame-ancestors.
    assert wait_until(page, lambda: any("frame-ancestors" in m for m in messages)), messages
    assert page.frame_locator("iframe").locator("textarea").count() == 0
    bp.shot("not-allowed")
    assert bp.offsite() == []


# ---- HTML in questions and documents is text ---------------------------------------------------


def test_widget_shows_html_from_questions_and_documents_as_text(browser_page, host, xss_url):
    from playwright.sync_api import expect

    bp = browser_page(viewport={"width": 1280, "height": 800})
    page = bp.page
    page.goto(host_page(host, "xss-widget.html", widget_snippet(xss_url, title="Ask the archive", open="true")))
    page.get_by_role("textbox", name="Your question").fill(XSS_Q)
    page.keyboard.press("Enter")
    expect(page.locator("qa-chat-widget .bot")).to_have_count(1)
    expect(page.locator("qa-chat-widget .user")).to_have_text(XSS_Q)  # the question, verbatim, as text
    quotes = page.locator("qa-chat-widget .bot .qa-sentence, qa-chat-widget .bot .qa-passage")
    expect(quotes.filter(has_text=PAYLOAD).first).to_be_attached()
    expect(quotes.filter(has_text="<script>window.__xss=2</script>").first).to_be_attached()
    expect(quotes.filter(has_text="""The archive's editors wrote "Tom & Jerry's <b>bold</b> notes" in the margin.""")
           .first).to_be_attached()
    page.wait_for_timeout(300)
    assert shadow_eval(page, "root.querySelectorAll('img, script, iframe, [onerror]').length") == 0
    hrefs = shadow_eval(page, "[...root.querySelectorAll('a')].map(a => a.getAttribute('href'))")
    assert all(h.startswith(("#qa-", xss_url + "/doc/")) for h in hrefs), hrefs  # only our own links
    assert page.evaluate("window.__xss") is None
    assert not any(urlsplit(u).path == "/x" for u in bp.requests)  # the <img src=x> was never created
    bp.shot("xss-widget")
    assert bp.errors == [] and bp.offsite() == []


def test_widget_marks_an_uncertain_answer(browser_page, host, unsure_url):
    from playwright.sync_api import expect

    bp = browser_page(viewport={"width": 1280, "height": 800})
    page = bp.page
    page.goto(host_page(host, "unsure-widget.html", widget_snippet(unsure_url, title="Ask", open="true")))
    page.get_by_role("textbox", name="Your question").fill("When was the treaty signed?")
    page.keyboard.press("Enter")
    expect(page.locator("qa-chat-widget .bot .is-answer")).to_have_count(1)  # answered, not declined
    expect(page.locator("qa-chat-widget .bot .qa-label")).to_have_text("Not sure")
    expect(page.locator("qa-chat-widget .bot .qa-note")).to_contain_text("This may be wrong")
    color = shadow_eval(page, "getComputedStyle(root.querySelector('.qa-unsure .qa-label')).color")
    assert color == "rgb(146, 64, 14)"  # set apart from the grey of a sure answer's confidence
    bp.shot("uncertain-widget")
    assert bp.errors == [] and bp.offsite() == []


def test_gradio_chat_shows_html_from_documents_as_text_and_runs_none(browser_page, xss_url):
    from playwright.sync_api import expect

    bp = browser_page(viewport={"width": 1280, "height": 900})
    page = bp.page
    page.goto(xss_url + "/")
    _ask_gradio(page, XSS_Q)
    bot = page.locator('[data-testid="bot"]').last
    expect(bot).to_contain_text(PAYLOAD)  # the document's markup, shown as text
    expect(bot).to_contain_text("<script>window.__xss=2</script>")
    page.wait_for_timeout(500)
    assert bot.locator("img, script, iframe, [onerror]").count() == 0
    assert page.locator("[onerror]").count() == 0
    assert page.evaluate("window.__xss") is None
    bp.shot("xss-gradio-chat", full_page=True)
    assert bp.offsite() == []


# User text and corpus text with HTML, quotes and ampersands are shown verbatim in the Gradio chat
# (qa/surfaces/chat.py show_user_text_as_text, qa/surfaces/render.py escape).


def test_gradio_chat_shows_html_in_the_question_as_text(browser_page, xss_url):
    from playwright.sync_api import expect

    bp = browser_page(viewport={"width": 1280, "height": 900})
    page = bp.page
    page.goto(xss_url + "/")
    _ask_gradio(page, XSS_Q)
    expect(page.locator('[data-testid="bot"]').last).to_contain_text("Sources")
    assert page.evaluate("window.__xss") is None  # never runs; but is it shown as text?
    expect(page.locator('[data-testid="user"]').last).to_contain_text(PAYLOAD, timeout=2000)


def test_gradio_chat_shows_quotes_and_ampersands_verbatim(browser_page, xss_url):
    from playwright.sync_api import expect

    bp = browser_page(viewport={"width": 1280, "height": 900})
    page = bp.page
    page.goto(xss_url + "/")
    _ask_gradio(page, "What did the archive's editors write in the margin about Tom and Jerry?")
    bot = page.locator('[data-testid="bot"]').last
    expect(bot).to_contain_text("Sources")
    expect(bot).to_contain_text("""The archive's editors wrote "Tom & Jerry's <b>bold</b> notes" in the margin.""",
                                timeout=2000)


# ---- nothing from the corpus becomes a link (security review, item 4) --------------------------

PHISH_NAME = "c`[phish](https:evil.example)`.md"
LINKS_DOC = """# Contact Sheet

## Links
The office moved on 3 May 1999; its page is https://evil.example/login and www.evil.example/reset, mail
help@evil.example or read [the notice](https://evil.example/notice) and <https://evil.example/auto>.
"""
LINKS_Q = "When did the office move, and where is its page?"


@pytest.fixture(scope="module")
def links_url(tmp_path_factory, host):
    root = tmp_path_factory.mktemp("links")
    (root / "corpus").mkdir()
    (root / "corpus" / PHISH_NAME).write_text(LINKS_DOC, encoding="utf-8")
    qa = QA(Settings().replace(corpus_dir=root / "corpus", index_dir=root / "index", abstain_threshold=0.0,
                               allowed_origins=host[0]), embedder=FakeEmbedder())
    qa.warm_up()
    with serve_in_thread(create_app(qa)) as url:
        yield url


def test_corpus_urls_and_file_names_never_become_links(browser_page, host, links_url):
    from playwright.sync_api import expect

    bp = browser_page(viewport={"width": 1280, "height": 900})
    page = bp.page
    page.goto(links_url + "/")
    _ask_gradio(page, LINKS_Q)
    bot = page.locator('[data-testid="bot"]').last
    expect(bot).to_contain_text("https://evil.example/login")  # shown, as text
    expect(bot).to_contain_text("[phish](https:evil.example)")  # the file name, verbatim
    page.wait_for_timeout(500)
    assert bot.locator("a[href*='evil']:not([href^='/doc/'])").count() == 0, bot.inner_html()[:2000]
    assert all(a.get_attribute("href").startswith(("#qa-", "/doc/")) for a in bot.locator("a").all())
    bp.shot("links-gradio-chat", full_page=True)

    page.goto(host_page(host, "links-widget.html", widget_snippet(links_url, title="Ask", open="true")))
    page.get_by_role("textbox", name="Your question").fill(LINKS_Q)
    page.keyboard.press("Enter")
    expect(page.locator("qa-chat-widget .bot")).to_have_count(1)
    page.wait_for_timeout(300)
    hrefs = shadow_eval(page, "[...root.querySelectorAll('.bot a')].map(a => a.getAttribute('href'))")
    assert all(h.startswith(("#qa-", links_url + "/doc/")) for h in hrefs), hrefs
    assert bp.offsite() == []


MARKDOWN_TITLE = "Guide [Login to continue](https://evil.example/phish) ![t](https://evil.example/pixel.png)"


def test_a_title_made_of_markdown_is_text_on_the_chat_page(browser_page, tmp_path_factory):
    """The review's document title: the intro once showed it as a live link and loaded the
    image from the other site."""
    from playwright.sync_api import expect

    app = _fake_app(tmp_path_factory.mktemp("md-title"), f"# {MARKDOWN_TITLE}\n\nThe harbour office opened in 1999.\n")
    with serve_in_thread(app) as url:
        bp = browser_page(viewport={"width": 1280, "height": 900})
        page = bp.page
        page.goto(url + "/")
        expect(page.locator("#qa-intro")).to_contain_text(MARKDOWN_TITLE)  # shown, as text
        page.wait_for_timeout(500)
        assert page.locator("a[href*='evil'], img[src*='evil']").count() == 0
        assert bp.offsite() == []


# ---- the admin page's Documents tab ----------------------------------------------------------------


def test_admin_documents_tab_adds_lists_and_deletes(browser_page, tmp_path_factory):
    import docfiles as D
    from playwright.sync_api import expect

    root = tmp_path_factory.mktemp("admin")
    (root / "corpus").mkdir()
    (root / "corpus" / "doc.txt").write_text(TINY_DOC, encoding="utf-8")
    qa = QA(Settings().replace(corpus_dir=root / "corpus", index_dir=root / "index", admin_key="adm1n-key"),
            embedder=FakeEmbedder())
    qa.warm_up()
    files = root / "files"
    files.mkdir()
    (files / "harbour.pdf").write_bytes(D.pdf_bytes())
    (files / "scan.pdf").write_bytes(D.scanned_pdf_bytes())
    with serve_in_thread(create_app(qa, qa.settings)) as url:
        p = browser_page(http_credentials={"username": "admin", "password": "adm1n-key"},
                         viewport={"width": 1280, "height": 900})
        page = p.page
        page.goto(url + "/admin/")
        table = page.locator("#library-table")
        expect(table).to_contain_text("doc.txt")
        expect(table).to_contain_text("indexed")
        page.locator("input[type=file]").first.set_input_files([str(files / "harbour.pdf"), str(files / "scan.pdf")])
        page.get_by_role("button", name="Add and index").click()
        message = page.locator("#library-message")
        expect(message).to_contain_text("Re-indexed in", timeout=WAIT)
        expect(message).to_contain_text("Added harbour.pdf.")
        expect(message).to_contain_text("Not added: scan.pdf: the PDF is a scan and OCR found no text on it")
        expect(table).to_contain_text("harbour.pdf")
        p.shot("admin-documents")
        assert "harbour.pdf" in qa.index.documents and (root / "corpus" / "harbour.pdf").is_file()

        page.get_by_role("combobox", name="Document").click()
        page.get_by_role("option", name="harbour.pdf").click()
        page.get_by_role("button", name="Delete").click()
        expect(message).to_contain_text("Deleted harbour.pdf")
        expect(message).to_contain_text("Re-indexed in")
        expect(table).not_to_contain_text("harbour.pdf")
        assert "harbour.pdf" not in qa.index.documents
        assert p.errors == [] and p.offsite() == []


@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)])
def test_admin_page_is_accessible_and_its_library_fits_a_phone(browser_page, tmp_path_factory, width, height):
    """No serious or critical axe violations on the admin page (the red Delete button, the
    upload box's "- or -"), no duplicate ids, and every file's status and detail in view at 390 px."""
    from playwright.sync_api import expect

    root = tmp_path_factory.mktemp(f"admin-a11y-{width}")
    (root / "corpus").mkdir()
    (root / "corpus" / "doc.txt").write_text(TINY_DOC, encoding="utf-8")
    (root / "corpus" / "broken.pdf").write_bytes(b"%PDF-1.4 not really a PDF")
    qa = QA(Settings().replace(corpus_dir=root / "corpus", index_dir=root / "index", admin_key="adm1n-key"),
            embedder=FakeEmbedder())
    qa.warm_up()
    with serve_in_thread(create_app(qa, qa.settings)) as url:
        p = browser_page(http_credentials={"username": "admin", "password": "adm1n-key"},
                         viewport={"width": width, "height": height})
        page = p.page
        page.goto(url + "/admin/")
        table = page.locator("#library-table")
        expect(table).to_contain_text("broken.pdf")
        expect(table).to_contain_text("skipped")
        page.wait_for_timeout(500)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        for name in ("doc.txt", "broken.pdf"):
            row = table.locator("tr", has_text=name)
            for label in ("status", "detail"):
                cell = row.locator(f'td[data-label="{label}"]')
                if label == "detail" and not cell.inner_text().strip():
                    continue
                expect(cell).to_be_visible()
                box = cell.bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= width, (name, label, box)
        detail = table.locator("tr", has_text="broken.pdf").locator('td[data-label="detail"]')
        assert detail.inner_text().strip(), "a skipped file says why"
        p.shot(f"admin-{width}", full_page=True)
        assert page.evaluate(DUPLICATE_IDS) == []
        found = axe_violations(page)
        assert found == [], found
        page.get_by_role("tab", name="Evaluate").click()
        expect(page.get_by_role("button", name="Evaluate")).to_be_visible()
        page.wait_for_timeout(500)
        assert page.evaluate(DUPLICATE_IDS) == []
        found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => v.id)""")
        assert found == [], found
        assert p.errors == []
