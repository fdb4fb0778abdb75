"""Building the index in a child process, for a server that goes on running afterwards.

A build may load the bulk embedder -- torch with the model in bfloat16, for big corpora on CPUs
with bf16 units (qa/embedding.py) -- and a Python process keeps torch and most of that memory
after the build: a serving process measured 208 MB before and about 650 MB after an in-process
bf16 build. So a server that finds its index missing or stale runs ``qa build`` as a child with
the same settings: the child's progress bars go to the terminal as usual, its error ("the corpus
folder ... does not exist") comes back as a ``QAError``, and the server then loads the finished
index and answers with the ONNX query embedder alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields

from .config import Settings
from .errors import QAError

#: Settings the child does not need; the API key stays out of its environment.
_NOT_PASSED = {"api_key"}


def child_env(settings: Settings) -> dict[str, str]:
    """This process's environment plus every scalar setting as ``QA_<NAME>``, so the child's
    ``load_settings()`` equals ``settings`` for everything a build reads (the weight tables are
    not read by a build)."""
    env = dict(os.environ)
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if f.name not in _NOT_PASSED and not isinstance(value, dict):
            env[f"QA_{f.name.upper()}"] = str(value)
    return env


def build_in_child(settings: Settings, quiet: bool = False) -> None:
    """Run ``qa build`` in a child process with ``settings``; its output is passed through.

    Raises ``QAError`` with the child's own error message when the build fails.
    """
    cmd = [sys.executable, "-m", "qa.cli", "build"] + (["-q"] if quiet else [])
    proc = subprocess.Popen(cmd, env=child_env(settings), stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tail = b""
    try:
        # Pass the child's stderr (progress bars, stages, errors) through as it comes, keeping
        # the end of it for the error message.
        while chunk := os.read(proc.stderr.fileno(), 65536):
            sys.stderr.buffer.write(chunk)
            sys.stderr.flush()
            tail = (tail + chunk)[-8192:]
        code = proc.wait()
    finally:
        if proc.poll() is None:  # interrupted: do not leave a build running behind the server
            proc.terminate()
            proc.wait()
        proc.stderr.close()
    if code != 0:
        lines = tail.decode("utf-8", errors="replace").replace("\r", "\n").splitlines()
        error = next((ln for ln in reversed(lines) if ln.startswith("Error: ")), None)
        raise QAError(error.removeprefix("Error: ") if error else f"`qa build` failed (exit status {code})")
