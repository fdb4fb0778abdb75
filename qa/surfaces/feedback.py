"""Thumbs up / down (and an optional correction) on answers, kept append-only on the server.

Each vote is one JSON line in ``Settings.feedback_path``, written in the test-set schema
(docs/evaluation.md), so ``qa eval feedback.jsonl`` measures the bot on what its users said:

- up on an answer: ``answers`` is the answer shown (it was right);
- up on "the documents do not say": ``answers`` is ``[]`` (rightly declined);
- down with a correction: ``answers`` is the correction;
- down without one: no ``answers`` (we only know it was wrong); ``qa eval`` skips such rows and
  says how many.

Every vote, from the chat page or ``POST /api/feedback``, is stored by ``submit``, with one set
of limits, since anyone who can open the chat can send votes:

- a rate limit per client address: a burst of ``feedback_burst`` votes, then one every
  ``feedback_interval`` seconds; a vote over it is refused (``TooManyVotes``), not stored;
- a size cap per row (``MAX_ROW_BYTES``): the question, answer and correction are cut to their
  limits, and the oldest history turns are left out until the row fits;
- rows that came with the API key (when one is set) are marked ``"keyed": true``;
- a file that reaches ``MAX_FILE_BYTES`` is compacted instead of refusing votes for ever: the
  oldest anonymous rows go first (then the oldest keyed ones) until it is down to
  ``COMPACT_TO`` of the cap, so honest votes are always stored.

Lines are appended under a lock with one ``write`` each and flushed to disk, so a crash leaves
whole lines; a compaction writes a new file and renames it into place.
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
#: A compaction keeps the newest rows that fit in this share of ``MAX_FILE_BYTES``.
COMPACT_TO = 0.8
MAX_ANSWER_CHARS = 2000
MAX_CORRECTION_CHARS = 500
#: One stored vote, as a UTF-8 JSON line, at most (a question, an answer and a correction of
#: their greatest lengths fit; history turns are left out, oldest first, to fit).
MAX_ROW_BYTES = 20_000
#: Rate-limit state is kept for at most this many client addresses (the fullest buckets go first).
MAX_CLIENTS = 10_000
_lock = threading.Lock()
_buckets: dict[tuple[str, bool], tuple[float, float]] = {}  # (client, keyed) -> (tokens, when)


class TooManyVotes(QAError):
    """A client sent votes faster than the rate limit allows; nothing was stored."""


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


def submit(settings, vote: Vote, client: str, keyed: bool = False, corrects: str | None = None) -> dict:
    """Store ``vote`` from ``client`` (its address) within the limits above; returns the row.

    ``keyed``: the vote came with the API key. Raises ``TooManyVotes`` over the rate limit and
    ``QAError`` when the file cannot be written."""
    from qa.surfaces.guard import client_key

    _take(settings, (client_key(client or ""), keyed))
    row = record(vote, settings.max_question_chars)
    if corrects:
        row["corrects"] = str(corrects)[:40]
    if keyed:
        row["keyed"] = True
    append(settings.feedback_path, _fit(row))
    return row


def _take(settings, key: tuple[str, bool]) -> None:
    """Spend one vote of ``key``'s bucket, or raise TooManyVotes."""
    now = time.monotonic()
    burst, interval = settings.feedback_burst, settings.feedback_interval
    with _lock:
        tokens, then = _buckets.get(key, (float(burst), now))
        tokens = min(float(burst), tokens + ((now - then) / interval if interval > 0 else burst))
        if tokens < 1:
            wait = (1 - tokens) * interval
            raise TooManyVotes(f"too much feedback from this address; please wait {max(1, round(wait))} s "
                               "before the next vote")
        _buckets[key] = (tokens - 1, now)
        if len(_buckets) > MAX_CLIENTS:  # forget the clients that have been quiet longest
            for old in sorted(_buckets, key=lambda k: _buckets[k][1])[:len(_buckets) - MAX_CLIENTS]:
                del _buckets[old]


def _line(row: dict) -> bytes:
    return (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")


def _fit(row: dict) -> dict:
    """``row`` cut to ``MAX_ROW_BYTES``: its history turns left out, oldest first."""
    row = dict(row)
    while len(_line(row)) > MAX_ROW_BYTES and row.get("history"):
        row["history"] = row["history"][1:] or None
        if row["history"] is None:
            del row["history"]
    if len(_line(row)) > MAX_ROW_BYTES:  # only reachable with a max_question_chars raised far beyond its default
        raise QAError(f"the vote is larger than {MAX_ROW_BYTES:,} bytes and was not stored")
    return row


def _compact(path: Path, keep: int) -> None:
    """Rewrite ``path`` without its oldest anonymous rows (then its oldest keyed ones) until it
    is at most ``keep`` bytes; the new file is renamed into place."""
    lines = path.read_bytes().splitlines(keepends=True)
    size = sum(len(ln) for ln in lines)
    drop = set()
    for keyed in (False, True):
        for i, ln in enumerate(lines):
            if size <= keep:
                break
            if i not in drop and (b'"keyed": true' in ln) == keyed:
                drop.add(i)
                size -= len(ln)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.writelines(ln for i, ln in enumerate(lines) if i not in drop)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def append(path: Path, row: dict) -> None:
    """Append one line (compacting a full file first); QAError when it cannot be written."""
    path = Path(path)
    line = _line(row)
    with _lock:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            size = path.stat().st_size if path.exists() else 0
            if size + len(line) > MAX_FILE_BYTES:
                _compact(path, int(COMPACT_TO * MAX_FILE_BYTES))
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            raise QAError(f"the feedback could not be stored ({e.strerror})") from None
