"""Getting a server ready without keeping anyone waiting.

``qa serve`` binds its port and starts answering at once; ``Startup`` loads the index in a
background thread, building it first (in a child ``qa build``) when it is missing or stale.
Until it is ready, ``/healthz`` answers 503 with ``{"status": "building", "stage": "Embedding",
"progress": 0.42}`` -- ``progress`` is how far the named stage is (reading the files, embedding
them, writing the index), never a made-up total -- and questions get a plain "still indexing"
message instead of waiting for minutes. If loading fails (no corpus folder, say), the error is shown, and the
next question tries again, so fixing the folder is enough.
"""

from __future__ import annotations

import logging
import re
import threading

from qa.core.errors import QAError

log = logging.getLogger(__name__)

_BAR = re.compile(r"^\s*([A-Za-z]+)\b[^%]{0,60}?(\d{1,3})%\|")
#: The stages of a build (qa/index/store.py ``build_index``) by the first word of their line or
#: bar, and how a person is told about each. Other output (a skipped file, a library's own bar)
#: leaves the stage as it is; only these words reach /healthz, never a line with a path in it.
STAGES = {"Reading": "reading the documents", "Embedding": "embedding the passages", "Writing": "writing the index"}


class Startup:
    def __init__(self, qa, progress: bool = True, on_stage=None):
        self.qa = qa
        self.progress = progress
        self.on_stage = on_stage
        self.state = "starting"
        self.stage = ""
        self.fraction: float | None = None
        self.error = ""
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> "Startup":
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return self
            self.state = "starting"  # the last error stays on show until an attempt succeeds
            self._thread = threading.Thread(target=self._run, name="qa-startup", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self.qa.warm_up(progress=self.progress, on_stage=self._stage, on_output=self._output)
        except QAError as e:
            self.state, self.error = "unavailable", str(e)
            (self.on_stage or log.warning)(f"Warning: {e}")
        except Exception as e:  # never let a background failure vanish
            log.exception("loading the index failed")
            self.state, self.error = "unavailable", f"loading the index failed ({type(e).__name__})"
        else:
            self.state, self.error = "ok", ""

    def _stage(self, message: str) -> None:
        self._seen(message)
        if self.on_stage:
            self.on_stage(message)

    def _output(self, text: str) -> None:
        """A piece of the child build's output: keep its last stage name and percentage."""
        self.state = "building"
        for line in re.split(r"[\r\n]", text):
            self._seen(line)

    def _seen(self, line: str) -> None:
        """One line of build output: a stage starts ("Writing index") or its bar moves ("Embedding: 42%|")."""
        bar = _BAR.match(line)
        if bar and bar.group(1) in STAGES:
            self.stage, self.fraction = bar.group(1), min(1.0, int(bar.group(2)) / 100)
        elif not bar and "%|" not in line and line.split()[:1] and line.split()[0] in STAGES:
            self.stage, self.fraction = line.split()[0], None

    @property
    def ready(self) -> bool:
        return self.state == "ok"

    def wait(self, timeout: float | None = None) -> bool:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.ready

    def status(self) -> dict:
        if self.ready:
            index = self.qa.index
            return {"status": "ok", "documents": len(index.documents), "chunks": len(index.chunks)}
        if self.state == "unavailable":
            return {"status": "unavailable", "error": self.error}
        out = {"status": "building" if self.state == "building" else "loading", "stage": self.stage}
        if self.fraction is not None:
            out["progress"] = round(self.fraction, 2)
        if self.error:  # retrying after a failure: what went wrong last time
            out["error"] = self.error
        return out

    @property
    def busy(self) -> bool:
        """Loading or building: neither ready nor failed."""
        return self.state not in ("ok", "unavailable")

    def not_ready(self, then: str = "Please try again in a minute.", retry: bool = True) -> str | None:
        """None when questions can be answered; else what to tell the person asking, ending with
        ``then`` while it builds. After a failure, asking starts another attempt (the folder may
        have been fixed since) unless ``retry`` is false."""
        if self.ready:
            return None
        if self.state == "unavailable":
            error = self.error
            if retry:
                self.start()
            return f"The documents cannot be searched right now: {error}"
        return f"The documents are still being indexed{self._where()}. {then}"

    def _where(self) -> str:
        """" (embedding: 42% done)": the stage and how far it is; no overall percentage, which the
        stages (reading, embedding, writing) of unknown lengths cannot honestly give."""
        stage = STAGES.get(self.stage)
        if not stage:
            return ""
        done = f": {self.fraction:.0%} done" if self.fraction is not None else ""
        return f" ({stage}{done})"
