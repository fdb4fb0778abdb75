"""The document view renders the document (qa/surfaces/docview.py): headings, lists and tables as
such and never their raw markup, the cited sentence (or table cell) highlighted and scrolled to,
and for a PDF the cited page as an image with the passage marked on it (qa/surfaces/pdfpage.py).
Markup from a document is shown as text. The browser test leaves screenshots in test-artifacts/."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import REPO, FakeEmbedder
from qa.answer.pipeline import QA
from qa.core.config import load_settings
from qa.surfaces.server import create_app
from scripts import reportset as R

SEED = REPO / "corpus" / "central-asia-plus-japan.txt"
ROW = "Adjusted EBITDA, Twelve months ended 30 June 2023: 12,018"
CASH_ROW = "Dividends paid, Six months to 31 December 2022: (1,980)"
HOSTILE = "# Notes <script>window.__xss=1</script>\n\n## Tides <b>x</b>\n\nHigh tide <img src=x onerror=alert(1)> comes twice.\n\n- one <i>item</i>\n"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("docview")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "annual.pdf").write_bytes(R.annual_report())
    (corpus / "half.pdf").write_bytes(R.half_year_report())
    (corpus / "hostile.md").write_text(HOSTILE, encoding="utf-8")
    shutil.copy(SEED, corpus / SEED.name)
    settings = load_settings(corpus_dir=corpus, index_dir=root / "index")
    qa = QA(settings, embedder=FakeEmbedder())
    qa.warm_up()
    return qa, create_app(qa, settings)


def _at(qa, doc_id, needle):
    start = qa.index.documents[doc_id].text.index(needle)
    return f"/doc/{doc_id}?start={start}&end={start + len(needle)}"


def test_the_seed_article_is_rendered_as_a_document(app):
    qa, web = app
    with TestClient(web) as client:
        page = client.get(_at(qa, SEED.name, "The dialogue was formally declared on 28 August 2004")).text
    assert "<h1>Central Asia plus Japan</h1>" in page and "<h2>Initial declaration</h2>" in page
    assert "==" not in page and "= Central Asia" not in page  # no raw MediaWiki markup
    assert re.search(r"<ul><li>The strengthening of peace, stability, and democracy", page)
    assert '<mark id="passage">The dialogue was formally declared on 28 August 2004</mark>' in page
    assert page.count("<mark") == 1 and "<figure" not in page  # the sentence only; no page image for text


def test_a_pdf_table_is_a_table_its_cell_marked_beside_the_page_image(app):
    qa, web = app
    doc = qa.index.documents["annual.pdf"]
    with TestClient(web) as client:
        page = client.get(_at(qa, "annual.pdf", ROW)).text
        assert "<th scope=\"col\">Twelve months ended 30 June 2023</th>" in page
        assert '<td class="hit"><mark id="passage">12,018</mark></td>' in page
        assert ROW not in page  # the rows the reader reads are shown as the table they came from
        text = page[page.index('<div class="text">'):page.index("<figure")]
        assert "<h2>Financial review</h2>" in text and not re.search(r">\s*#+ ", text)  # no raw Markdown heading
        assert '<img src="/doc/annual.pdf?image=4"' in page
        box = re.findall(r'class="box" style="left:([\d.]+)%;top:([\d.]+)%;width:([\d.]+)%;height:([\d.]+)%"', page)
        cell = next(c for c in doc.tables[0].cells if doc.text[c[2]:c[3]] == ROW)
        assert box == [(f"{100 * cell[4]:.2f}", f"{100 * cell[5]:.2f}", f"{100 * (cell[6] - cell[4]):.2f}",
                        f"{100 * (cell[7] - cell[5]):.2f}")]
        image = client.get("/doc/annual.pdf?image=4")
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert image.content.startswith(b"\x89PNG")
        # only pages the PDF has, only for a PDF, never a file the request names
        for bad in ("/doc/annual.pdf?image=0", "/doc/annual.pdf?image=99", f"/doc/{SEED.name}?image=1",
                    "/doc/../../etc/hostname?image=1", "/doc/nope.pdf?image=1"):
            assert client.get(bad).status_code == 404, bad
        assert client.get("/doc/annual.pdf?image=-5").status_code == 404
        assert client.get("/doc/annual.pdf?image=x").status_code == 422


def test_a_table_without_rules_is_a_table_too(app):
    qa, web = app
    doc = qa.index.documents["half.pdf"]
    with TestClient(web) as client:
        page = client.get(_at(qa, "half.pdf", CASH_ROW)).text
    assert '<th scope="col">Six months to 31 December 2022</th>' in page  # its two heading rows joined
    assert '<th scope="row">Dividends paid</th>' in page
    assert '<td class="hit"><mark id="passage">(1,980)</mark></td>' in page and CASH_ROW not in page
    assert '<img src="/doc/half.pdf?image=3"' in page
    (box,) = re.findall(r'class="box" style="left:([\d.]+)%;top:([\d.]+)%', page)
    cell = next(c for t in doc.tables for c in t.cells if doc.text[c[2]:c[3]] == CASH_ROW)
    assert box == (f"{100 * cell[4]:.2f}", f"{100 * cell[5]:.2f}")


def test_a_sentence_is_marked_on_its_page_line_by_line(app):
    qa, web = app
    needle = ("Margaret Okafor became chairman of the board in November 2022, succeeding Alan Petrie, "
              "who retired after eleven years.")
    with TestClient(web) as client:
        page = client.get(_at(qa, "annual.pdf", needle)).text
    assert '<img src="/doc/annual.pdf?image=2"' in page and "the passage marked" in page
    boxes = re.findall(r'class="box" style="left:([\d.]+)%;top:([\d.]+)%', page)
    assert len(boxes) == 2  # the sentence wraps onto a second line of the page
    assert all(0 < float(x) < 100 and 0 < float(y) < 100 for x, y in boxes)


def test_markup_in_a_document_is_shown_as_text(app):
    qa, web = app
    with TestClient(web) as client:
        page = client.get(_at(qa, "hostile.md", "comes twice.")).text
    assert "<script>window" not in page and "<img src=x" not in page and "<b>x</b>" not in page and "<i>item" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<h2>Tides &lt;b&gt;x&lt;/b&gt;</h2>" in page and "<li>one &lt;i&gt;item&lt;/i&gt;</li>" in page


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing")
def test_the_document_view_in_a_browser(app):
    from playwright.sync_api import expect, sync_playwright

    from qa.surfaces.http import serve_in_thread

    qa, web = app
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with serve_in_thread(web) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(30_000)
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url + _at(qa, "annual.pdf", ROW) + "#passage")
            expect(page.locator("td.hit mark#passage")).to_have_text("12,018")
            expect(page.locator("mark#passage")).to_be_in_viewport()
            image = page.locator("figure.pdfpage img")
            expect(image).to_be_visible()
            page.wait_for_function("document.querySelector('figure.pdfpage img').naturalWidth > 0", timeout=30_000)
            box, cell = page.locator(".sheet .box").bounding_box(), image.bounding_box()
            assert cell["x"] < box["x"] < cell["x"] + cell["width"] and box["width"] > 5 and box["height"] > 5
            page.screenshot(path=str(artifacts / "document-view-pdf-table.png"))
            page.goto(url + _at(qa, "half.pdf", CASH_ROW) + "#passage")  # a table without rules
            expect(page.locator("td.hit mark#passage")).to_have_text("(1,980)")
            page.wait_for_function("document.querySelector('figure.pdfpage img').naturalWidth > 0", timeout=30_000)
            page.screenshot(path=str(artifacts / "document-view-pdf-table-without-rules.png"))
            page.goto(url + _at(qa, "annual.pdf", "Margaret Okafor became chairman of the board in November 2022, "
                                "succeeding Alan Petrie, who retired after eleven years.") + "#passage")
            expect(page.locator(".sheet .box")).to_have_count(2)
            page.wait_for_function("document.querySelector('figure.pdfpage img').naturalWidth > 0", timeout=30_000)
            page.screenshot(path=str(artifacts / "document-view-pdf-sentence.png"))
            page.goto(url + _at(qa, SEED.name, "The dialogue was formally declared on 28 August 2004") + "#passage")
            expect(page.locator("h2").first).to_have_text("Initial declaration")
            expect(page.locator("mark#passage")).to_be_in_viewport()
            page.screenshot(path=str(artifacts / "document-view-seed.png"))
            assert errors == []
        finally:
            browser.close()


def test_a_page_of_any_declared_size_renders_small(tmp_path):
    """A hostile PDF may declare a page 200 inches wide: the image stays within MAX_PIXELS_SIDE."""
    import io

    from fpdf import FPDF
    from PIL import Image

    from qa.surfaces.pdfpage import MAX_PIXELS_SIDE, render_png

    pdf = FPDF(format=(5080, 5080))
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, "A very large page.")
    path = tmp_path / "huge.pdf"
    path.write_bytes(bytes(pdf.output()))
    image = Image.open(io.BytesIO(render_png(path, 1)))
    assert max(image.size) <= MAX_PIXELS_SIDE
    assert render_png(path, 2) is None
    (tmp_path / "junk.pdf").write_bytes(b"%PDF-1.4 nothing else")
    assert render_png(tmp_path / "junk.pdf", 1) is None
