"""Managing the corpus from the admin page (qa/ingest/library.py, qa/surfaces/documents_tab.py):
uploads checked by content and stored under safe names, statuses against the live index,
deletes that keep the file in .trash, and re-indexing that embeds only what changed."""

from __future__ import annotations

import pytest

import docfiles as D
from qa.answer.pipeline import QA
from qa.core.config import load_settings
from qa.core.errors import CorpusError
from qa.ingest.library import MAX_FILES_PER_UPLOAD, add_file, remove_file, safe_name, statuses
from qa.surfaces.documents_tab import Library
from qa.surfaces.render import unescape


@pytest.mark.parametrize("name,kind,want", [
    ("report.pdf", "pdf", "report.pdf"),
    ("notes.txt", "pdf", "notes.pdf"),  # the content decides the suffix
    ("../../etc/cron.d/evil.pdf", "pdf", "evil.pdf"),
    ("..\\..\\win.docx", "docx", "win.docx"),
    (".hidden.md", "text", "hidden.md"),
    ("a<script>b.html", "html", "a_script_b.html"),
    ("run.sh", "text", "run.txt"),
    ("", "text", "document.txt"),
])
def test_upload_names_are_made_safe(name, kind, want):
    assert safe_name(name, kind) == want


def test_add_refuses_what_cannot_be_indexed_and_stores_nothing(tmp_path):
    with pytest.raises(CorpusError, match="^locked.pdf: the PDF is encrypted"):
        add_file(tmp_path, "locked.pdf", D.encrypted_pdf_bytes())
    with pytest.raises(CorpusError, match="^big.md: 101 bytes is over the upload limit of 100 bytes"):
        add_file(tmp_path, "big.md", b"x" * 101, max_bytes=100)
    with pytest.raises(CorpusError, match="looks binary"):
        add_file(tmp_path, "tool.pdf", b"\x7fELF\x00\x00binary")
    assert list(tmp_path.iterdir()) == []


def test_add_replace_and_remove(tmp_path):
    assert add_file(tmp_path, "harbour.pdf", D.pdf_bytes()) == ("harbour.pdf", False)
    assert add_file(tmp_path, "harbour.pdf", D.pdf_bytes(title="Velmora Harbour, 2nd ed.")) == ("harbour.pdf", True)
    assert [p.name for p in tmp_path.iterdir()] == ["harbour.pdf"]  # no temporary file left behind
    kept = remove_file(tmp_path, "harbour.pdf")
    assert not (tmp_path / "harbour.pdf").exists() and kept.parent.name == ".trash" and kept.read_bytes()
    with pytest.raises(CorpusError, match="no such file in the library"):
        remove_file(tmp_path, "../outside.txt")


@pytest.fixture
def library(tmp_path, fake_embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "tides.md").write_text("# Tides\n\n## Spring\nSpring tides follow the full moon.\n", encoding="utf-8")
    qa = QA(load_settings(corpus_dir=corpus, index_dir=tmp_path / "index", abstain_threshold=0.0),
            embedder=fake_embedder)
    qa.warm_up()
    return Library(qa)


def _uploaded(tmp_path, name, data):
    """A file as Gradio hands it over: a temporary copy the handler may delete."""
    folder = tmp_path / "upload"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return str(path)


def _last(lib, said):
    """The tab's final output, its Markdown escaping undone (every message is escaped)."""
    message, rows, choices = list(lib.follow(said))[-1]
    return unescape(message), rows, choices


def test_the_tab_adds_indexes_and_reports_each_file(library, tmp_path):
    said = library.add([_uploaded(tmp_path, "harbour.pdf", D.pdf_bytes()),
                        _uploaded(tmp_path, "orchard.docx", D.docx_bytes()),
                        _uploaded(tmp_path, "scan.pdf", D.scanned_pdf_bytes())])
    message, rows, choices = _last(library, said)
    assert "Added harbour.pdf." in message and "Added orchard.docx." in message
    assert "Not added: scan.pdf: the PDF is a scan and OCR found no text on it" in message
    assert "Re-indexed in" in message and "documents; " in message
    assert {r[0]: r[3] for r in rows} == {"harbour.pdf": "indexed", "orchard.docx": "indexed", "tides.md": "indexed"}
    assert choices == ["harbour.pdf", "orchard.docx", "tides.md"]
    assert not (tmp_path / "upload" / "harbour.pdf").exists()  # the upload's copy is gone
    answer = library.qa.ask("When are apple trees pruned?")
    assert any(c.doc == "orchard.docx" for c in answer.citations)


def test_statuses_follow_the_folder_against_the_index(library):
    folder = library.folder
    (folder / "new.md").write_text("# New\n\nA new note.\n", encoding="utf-8")
    (folder / "tides.md").write_text("# Tides\n\nChanged.\n", encoding="utf-8")
    (folder / "bad.txt").write_bytes(b"\xff\xfe")
    manifest = library.qa.index.manifest
    got = {s.doc_id: (s.status, s.detail) for s in statuses(folder, manifest)}
    assert got == {"bad.txt": ("new", "re-index to add it"), "new.md": ("new", "re-index to add it"),
                   "tides.md": ("changed", "re-index to update it")}
    _last(library, library.reindex())
    got = {s.doc_id: (s.status, s.detail) for s in statuses(folder, library.qa.index.manifest)}
    assert got["bad.txt"] == ("skipped", "not valid UTF-8 at byte 0; re-save the file as UTF-8")
    assert got["new.md"][0] == got["tides.md"][0] == "indexed"
    (folder / "new.md").unlink()
    assert {s.doc_id: s.status for s in statuses(folder, library.qa.index.manifest)}["new.md"] == "deleted"


def test_delete_takes_a_file_out_of_answers_and_a_failed_build_keeps_the_index(library, tmp_path):
    library.add([_uploaded(tmp_path, "harbour.pdf", D.pdf_bytes())])
    _last(library, "")
    message, rows, _ = _last(library, library.remove("harbour.pdf"))
    assert "Deleted harbour.pdf" in message and [r[0] for r in rows] == ["tides.md"]
    assert "harbour.pdf" not in library.qa.index.documents
    message, rows, _ = _last(library, library.remove("tides.md"))  # the last file: nothing left to index
    assert "Re-indexing failed: nothing to index" in message and "previous index is still answering" in message
    assert "tides.md" in library.qa.index.documents
    assert library.remove("") == "Choose a file to delete first."
    assert unescape(library.remove("../../etc/hostname")) == "../../etc/hostname: no such file in the library"


def test_upload_limits(library, tmp_path):
    many = [_uploaded(tmp_path, f"n{i}.md", b"# N\n\nA note.\n") for i in range(MAX_FILES_PER_UPLOAD + 1)]
    assert library.add(many) == f"That is {MAX_FILES_PER_UPLOAD + 1} files; add at most {MAX_FILES_PER_UPLOAD} at a time."
    assert library.add([]) .startswith("Choose one or more files first")
