"""PDFs read by their layout (qa/ingest/pdf.py), on the report set of scripts/reportset.py: titles
from the cover when the metadata is junk, sections from the outline or the fonts, headings that
never glue onto a sentence, page-exact sentences across a page break, table cells as rows with
their row label and column heading, and scanned pages read with OCR (or named with the word to
install it)."""

from __future__ import annotations

import re
import shutil

import pytest

from qa.core.errors import CorpusError
from qa.ingest.chunking import split_sentences
from qa.ingest.corpus import load_corpus, read_document
from qa.ingest.pdf import junk_title
from scripts import reportset as R

needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reports")
    for name in ("annual-report-2023.pdf", "q3-trading-update.pdf"):
        (folder / name).write_bytes(R.DOCUMENTS[name]())
    return folder


@pytest.fixture(scope="module")
def annual(reports):
    return read_document(reports / "annual-report-2023.pdf", "annual-report-2023.pdf")


@pytest.fixture(scope="module")
def quarterly(reports):
    return read_document(reports / "q3-trading-update.pdf", "q3-trading-update.pdf")


def test_junk_metadata_titles_are_recognised():
    for junk in ("", "  ", "0000950170-24-012345", "Microsoft Word - F20_10K_VFinal_07.01.2020",
                 "HLF_AR23_final_v7", "report.pdf", "Untitled"):
        assert junk_title(junk), junk
    for real in ("Velmora Harbour", "Annual Report 2023", "Q3 2024 results"):
        assert not junk_title(real), real


def test_the_cover_gives_the_title_when_the_metadata_is_junk(annual, quarterly):
    assert annual.title == "Harrow Lane Foods plc – Annual Report 2023"
    assert quarterly.title == "Harrow Lane Foods plc – Third quarter trading update"


def test_sections_come_from_the_outline_or_the_heading_fonts(annual, quarterly):
    named = [s.title for s in annual.sections if s.title]  # this one has an outline
    assert named[:4] == ["Chairman's statement", "Operations review", "Bakery division", "Chilled foods division"]
    assert annual.section_at(annual.text.index("1,150 convenience stores")) == "Chilled foods division"
    assert [s.title for s in quarterly.sections if s.title] == [  # this one has none: bold and larger fonts
        "Highlights", "Results for the quarter", "Outlook and dividend"]


def test_headings_never_glue_onto_sentences_and_lines_are_joined(annual):
    sentences = [s.text for s in split_sentences(annual)]
    assert not [s for s in sentences if re.search(r"division The|statement Harrow|review Revenue", s)]
    assert ("Margaret Okafor became chairman of the board in November 2022, succeeding Alan Petrie, "
            "who retired after eleven years.") in sentences  # one sentence, though the PDF breaks its line


def test_each_sentence_knows_its_page_and_one_cut_by_a_page_break_both(annual):
    sentences = split_sentences(annual)

    def pages(needle):
        s = next(s for s in sentences if needle in s.text)
        return annual.page_span(s.start, s.end)

    assert pages("headquartered in Kettering") == (2, 2)
    # starts at the foot of page 2; the running footer between ("... Annual Report 2023 | 2") is left out
    assert pages("Nene Valley hospital trust") == (2, 3)
    assert "Annual Report 2023 |" not in annual.text
    assert pages("1,150 convenience stores") == (3, 3)
    assert pages("Pellow & Marsh LLP") == (6, 6)


def test_table_cells_become_rows_with_their_row_label_and_column_heading(annual, quarterly):
    row = "Adjusted EBITDA, Twelve months ended 30 June 2023: 12,018"
    at = annual.text.index(row)
    assert annual.text[at - 2:at] == "\n\n" and annual.text[at + len(row):at + len(row) + 2] == "\n\n"
    assert annual.page_at(at) == 4
    assert "Chilled foods, 2023: 31,480" in annual.text  # a one-line header of years
    assert "Free cash flow, Nine months ended 31 March 2023: 3,044" in quarterly.text
    results = annual.tables[0]
    assert results.page == 4 and results.columns[1:] == (
        "Three months ended 30 June 2023", "Three months ended 30 June 2022",
        "Twelve months ended 30 June 2023", "Twelve months ended 30 June 2022")
    assert results.rows[2] == ("Adjusted EBITDA", "3,105", "2,871", "12,018", "10,944")
    cell = next(c for c in results.cells if annual.text[c[2]:c[3]] == row)
    assert cell[:2] == (2, 3)
    x0, top, x1, bottom = cell[4:]
    assert 0 < x0 < x1 <= 1 and 0 < top < bottom <= 1  # its box on the page, for the document view
    # the numbers are no longer one line of the body text
    assert "3,105 2,871 12,018" not in annual.text


def test_the_report_set_is_consistent():
    """Every question's evidence stands on the page it names (the raw text of each page)."""
    import io

    import pdfplumber

    texts = {}
    for name in ("annual-report-2023.pdf", "q3-trading-update.pdf", "half-year-report-2024.pdf"):
        with pdfplumber.open(io.BytesIO(R.DOCUMENTS[name]())) as pdf:
            texts[name] = [" ".join((p.extract_text() or "").split()) for p in pdf.pages]
    for question, gold, doc, pages, evidence in R.QUESTIONS:
        if doc in texts:
            on = " ".join(texts[doc][p - 1] for p in pages)
            assert all(e in on for e in evidence), question
            assert gold in " ".join(texts[doc]), question


@needs_tesseract
def test_a_scanned_page_is_read_with_ocr(tmp_path):
    path = tmp_path / "notice.pdf"
    path.write_bytes(R.agm_notice())
    doc = read_document(path, "notice.pdf")
    assert doc.title == "Notice of annual general meeting"  # the scan's own heading, by its height
    assert len(doc.pages) == 1 and doc.kind == "pdf"
    at = doc.text.index("Corn Exchange, Kettering on 16 November 2023")
    assert doc.page_at(at) == 1


def test_without_the_ocr_engine_a_scan_is_named_and_the_rest_is_read(tmp_path, monkeypatch):
    (tmp_path / "notice.pdf").write_bytes(R.agm_notice())
    (tmp_path / "update.pdf").write_bytes(R.trading_update())
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))  # tesseract cannot be found
    with pytest.raises(CorpusError, match=r"^notice.pdf: page 1 is a scanned image .*install tesseract"):
        read_document(tmp_path / "notice.pdf", "notice.pdf")
    got = load_corpus(tmp_path)
    assert [d.id for d in got.documents] == ["update.pdf"]
    assert [name for name, _ in got.skipped] == ["notice.pdf"]


def test_tables_survive_the_index(reports, tmp_path, fake_embedder):
    from qa.core.config import load_settings
    from qa.index.store import build_index, load_index

    settings = load_settings(corpus_dir=reports, index_dir=tmp_path / "index")
    build_index(settings, fake_embedder)
    index = load_index(settings, fake_embedder.name, fake_embedder.dim)
    stored = index.documents["annual-report-2023.pdf"]
    assert stored.tables == read_document(reports / "annual-report-2023.pdf", "x").tables
    assert stored.title == "Harrow Lane Foods plc – Annual Report 2023"
