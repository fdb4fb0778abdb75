"""Thumbs up / down (and an optional correction) on answers, kept append-only on the server.

Each vote is one JSON line in ``Settings.feedback_path``, written in the test-set schema
(docs/evaluation.md), so ``qa eval feedback.jsonl`` measures the bot on what its users said:

- up on an answer: ``answers`` is the answer shown (it was right);
- up on "the documents do not say": ``answers`` is ``[]`` (rightly declined);
- down with a correction: ``answers`` is the correction;
- down without one: no ``answers`` (we only know it was wrong); ``qa eval`` skips such rows and
  says how many.

Lines are appended under a lock with one ``write`` each and flushed to disk, so a crash leaves
whole lines; the file never shrinks. Sizes are bounded (the client sends what it rated): a
question, answer and correction are cut to their limits, and past ``MAX_FILE_BYTES`` new votes
are refused with a message instead of filling the disk.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from qa.core.errors import QAError

MAX_FILE_BYTES = 50_000_000
MAX_ANSWER_CHARS = 2000
MAX_CORRECTION_CHARS = 500
_lock = threading.Lock()


@dataclass(frozen=True)
class Vote:
    question: str
    shown: str | None  # the answer shown; None when the bot declined
    up: bool
    correction: str = ""
    history: tuple[dict, ...] = ()


def record(vote: Vote, max_question_chars: int) -> dict:
    row = {"id": f"fb-{uuid.uuid4().hex[:12]}", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "question": vote.question[:max_question_chars], "kind": "feedback",
           "vote": "up" if vote.up else "down",
           "shown": None if vote.shown is None else vote.shown[:MAX_ANSWER_CHARS]}
    correction = " ".join(vote.correction.split())[:MAX_CORRECTION_CHARS]
    if correction:
        row["correction"] = correction
    if vote.up:
        row["answers"] = [] if vote.shown is None else [row["shown"]]
    elif correction:
        row["answers"] = [correction]
    if vote.history:
        row["history"] = [{"role": t["role"], "content": str(t["content"])[:max_question_chars]}
                          for t in vote.history[-4:] if t.get("role") in ("user", "assistant")]
    return row


def append(path: Path, row: dict) -> None:
    """Append one line; QAError when the file is full or cannot be written."""
    path = Path(path)
    line = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
    with _lock:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            size = path.stat().st_size if path.exists() else 0
            if size + len(line) > MAX_FILE_BYTES:
                raise QAError("the feedback file is full; thank you, but no more feedback can be stored for now")
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            raise QAError(f"the feedback could not be stored ({e.strerror})") from None
