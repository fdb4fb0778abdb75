"""PDF, Word, HTML, Markdown and text in (qa/ingest/formats.py), with small real files written by
the tests themselves: sections and pages found, boilerplate left out, the type taken from the
content, every bad file named with its reason while the rest is indexed, and citations that are
exact slices of the extracted text with the PDF page they come from."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

import docfiles as D
from qa.core.errors import CorpusError
from qa.index.store import build_index, load_index
from qa.ingest.corpus import load_corpus, read_document
from qa.ingest.formats import extract, sniff


def _write(folder, name, data):
    path = folder / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


# ---- each format ---------------------------------------------------------------------------


def test_pdf_text_keeps_its_pages_and_title(tmp_path):
    doc = read_document(_write(tmp_path, "harbour.pdf", D.pdf_bytes()), "harbour.pdf")
    assert doc.kind == "pdf" and doc.title == "Velmora Harbour"
    assert len(doc.pages) == 2
    second = doc.text.index("By 1850")
    assert doc.page_at(doc.text.index("dredged in 1821")) == 1
    assert doc.page_at(second) == 2 and doc.pages[1] <= second
    assert doc.page_at(0) == 1  # the title line belongs to the first page


def test_docx_headings_become_sections(tmp_path):
    doc = read_document(_write(tmp_path, "orchard.docx", D.docx_bytes()), "orchard.docx")
    assert doc.kind == "docx" and doc.title == "Orchard Handbook"
    assert [s.title for s in doc.sections if s.title] == ["Pruning", "Harvest"]
    assert doc.section_at(doc.text.index("second week of September")) == "Harvest"
    assert "- Baskets hold about eighteen kilograms." in doc.text


def test_html_main_text_without_navigation_or_footer(tmp_path):
    doc = read_document(_write(tmp_path, "festival.html", D.HTML_PAGE), "festival.html")
    assert doc.kind == "html" and doc.title == "Lantern Festival"
    assert [s.title for s in doc.sections][-1] == "Lanterns"
    assert "first Saturday of October" in doc.text
    for boilerplate in ("Contact us", "newsletter", "Copyright", "Cookie", "<p>"):
        assert boilerplate not in doc.text


def test_markdown_and_text_are_read_as_they_are(tmp_path):
    text = "# Notes\n\n## Tides\nHigh tide comes twice a day.\n"
    doc = read_document(_write(tmp_path, "notes.md", text), "notes.md")
    assert doc.kind == "text" and doc.text == text and doc.pages == ()


def test_the_type_comes_from_the_content_not_the_name(tmp_path):
    assert sniff(D.pdf_bytes()) == "pdf" and sniff(D.docx_bytes()) == "docx"
    assert sniff(D.HTML_PAGE.encode()) == "html" and sniff(b"plain words") == "text"
    doc = read_document(_write(tmp_path, "renamed.txt", D.pdf_bytes()), "renamed.txt")
    assert doc.kind == "pdf" and "By 1850" in doc.text
    with pytest.raises(CorpusError, match="fake.pdf: looks binary"):
        read_document(_write(tmp_path, "fake.pdf", b"\x00\x01junk" * 10), "fake.pdf")


# ---- bad documents: a clear word each ------------------------------------------------------


BAD = [
    ("locked.pdf", D.encrypted_pdf_bytes, "the PDF is encrypted with a password; save an unprotected copy"),
    ("scan.pdf", D.scanned_pdf_bytes, "the PDF is a scan and OCR found no text on it"),
    ("cut.pdf", lambda: D.pdf_bytes()[:400], "the PDF file is damaged or unreadable"),
    ("broken.docx", lambda: D.docx_bytes()[:3000], "a damaged ZIP archive, not a readable Word document"),
    ("bomb.docx", D.zip_bomb_bytes, r"unpacks to 300,000,\d+ bytes from [\d,]+ \(a ZIP bomb\?\)"),
    ("archive.docx", lambda: _zip_with("notes/readme.xml"), "a ZIP archive but not a Word"),
    ("menu.html", lambda: D.HTML_NO_MAIN_TEXT.encode(), "the HTML page has no main text"),
    ("latin1.txt", lambda: "caf\u00e9".encode("latin-1"), "not valid UTF-8 at byte 3"),
]


def _zip_with(name: str) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(name, "<x/>")
    return out.getvalue()


@pytest.mark.parametrize("name,make,reason", BAD, ids=[b[0] for b in BAD])
def test_a_bad_file_is_named_with_its_reason(tmp_path, name, make, reason):
    with pytest.raises(CorpusError, match=f"^{name}: {reason}"):
        read_document(_write(tmp_path, name, make()), name)


def test_a_200_mb_file_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "huge.txt"
    with open(big, "wb") as f:  # sparse: 200 MB on paper, nothing on disk
        f.truncate(200_000_000)
    with pytest.raises(CorpusError, match=r"^huge.txt: 200,000,000 bytes is over the limit of 50,000,000 bytes"):
        read_document(big, "huge.txt")
    with pytest.raises(CorpusError, match="over the limit"):
        extract(b"x" * 101, "small.txt", max_bytes=100)


def test_a_link_out_of_the_corpus_folder_is_not_followed(tmp_path):
    secret = _write(tmp_path, "secret.txt", "the password is hunter2")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _write(corpus, "ok.txt", "# Ok\n\nA normal document about tides.\n")
    os.symlink(secret, corpus / "leak.txt")
    got = load_corpus(corpus)
    assert [d.id for d in got.documents] == ["ok.txt"]
    assert got.skipped == [("leak.txt", "leak.txt: a link to a file outside the corpus folder; links out are not followed")]


# ---- a mixed corpus: built, cited, bad files reported, nothing lost ------------------------


@pytest.fixture
def mixed(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _write(corpus, "harbour.pdf", D.pdf_bytes())
    _write(corpus, "orchard.docx", D.docx_bytes())
    _write(corpus, "festival.html", D.HTML_PAGE)
    _write(corpus, "tides.md", "# Tides\n\n## Spring tides\nSpring tides follow the new and the full moon.\n")
    for name, make, _ in BAD:
        _write(corpus, name, make())
    return corpus


def test_a_mixed_corpus_indexes_the_good_files_and_names_the_bad(mixed, tmp_path, fake_embedder):
    from qa.core.config import load_settings

    settings = load_settings(corpus_dir=mixed, index_dir=tmp_path / "index")
    manifest = build_index(settings, fake_embedder)
    index = load_index(settings, fake_embedder.name, fake_embedder.dim)
    assert sorted(index.documents) == ["festival.html", "harbour.pdf", "orchard.docx", "tides.md"]
    assert sorted(manifest["skipped"]) == sorted(b[0] for b in BAD)
    assert all(reason.startswith(f"{name}: ") for name, reason in manifest["skipped"].items())
    assert index.documents["harbour.pdf"].pages == read_document(mixed / "harbour.pdf", "harbour.pdf").pages


def test_pdf_citations_are_exact_slices_with_their_page(mixed, tmp_path, fake_embedder):
    from qa.answer.pipeline import QA
    from qa.core.config import load_settings

    qa = QA(load_settings(corpus_dir=mixed, index_dir=tmp_path / "index", abstain_threshold=0.0), embedder=fake_embedder)
    qa.warm_up()
    answer = qa.ask("How many sailings did the customs house record?", top_k=8)
    pdf = [c for c in answer.citations if c.doc == "harbour.pdf"]
    assert pdf, [c.doc for c in answer.citations]
    for c in answer.citations:
        doc = qa.index.documents[c.doc]
        assert c.text == doc.text[c.start:c.end]
        # the pages of the supporting sentence, not of the whole excerpt
        assert c.page == doc.page_at(c.highlight_start) and c.page_end == doc.page_at(c.highlight_end - 1)
        assert (c.page is None) == (c.doc != "harbour.pdf")
    sailings = next(c for c in pdf if "4,200" in c.text[c.highlight_start - c.start:c.highlight_end - c.start])
    assert sailings.page == sailings.page_end == 2
    from qa.surfaces.render import to_html
    from qa.surfaces.view import view

    assert '<span class="qa-doc">harbour.pdf · page 2</span>' in to_html(view(answer))


def test_document_view_shows_pages_and_offers_the_original(mixed, tmp_path, fake_embedder):
    from qa.answer.pipeline import QA
    from qa.core.config import load_settings
    from qa.surfaces.server import create_app

    settings = load_settings(corpus_dir=mixed, index_dir=tmp_path / "index")
    qa = QA(settings, embedder=fake_embedder)
    qa.warm_up()
    doc = qa.index.documents["harbour.pdf"]
    start = doc.text.index("By 1850")
    with TestClient(create_app(qa, settings)) as client:
        page = client.get(f"/doc/harbour.pdf?start={start}&end={start + 20}")
        assert page.status_code == 200
        assert 'id="page-2"' in page.text and " · page 2 · " in page.text
        assert 'href="/doc/harbour.pdf?original=1"' in page.text
        original = client.get("/doc/harbour.pdf?original=1")
        assert original.status_code == 200 and original.content == (mixed / "harbour.pdf").read_bytes()
        assert original.headers["content-type"] == "application/pdf"
        assert original.headers["content-disposition"].startswith("attachment;")
        # only an indexed document's own file: never a skipped one, a path or a file outside
        assert client.get("/doc/locked.pdf?original=1").status_code == 404
        assert client.get("/doc/../../etc/hostname?original=1").status_code == 404
        assert client.get("/doc/%2e%2e/%2e%2e/etc/hostname?original=1").status_code == 404
        text_page = client.get("/doc/tides.md").text
        assert "download the original" not in text_page
