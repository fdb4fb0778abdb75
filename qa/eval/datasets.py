"""Test sets: ``load_testset(path)`` reads one, detecting the format from the content:

- JSON Lines: one ``{"id", "question", "answers": [...], "evidence"?, "history"?, "kind"?,
  "relevance"?}`` per line; ``answers: []`` marks an unanswerable question (the feedback file,
  qa/surfaces/feedback.py, is one; its thumbs-down lines without a correction are skipped);
- CSV with a header row and the same columns (``answers`` separated by ``|``, an empty cell
  meaning unanswerable; ``history`` and ``relevance`` as JSON);
- SQuAD v1.1 / v2.0 JSON (``data[].paragraphs[].qas[]``; ``is_impossible``; the paragraph
  context is the evidence of its answerable questions).

Anything wrong raises ``TestSetError`` naming the line (row, or JSON path) and the field, and
nothing is evaluated: a test set is either read completely or rejected.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from qa.core.errors import TestSetError
from qa.eval import metrics as M

MAX_BYTES = 50_000_000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TestItem:
    """One question of a test set. ``answers == ()`` means the corpus cannot answer it."""

    __test__ = False  # not a pytest class

    id: str
    question: str
    answers: tuple[str, ...]
    evidence: str | None = None
    history: tuple[dict, ...] = ()  # earlier turns: {"role": "user"|"assistant", "content": str, "source"?}
    kind: str | None = None
    relevance: dict[str, float] = field(default_factory=dict)  # graded passages for nDCG

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass
class TestSet:
    __test__ = False

    path: str
    format: str  # "jsonl" | "csv" | "squad"
    items: list[TestItem]
    sha256: str = ""  # of the file's bytes, so a report names exactly what it measured


# ---------------------------------------------------------------------------------------------
# Readers


class _Fields:
    """Validates the fields of one entry; every error names ``where`` and the field."""

    def __init__(self, where: str, data: dict):
        self.where, self.data = where, data

    def fail(self, field_: str, problem: str):
        raise TestSetError(f"{self.where}, field {field_!r}: {problem}")

    def text(self, name: str, required: bool) -> str | None:
        value = self.data.get(name)
        if value is None or (isinstance(value, str) and not value.strip() and not required):
            if required:
                self.fail(name, "missing" if name not in self.data else "is empty")
            return None
        if not isinstance(value, str):
            self.fail(name, f"must be text, got {_typename(value)}")
        if not value.strip():
            self.fail(name, "is empty")
        return value

    def ident(self, default: str) -> str:
        value = self.data.get("id")
        if value is None or value == "":
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.fail("id", f"must be text or an integer, got {_typename(value)}")
        return str(value)

    def answers(self) -> tuple[str, ...]:
        if "answers" not in self.data:
            self.fail("answers", "missing (use [] for a question the corpus cannot answer)")
        value = self.data["answers"]
        if not isinstance(value, list):
            self.fail("answers", f"must be a list of strings, got {_typename(value)}")
        out = []
        for i, a in enumerate(value):
            if not isinstance(a, str):
                self.fail("answers", f"item {i} must be text, got {_typename(a)}")
            if not M.normalize_answer(a):
                self.fail("answers", f"item {i} ({a!r}) is empty once case, punctuation and articles are removed")
            if a not in out:
                out.append(a)
        return tuple(out)

    def history(self) -> tuple[dict, ...]:
        value = self.data.get("history")
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail("history", f"must be a list of {{\"role\", \"content\"}} objects, got {_typename(value)}")
        out = []
        for i, turn in enumerate(value):
            if not isinstance(turn, dict):
                self.fail("history", f"turn {i} must be an object, got {_typename(turn)}")
            if turn.get("role") not in ("user", "assistant"):
                self.fail("history", f"turn {i}: role must be \"user\" or \"assistant\", got {turn.get('role')!r}")
            if not isinstance(turn.get("content"), str):
                self.fail("history", f"turn {i}: content must be text, got {_typename(turn.get('content'))}")
            kept = {"role": turn["role"], "content": turn["content"]}
            source = turn.get("source")
            if source is not None:  # where an assistant answer came from, as the chat passes it on
                if (turn["role"] != "assistant" or not isinstance(source, dict) or not isinstance(source.get("doc"), str)
                        or not all(type(source.get(k)) is int for k in ("start", "end"))):
                    self.fail("history", f"turn {i}: source must be {{\"doc\": text, \"start\": int, \"end\": int}} "
                                         "on an assistant turn")
                kept["source"] = {"doc": source["doc"], "start": source["start"], "end": source["end"]}
            out.append(kept)
        return tuple(out)

    def relevance(self) -> dict[str, float]:
        value = self.data.get("relevance")
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail("relevance", f"must be an object {{\"passage text\": grade}}, got {_typename(value)}")
        out = {}
        for text, grade in value.items():
            if isinstance(grade, bool) or not isinstance(grade, (int, float)) or grade < 0:
                self.fail("relevance", f"grade of {text[:40]!r} must be a number >= 0, got {grade!r}")
            out[text] = float(grade)
        return out

    def item(self, default_id: str) -> TestItem:
        return TestItem(
            id=self.ident(default_id),
            question=self.text("question", required=True),
            answers=self.answers(),
            evidence=self.text("evidence", required=False),
            history=self.history(),
            kind=self.text("kind", required=False),
            relevance=self.relevance(),
        )


def _typename(value) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}.get(
        type(value), type(value).__name__)


def _decode(data: bytes, name: str) -> str:
    if not data.strip():
        raise TestSetError(f"{name} is empty: expected JSON Lines, CSV or SQuAD JSON")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise TestSetError(
            f"{name}, line {line}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); "
            "save the file as UTF-8"
        ) from None


def _unique(items: list[TestItem], where: list[str], name: str) -> list[TestItem]:
    seen: dict[str, str] = {}
    for item, loc in zip(items, where):
        if item.id in seen:
            raise TestSetError(f"{name}, {loc}, field 'id': duplicate id {item.id!r} (first used at {seen[item.id]})")
        seen[item.id] = loc
    if not items:
        raise TestSetError(f"{name} has no questions")
    return items


def parse_jsonl(text: str, name: str = "test set") -> list[TestItem]:
    items, where = [], []
    unknown = 0
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        loc = f"{name}, line {n}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise TestSetError(f"{loc}: not valid JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(data, dict):
            raise TestSetError(f"{loc}: expected a JSON object {{\"id\", \"question\", \"answers\"}}, got {_typename(data)}")
        if "vote" in data and "answers" not in data:
            # a thumbs-down without a correction (qa/surfaces/feedback.py): what was right is not known
            unknown += 1
            continue
        items.append(_Fields(loc, data).item(default_id=f"line-{n}"))
        where.append(f"line {n}")
    if unknown:
        log.warning("%s: %d feedback line(s) without a known answer (thumbs down, no correction) were skipped",
                    name, unknown)
    return _unique(items, where, name)


def parse_csv(text: str, name: str = "test set") -> list[TestItem]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames or []
    except csv.Error as e:
        raise TestSetError(f"{name}, line 1: not valid CSV ({e})") from None
    header = [h.strip() for h in header]
    reader.fieldnames = header
    if "question" not in header:
        raise TestSetError(
            f"{name}: not JSON Lines, SQuAD JSON or CSV with a header row naming a 'question' column "
            f"(first line: {text.splitlines()[0][:80]!r})"
        )
    if "answers" not in header:
        raise TestSetError(f"{name}: the CSV header has no 'answers' column (answers separated by '|'; empty = unanswerable)")
    items, where = [], []
    try:
        for n, row in enumerate(reader, start=1):
            loc = f"{name}, row {n} (line {reader.line_num})"
            if None in row:
                raise TestSetError(f"{loc}: more cells than header columns")
            if not any((v or "").strip() for v in row.values()):
                continue
            data: dict = {k: (v if v is None or v.strip() else None) for k, v in row.items()}
            raw = row.get("answers") or ""
            data["answers"] = [a.strip() for a in raw.split("|") if a.strip()]
            for col in ("history", "relevance"):
                if data.get(col) is not None:
                    try:
                        data[col] = json.loads(data[col])
                    except json.JSONDecodeError as e:
                        raise TestSetError(f"{loc}, field {col!r}: not valid JSON ({e.msg} at column {e.colno})") from None
            items.append(_Fields(loc, data).item(default_id=f"row-{n}"))
            where.append(f"row {n}")
    except csv.Error as e:
        raise TestSetError(f"{name}, line {reader.line_num}: not valid CSV ({e})") from None
    return _unique(items, where, name)


def parse_squad(data: dict, name: str = "test set") -> list[TestItem]:
    """SQuAD v1.1 / v2.0: ``data[].paragraphs[].qas[]`` with ``answers[].text`` and ``is_impossible``."""
    def need(obj, key, typ, path):
        if not isinstance(obj, dict):
            raise TestSetError(f"{name}, {path}: expected an object, got {_typename(obj)}")
        if key not in obj:
            raise TestSetError(f"{name}, {path}, field {key!r}: missing")
        if not isinstance(obj[key], typ):
            raise TestSetError(f"{name}, {path}, field {key!r}: expected {_typename(typ())}, got {_typename(obj[key])}")
        return obj[key]

    items, where, skipped = [], [], []
    for a, article in enumerate(need(data, "data", list, "top level")):
        for p, para in enumerate(need(article, "paragraphs", list, f"data[{a}]")):
            path = f"data[{a}].paragraphs[{p}]"
            context = need(para, "context", str, path)
            for q, qa in enumerate(need(para, "qas", list, path)):
                qpath = f"{path}.qas[{q}]"
                impossible = qa.get("is_impossible", False) if isinstance(qa, dict) else False
                if not isinstance(impossible, bool):
                    raise TestSetError(f"{name}, {qpath}, field 'is_impossible': expected true/false, got {impossible!r}")
                golds = []
                for i, ans in enumerate(need(qa, "answers", list, qpath)):
                    golds.append(need(ans, "text", str, f"{qpath}.answers[{i}]"))
                if not impossible and not golds:
                    raise TestSetError(f"{name}, {qpath}, field 'answers': empty but 'is_impossible' is not true")
                # The official SQuAD script drops gold answers that normalise to nothing (SQuAD 2.0
                # dev has "." as an answer); with none left only "no answer" scores, as here.
                kept = [g for g in golds if M.normalize_answer(g)]
                if len(kept) < len(golds):
                    skipped.append(qpath)
                    golds = kept
                    impossible = impossible or not kept
                entry = {k: qa[k] for k in ("id", "question") if k in qa}
                entry.update(answers=[] if impossible else golds, evidence=None if impossible else context)
                items.append(_Fields(f"{name}, {qpath}", entry).item(default_id=qpath))
                where.append(qpath)
    if skipped:
        log.warning("%s: skipped gold answers that are empty once normalised (as the official SQuAD script does) "
                    "in %d question(s), first %s", name, len(skipped), skipped[0])
    return _unique(items, where, name)


def read_testset(data: bytes, name: str = "test set") -> TestSet:
    """Parse test-set bytes, detecting JSON Lines, CSV or SQuAD JSON from the content."""
    if len(data) > MAX_BYTES:
        raise TestSetError(f"{name} is {len(data):,} bytes; the limit is {MAX_BYTES:,}")
    text = _decode(data, name)
    digest = hashlib.sha256(data).hexdigest()
    head = text.lstrip()
    if head.startswith("{"):
        try:
            whole = json.loads(text)
        except json.JSONDecodeError:
            whole = None  # several objects: JSON Lines (errors are reported per line)
        if isinstance(whole, dict) and "data" in whole and "question" not in whole:
            return TestSet(name, "squad", parse_squad(whole, name), digest)
        return TestSet(name, "jsonl", parse_jsonl(text, name), digest)
    if head.startswith("["):
        raise TestSetError(
            f"{name}: a JSON array is not a supported test set; write one object per line (JSON Lines) "
            "or use SQuAD JSON ({\"data\": [...]})"
        )
    return TestSet(name, "csv", parse_csv(text, name), digest)


def load_testset(path: str | Path) -> TestSet:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TestSetError(f"test set {path} does not exist") from None
    except IsADirectoryError:
        raise TestSetError(f"test set {path} is a folder, not a file") from None
    except OSError as e:
        raise TestSetError(f"cannot read test set {path} ({e.strerror})") from None
    ts = read_testset(data, path.name)
    ts.path = str(path)
    return ts
