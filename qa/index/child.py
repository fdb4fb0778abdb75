"""Building the index in a child process, for a server that goes on running afterwards.

A build may load the bulk embedder -- torch with the model in bfloat16, for big corpora on CPUs
with bf16 units (qa/embed/model.py) -- and a Python process keeps torch and most of that memory
after the build: a serving process measured 208 MB before and about 650 MB after an in-process
bf16 build. So a server that finds its index missing or stale runs ``qa build`` as a child with
the same settings: the child's progress bars go to the terminal as usual, its error ("the corpus
folder ... does not exist") comes back as a ``QAError``, and the server then loads the finished
index and answers with the ONNX query embedder alone. Ctrl-C stops the child with the server;
a server killed outright leaves a running build to finish (builds are atomic, so nothing is
half-written).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import fields

from qa.core.config import Settings, child_process_env, secret_names
from qa.ingest.corpus import corpus_files, nothing_to_index
from qa.core.errors import QAError



def child_env(settings: Settings) -> dict[str, str]:
    """This process's environment plus every scalar setting as ``QA_<NAME>``, so the child's
    ``load_settings()`` equals ``settings`` for everything a build reads (the weight tables are
    not read by a build), and this package first on ``PYTHONPATH``."""
    env = child_process_env()  # a build needs no key: they stay out of its environment
    hidden = secret_names()
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if f.name not in hidden and not isinstance(value, dict):
            env[f"QA_{f.name.upper()}"] = str(value)
    return env


def _pass_through(chunk: bytes) -> None:
    out = getattr(sys.stderr, "buffer", None)
    if out is not None:
        out.write(chunk)
    else:  # a text-only stderr (a notebook, a test's StringIO)
        sys.stderr.write(chunk.decode("utf-8", errors="replace"))
    sys.stderr.flush()


def _failure(code: int, tail: bytes) -> str:
    """The child's own "Error: ..." line, else its last line of output, else how it ended."""
    lines = [ln.strip() for ln in tail.decode("utf-8", errors="replace").replace("\r", "\n").splitlines() if ln.strip()]
    error = next((ln for ln in reversed(lines) if ln.startswith("Error: ")), None)
    if error:
        return error.removeprefix("Error: ")
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        hint = " (out of memory?)" if -code == signal.SIGKILL else ""
        return f"`qa build` was killed by {name}{hint}"
    last = f": {lines[-1]}" if lines else ""
    return f"`qa build` failed (exit status {code}){last}"


def build_in_child(settings: Settings, quiet: bool = False, on_output=None) -> None:
    """Run ``qa build`` in a child process with ``settings``; its output is passed through, and
    each piece of it also to ``on_output(text)`` when given (a server shows build progress).

    Raises ``QAError`` with the child's own error message when the build fails. A corpus folder
    that does not exist or holds no document file is reported here, without starting a child (a
    server retries the build on every question until the folder is fixed).
    """
    if not corpus_files(settings.corpus_dir):  # raises CorpusError itself for a missing folder
        raise nothing_to_index(settings.corpus_dir)
    cmd = [sys.executable, "-m", "qa.surfaces.cli", "build"] + (["-q"] if quiet else [])
    proc = subprocess.Popen(cmd, env=child_env(settings), stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tail = b""
    try:
        # Pass the child's stderr (progress bars, stages, errors) through as it comes, keeping
        # the end of it for the error message.
        while chunk := os.read(proc.stderr.fileno(), 65536):
            _pass_through(chunk)
            if on_output is not None:
                on_output(chunk.decode("utf-8", errors="replace"))
            tail = (tail + chunk)[-8192:]
        code = proc.wait()
    finally:
        if proc.poll() is None:  # interrupted: do not leave a build running behind the server
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stderr.close()
    if code != 0:
        raise QAError(_failure(code, tail))
