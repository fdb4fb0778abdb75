"""Reading documents in a child process with a time and a memory limit.

The PDF, Word and HTML libraries (qa/ingest/formats.py) run on bytes that anyone with an upload
form, or anyone whose page lands in the corpus folder, chose: an 11 kB PDF of 500,000 text
operators kept a core busy for 87 s, a 2 MB DOCX unpacking to 190 MB of XML took the server
from 0.7 to 2.2 GB. So those kinds are read in a child process (``python -m qa.ingest.sandbox``)
that

- may use at most ``extract_memory_mb`` of address space (``RLIMIT_AS``, set by the child on
  itself): past it the reader gets ``MemoryError``, or the child dies, and the file is skipped;
- must answer within ``extract_seconds`` per file: past it the child is killed and restarted
  for the next file, and the file is skipped.

Each skip names the limit and its setting. Plain text and Markdown are decoded in the calling
process: decoding is linear in a size already capped by ``max_file_bytes``.

Uploads (qa/ingest/library.py) and builds (qa/index/store.py) both read through a ``Sandbox``;
one child serves a whole build or upload batch, and is started only when a file needs it.
Messages are JSON lines (never pickle: a child that a crafted file took over must not be able
to run code in the parent).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import resource
import selectors
import signal
import subprocess
import sys
import time
import weakref
from dataclasses import dataclass

from qa.core.config import child_process_env
from qa.core.errors import CorpusError
from qa.core.types import Table
from qa.ingest.formats import MAX_FILE_BYTES, Extracted, check_size, extract, sniff

#: How long a new reader process may take to import the readers and say it is ready.
STARTUP_SECONDS = 120
#: What the child imports before it says it is ready (a missing one is reported per file).
_READERS = ("pypdf", "pdfplumber", "docx", "trafilatura")


@dataclass(frozen=True)
class Limits:
    max_bytes: int = MAX_FILE_BYTES  # settings.max_file_bytes
    seconds: float = 300.0  # settings.extract_seconds
    memory_mb: int = 1024  # settings.extract_memory_mb

    @classmethod
    def of(cls, settings) -> "Limits":
        return cls(settings.max_file_bytes, settings.extract_seconds, settings.extract_memory_mb)


class Sandbox:
    """``extract(data, doc_id)`` as qa/ingest/formats.py does it, PDF, Word and HTML in a child
    process under ``limits``. Use as a context manager (the child is ended on exit)."""

    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits()
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            _end(proc)

    def extract(self, data: bytes, doc_id: str) -> Extracted:
        check_size(doc_id, len(data), self.limits.max_bytes)
        if sniff(data) == "text":
            return extract(data, doc_id, self.limits.max_bytes)
        proc = self._child()
        try:
            header = json.dumps({"doc_id": doc_id, "size": len(data), "max_bytes": self.limits.max_bytes})
            proc.stdin.write(header.encode("utf-8") + b"\n" + data)
            proc.stdin.flush()
        except OSError:  # the child died before reading (its memory limit, at start)
            return self._failed(doc_id)
        line = self._answer(proc, doc_id)
        reply = json.loads(line)
        if reply.get("exit"):
            self._kill()
        if "error" in reply:
            raise CorpusError(reply["error"])
        return Extracted(reply["text"], reply["kind"], tuple(reply["pages"]),
                         tuple(Table.from_dict(t) for t in reply["tables"]))

    def _child(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            env = child_process_env()  # a reader needs no key
            self._proc = subprocess.Popen([sys.executable, "-m", "qa.ingest.sandbox", str(self.limits.memory_mb)],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                          env=env)
            # a caller that fails before close() (a build interrupted mid-way) leaves no child behind
            weakref.finalize(self, _end, self._proc)
            # the readers' imports are not the file's time: the limit starts once the child is ready
            if self._line(self._proc, STARTUP_SECONDS) != b"ready\n":
                self._kill()
                raise CorpusError(f"the document reader process did not start within {STARTUP_SECONDS} s; "
                                  "documents cannot be read now")
        return self._proc

    def _answer(self, proc: subprocess.Popen, doc_id: str) -> bytes:
        """The child's one-line answer, read within the time limit (else it is killed)."""
        line = self._line(proc, self.limits.seconds)
        if line is None:
            raise CorpusError(f"{doc_id}: reading it took longer than {self.limits.seconds:g} s (the "
                              "extract_seconds setting); not indexed")
        if not line:
            return self._failed(doc_id)
        return line

    def _line(self, proc: subprocess.Popen, seconds: float) -> bytes | None:
        """One line from the child within ``seconds``; b"" when it ended first, None (and the
        child killed) when the time ran out."""
        deadline = time.monotonic() + seconds
        chunks: list[bytes] = []
        fd = proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    self._kill()
                    return None
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    return b""
                chunks.append(chunk)
                if chunk.endswith(b"\n"):
                    return b"".join(chunks)

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            _end(proc)

    def _failed(self, doc_id: str):
        """The child ended without an answer: most often its memory limit."""
        proc = self._proc
        code = proc.wait() if proc is not None else 0
        self._kill()
        how = f"killed by {signal.Signals(-code).name}" if code < 0 and -code in signal.valid_signals() else \
            f"exit status {code}"
        raise CorpusError(f"{doc_id}: the reader stopped while reading it ({how}); it may need more memory than "
                          f"{self.limits.memory_mb} MB (the extract_memory_mb setting); not indexed")


def _end(proc: subprocess.Popen) -> None:
    """End a child: closing its input ends its loop; one that does not stop at once is killed."""
    if proc.poll() is None:
        try:
            proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        try:
            pipe.close()
        except OSError:
            pass


def _peak_bytes() -> int:
    """This process's peak address space (VmPeak), what RLIMIT_AS bounds."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            return next(int(ln.split()[1]) << 10 for ln in f if ln.startswith("VmPeak:"))
    except (OSError, StopIteration, ValueError):
        return 0


def _serve(memory_mb: int) -> None:
    """The child: read requests from stdin, answer each on stdout as one JSON line."""
    limit = memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    for name in _READERS:
        try:
            importlib.import_module(name)
        except ImportError:  # named when a file needs it (formats.extract: "install X")
            pass
    stdout.write(b"ready\n")
    stdout.flush()
    over = f"reading it needs more than {memory_mb} MB of memory (the extract_memory_mb setting); not indexed"
    while header := stdin.readline():
        request = json.loads(header)
        data = stdin.read(request["size"])
        doc_id = request["doc_id"]
        try:
            got = extract(data, doc_id, request["max_bytes"])
            reply = {"text": got.text, "kind": got.kind, "pages": list(got.pages),
                     "tables": [dataclasses.asdict(t) for t in got.tables]}
        except CorpusError as e:
            reply = {"error": str(e)}
        except MemoryError:
            reply = {"error": f"{doc_id}: {over}"}
        del data
        # A parser that runs out of memory in C (libxml2) says "damaged" or "unknown error":
        # near the limit, that is what it was. The child then ends, so the next file starts
        # from a fresh process and the peak speaks only of the file that reached it.
        near = _peak_bytes() >= 0.9 * limit
        if near and "error" in reply:
            reply = {"error": f"{doc_id}: {over}"}
        if near:
            reply["exit"] = True  # the parent starts another child for the next file
        stdout.write(json.dumps(reply).encode("utf-8") + b"\n")
        stdout.flush()
        if near:
            return


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
