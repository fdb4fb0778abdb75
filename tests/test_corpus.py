from pathlib import Path

import pytest

from qa.ingest.corpus import corpus_files, load_corpus, parse_document, read_document
from qa.core.errors import CorpusError


def test_wiki_title_and_sections_with_exact_offsets():
    text = "= My Title =\n\nIntro line.\n\n==First==\nBody one.\n\n=== Sub part ===\nBody two.\n"
    doc = parse_document("a.txt", text)
    assert doc.title == "My Title"
    assert [s.title for s in doc.sections] == ["", "First", "Sub part"]
    for s in doc.sections:
        assert 0 <= s.start <= s.end <= len(text)
    assert "Intro line." in text[doc.sections[0].start:doc.sections[0].end]
    assert text[doc.sections[1].start:doc.sections[1].end].strip() == "Body one."
    assert "==" not in text[doc.sections[2].start:doc.sections[2].end]
    assert doc.section_at(text.index("Body two")) == "Sub part"


def test_markdown_headings():
    text = "# Guide\n\nHello.\n\n## Install\nRun it.\n\n## Use\nAsk.\n"
    doc = parse_document("g.md", text)
    assert doc.title == "Guide"
    assert [s.title for s in doc.sections] == ["", "Install", "Use"]


def test_title_falls_back_to_file_name():
    assert parse_document("sub/my-notes_file.txt", "Just text.").title == "My Notes File"


def test_unicode_kept_verbatim(tmp_path):
    raw = "= T =\n\nThe region’s “quoted” text — ok.\n"
    (tmp_path / "u.txt").write_bytes(raw.encode("utf-8"))
    doc = read_document(tmp_path / "u.txt", "u.txt")
    assert doc.text == raw  # no quote folding, no newline translation


def test_crlf_is_not_translated(tmp_path):
    raw = b"= T =\r\n\r\nLine one.\r\n"
    (tmp_path / "c.txt").write_bytes(raw)
    assert read_document(tmp_path / "c.txt", "c.txt").text == raw.decode("utf-8")


def test_skips_bad_files_with_reasons(tmp_path):
    (tmp_path / "good.txt").write_text("= Good =\n\nFine text.", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "bin.md").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "empty.txt").write_text("   \n", encoding="utf-8")
    (tmp_path / "SOURCE.md").write_text("attribution", encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"png")
    corpus = load_corpus(tmp_path)
    assert [d.id for d in corpus.documents] == ["good.txt"]
    reasons = dict(corpus.skipped)
    assert "UTF-8" in reasons["latin1.txt"] and "byte 3" in reasons["latin1.txt"]
    assert "binary" in reasons["bin.md"]
    assert "empty" in reasons["empty.txt"]
    assert "SOURCE.md" not in reasons


def test_nested_folders_and_hidden_files(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "deep.md").write_text("# Deep\n\nText.", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("secret", encoding="utf-8")
    assert [p.relative_to(tmp_path).as_posix() for p in corpus_files(tmp_path)] == ["a/b/deep.md"]


def test_missing_folder_says_what_to_do(tmp_path):
    with pytest.raises(CorpusError, match="does not exist.*QA_CORPUS_DIR"):
        corpus_files(tmp_path / "nope")


def test_seed_corpus_sections():
    corpus = load_corpus(Path(__file__).resolve().parents[1] / "corpus")
    (doc,) = corpus.documents
    assert doc.title == "Central Asia plus Japan"
    assert [s.title for s in doc.sections] == [
        "", "Initial declaration", "Subsequent meetings", "Motivation and significance", "See also"]
