"""The "Documents" tab of the admin page: add files, see where each stands (indexed, skipped and
why, waiting for a re-index), remove them and re-index, with the build's progress shown as it runs.

The work is done by ``qa.ingest.library`` (storing and listing files) and by the index build;
``Reindexer`` runs one build at a time in the background (in a child ``qa build`` for a server,
so the page and the chat keep answering) and switches the chat to the new index when it is done.
Every message is escaped: file names come from whoever uploads them.
"""

from __future__ import annotations

import html
import logging
import threading
import time
from pathlib import Path

from qa.core.errors import CorpusError, QAError
from qa.index.store import read_manifest
from qa.ingest.library import (MAX_FILES_PER_UPLOAD, MAX_UPLOAD_FILE_BYTES, add_file, check_upload_size, remove_file,
                               statuses)
from qa.ingest.sandbox import Limits, Sandbox
from qa.surfaces.render import escape

log = logging.getLogger(__name__)

COLUMNS = ["file", "kind", "size", "status", "detail"]
#: How long one page request follows a running build before it lets go (the build goes on).
FOLLOW_SECONDS = 3600


class Reindexer:
    """One build at a time; asking while one runs schedules exactly one more after it (the files
    may have changed since it started)."""

    def __init__(self, qa):
        self.qa = qa
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False
        self._progress = "starting"  # the last line of the running build's output
        self.result = ""  # how the last build ended, in words

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                self._again = True
                return
            self._thread = threading.Thread(target=self._run, name="qa-reindex", daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self._thread is None

    def progress(self) -> str:
        return self._progress

    def _output(self, text: str) -> None:
        lines = [ln.strip() for ln in text.replace("\r", "\n").splitlines() if ln.strip()]
        if lines:
            self._progress = lines[-1][:200]

    def _run(self) -> None:
        while True:
            t0 = time.monotonic()
            try:
                if self.qa.build_in_child:
                    from qa.index.child import build_in_child

                    build_in_child(self.qa.settings, on_output=self._output)
                    self.qa.reload()
                    manifest = self.qa.index.manifest
                else:
                    manifest = self.qa.build(on_stage=self._output)
                update = manifest.get("update") or {}
                self.result = (f"Re-indexed in {time.monotonic() - t0:.0f} s: {manifest['counts']['documents']} "
                               f"documents; {update.get('embedded', 0)} texts embedded, {update.get('kept', 0)} kept.")
            except QAError as e:
                self.result = f"Re-indexing failed: {e}. The previous index is still answering."
            except Exception:  # never take the admin page down; the previous index stays live
                log.exception("re-indexing failed")
                self.result = "Re-indexing failed; the error was logged on the server. The previous index is still answering."
            with self._lock:
                if not self._again:
                    self._thread = None
                    return
                self._again = False


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{max(1, round(n / 1e3))} kB" if n else ""


class Library:
    """The tab's handlers, usable without a browser: each returns (message_md, rows, choices)."""

    def __init__(self, qa):
        self.qa = qa
        self.folder = Path(qa.settings.corpus_dir)
        settings = qa.settings
        self.limits = Limits(min(settings.max_file_bytes, MAX_UPLOAD_FILE_BYTES), settings.extract_seconds,
                             settings.extract_memory_mb)
        self.reindexer = Reindexer(qa)
        # whether the last action started a build: only then does its message end with how the
        # build went (a refused upload must not show an earlier build's "Re-indexed in 9 s")
        self._building = False

    def _start(self) -> None:
        self._building = True
        self.reindexer.start()

    def rows(self) -> list[list]:
        try:
            manifest = read_manifest(self.qa.settings.index_dir)
        except QAError:
            manifest = None
        try:
            found = statuses(self.folder, manifest)
        except CorpusError:
            return []
        return [[s.doc_id, s.kind.upper(), _size(s.size), s.status, s.detail] for s in found]

    def choices(self, rows: list[list]) -> list[str]:
        return [r[0] for r in rows if r[3] != "deleted"]

    def add(self, paths) -> str:
        self._building = False
        paths = [Path(p) for p in (paths or [])]
        if not paths:
            return "Choose one or more files first (PDF, Word, HTML, Markdown or text)."
        if len(paths) > MAX_FILES_PER_UPLOAD:
            return f"That is {len(paths)} files; add at most {MAX_FILES_PER_UPLOAD} at a time."
        said, stored = [], 0
        sandbox = Sandbox(self.limits)  # one reader process for the batch, under the extraction limits
        for path in paths:
            shown = path.name
            try:
                check_upload_size(shown, path.stat().st_size)  # before reading it into memory
                doc_id, replaced = add_file(self.folder, shown, path.read_bytes(), sandbox=sandbox)
                stored += 1
                said.append(f"{'Replaced' if replaced else 'Added'} {escape(doc_id)}.")
            except CorpusError as e:
                said.append(f"Not added: {escape(str(e))}")
            except OSError as e:
                said.append(f"Not added: {escape(shown)} could not be stored ({escape(e.strerror or str(e))}).")
            finally:
                path.unlink(missing_ok=True)  # the upload's temporary copy
        sandbox.close()
        if stored:
            self._start()
        return "\n\n".join(said)

    def remove(self, doc_id: str | None) -> str:
        self._building = False
        if not doc_id:
            return "Choose a file to delete first."
        try:
            remove_file(self.folder, doc_id)
        except CorpusError as e:
            return escape(str(e))
        except OSError as e:
            return f"{escape(doc_id)} could not be deleted ({escape(e.strerror or str(e))})."
        self._start()
        return (f"Deleted {escape(doc_id)} (kept in the library's hidden .trash folder). "
                "Re-indexing to take it out of answers.")

    def reindex(self) -> str:
        self._start()
        return "Re-indexing."

    def follow(self, said: str):
        """Yield (message, rows, choices) while a build runs, then once more when it is done."""
        deadline = time.monotonic() + FOLLOW_SECONDS
        # the statuses hash every file: taken once here and once at the end, not every second (the
        # live index they are compared with only changes when the build switches it in)
        rows = self.rows()
        while self._building and self.reindexer.running and time.monotonic() < deadline:
            yield f"{said}\n\nRe-indexing: {escape(self.reindexer.progress())}", rows, self.choices(rows)
            self.reindexer.wait(1.0)
        rows = self.rows()
        if not self._building:
            done = ""
        elif self.reindexer.running:
            done = "Still re-indexing in the background."
        else:
            done = escape(self.reindexer.result)
        yield f"{said}\n\n{done}".strip(), rows, self.choices(rows)


#: The library table; on a phone each file becomes a block of labelled lines, so its status and
#: detail stay in view (a five-column grid cut them off at 390 px).
LIBRARY_CSS = """
table{width:100%;border-collapse:collapse;font-size:14px;color:#111827}
caption{text-align:left;font-size:13px;color:#4b5563;padding:0 0 4px}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid #e5e7eb;overflow-wrap:anywhere}
th{font-weight:600;color:#374151;background:#f9fafb}
@media (max-width:600px){
  thead{display:none}
  tr{display:block;border:1px solid #e5e7eb;border-radius:8px;padding:4px 8px;margin:0 0 8px}
  td{display:grid;grid-template-columns:5.5em 1fr;gap:8px;border:0;padding:2px 0}
  td:empty{display:none}
  td::before{content:attr(data-label);color:#4b5563}
}
"""


def library_html(rows: list[list]) -> str:
    """The library as an HTML table, every value escaped (file names come from uploads)."""
    if not rows:
        return '<p>No documents in the library yet.</p>'
    head = "".join(f'<th scope="col">{c}</th>' for c in COLUMNS)
    body = "".join("<tr>" + "".join(f'<td data-label="{c}">{html.escape(str(v))}</td>' for c, v in zip(COLUMNS, r))
                   + "</tr>" for r in rows)
    return f"<table><caption>Library</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def documents_tab(qa) -> None:
    import gradio as gr

    lib = Library(qa)

    def _out(message, rows, choices):
        return message, library_html(rows), gr.update(choices=choices, value=None)

    def on_add(paths):
        for message, rows, choices in lib.follow(lib.add(paths)):
            yield _out(message, rows, choices)

    def on_remove(doc_id):
        said = lib.remove(doc_id)
        for message, rows, choices in lib.follow(said):
            yield _out(message, rows, choices)

    def on_reindex():
        for message, rows, choices in lib.follow(lib.reindex()):
            yield _out(message, rows, choices)

    def on_load():
        rows = lib.rows()
        return _out("", rows, lib.choices(rows))

    gr.Markdown(
        f"Add PDF, Word (.docx), HTML, Markdown or text files, up to {MAX_UPLOAD_FILE_BYTES // 1_000_000} MB each and "
        f"{MAX_FILES_PER_UPLOAD} at a time. The type is read from each file's content; a file that cannot be "
        "indexed (encrypted, scanned without text, damaged) is refused with the reason. Adding or deleting "
        "re-indexes at once; only new and changed files are embedded again."
    )
    with gr.Row():
        upload = gr.File(label="Add documents", file_count="multiple", type="filepath", height=150,
                         file_types=[".pdf", ".docx", ".html", ".htm", ".md", ".txt"])
        add = gr.Button("Add and index", variant="primary", scale=0)
    message = gr.Markdown(elem_id="library-message")
    table = gr.HTML(elem_id="library-table", css_template=LIBRARY_CSS, apply_default_css=False)
    with gr.Row():
        chosen = gr.Dropdown(label="Document", choices=[], value=None, allow_custom_value=False)
        delete = gr.Button("Delete", variant="stop", scale=0)
        reindex = gr.Button("Re-index", scale=0)
    outputs = [message, table, chosen]
    add.click(on_add, inputs=[upload], outputs=outputs, api_name="add_documents", concurrency_limit=1).then(
        lambda: None, outputs=[upload])
    delete.click(on_remove, inputs=[chosen], outputs=outputs, api_name="delete_document", concurrency_limit=1)
    reindex.click(on_reindex, outputs=outputs, api_name="reindex", concurrency_limit=1)
    return on_load, outputs
