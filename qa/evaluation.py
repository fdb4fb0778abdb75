"""Test sets in, per-question records and aggregate metrics out.

``load_testset(path)`` reads a test set, detecting the format from the content:

- JSON Lines: one ``{"id", "question", "answers": [...], "evidence"?, "history"?, "kind"?,
  "relevance"?}`` per line; ``answers: []`` marks an unanswerable question;
- CSV with a header row and the same columns (``answers`` separated by ``|``, an empty cell
  meaning unanswerable; ``history`` and ``relevance`` as JSON);
- SQuAD v1.1 / v2.0 JSON (``data[].paragraphs[].qas[]``; ``is_impossible``; the paragraph
  context is the evidence of its answerable questions).

Anything wrong raises ``TestSetError`` naming the line (row, or JSON path) and the field, and
nothing is evaluated: a test set is either read completely or rejected.

``run(qa, items)`` asks every question through ``QA.ask`` (the chat's entry point) and returns
one plain-dict record per question; ``summarize(records)`` computes every aggregate from those
records alone (see ``qa/metrics.py``), so a saved report can always be re-checked.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import metrics as M
from .errors import BadQuestionError, TestSetError

#: Citations requested per question: the hit@k curve and MRR@10 need ten. The citations a user
#: sees (the first ``top_k``) are a prefix of these, and the answer does not depend on the depth.
RETRIEVAL_DEPTH = 10
HIT_KS = (1, 3, 5)
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
    history: tuple[dict, ...] = ()  # earlier turns: {"role": "user"|"assistant", "content": str}
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
            out.append({"role": turn["role"], "content": turn["content"]})
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
            # a thumbs-down without a correction (qa/feedback.py): what was right is not known
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


# ---------------------------------------------------------------------------------------------
# Running


def record_for(item: TestItem, answer, latency_ms: float, top_k: int, threshold: float | None = None) -> dict:
    """The per-question record of a report (plain JSON values only).

    With ``threshold``, ``answer`` came from a run with the abstain threshold at 0 (so the answer
    a lower threshold would show is known, for the best-threshold figures) and the record shows
    what the threshold makes of it: the same as asking with it, since confidence does not depend
    on the threshold."""
    texts = [c.text for c in answer.citations]
    candidate = None if answer.abstained else answer.text
    pred = candidate if threshold is None or answer.score >= threshold else None
    # The highlighted (best) sentence of each citation: a sharper, sentence-level evidence match.
    marked = [c.text[c.highlight_start - c.start:c.highlight_end - c.start] if c.highlight_start is not None else ""
              for c in answer.citations]
    rank = M.evidence_rank(texts, item.evidence, marked) if item.evidence else None
    sentence_rank = M.evidence_rank(marked, item.evidence) if item.evidence else None
    return {
        "id": item.id,
        "question": item.question,
        "kind": item.kind,
        "answers": list(item.answers),
        "answerable": item.answerable,
        "has_evidence": item.evidence is not None,
        "evidence": item.evidence,
        "prediction": pred,
        "candidate": candidate,  # the answer a threshold of 0 shows
        "candidate_em": M.exact_match(candidate, item.answers),
        "candidate_f1": round(M.token_f1(candidate, item.answers), 4),
        "abstained": pred is None,
        "uncertain": bool(answer.uncertain) and pred is not None,
        "confidence": round(float(answer.score), 4),
        "em": M.exact_match(pred, item.answers),
        "f1": round(M.token_f1(pred, item.answers), 4),
        "contained": M.answer_contained(pred, item.answers),
        "evidence_rank": rank,
        "evidence_sentence_rank": sentence_rank,
        "ndcg@10": M.ndcg_at_k(texts, item.relevance, 10) if item.relevance else None,
        "words": M.word_count(pred),
        "latency_ms": round(latency_ms, 2),
        "question_type": answer.question_type,
        "signals": {k: float(v) for k, v in answer.signals.items()},  # full precision: calibration recomputes scores
        "citations": [{"n": c.n, "doc": c.doc, "section": c.section, "start": c.start, "end": c.end}
                      for c in answer.citations[:top_k]],
        "top_citation": " ".join(answer.citations[0].text.split()) if answer.citations else None,
        "error": None,
    }


def error_record(item: TestItem, error: str) -> dict:
    """A question the library refused (e.g. too long): scored as an abstention, flagged by ``error``."""
    rec = {
        "id": item.id, "question": item.question, "kind": item.kind, "answers": list(item.answers),
        "answerable": item.answerable, "has_evidence": item.evidence is not None, "evidence": item.evidence,
        "prediction": None, "candidate": None, "candidate_em": M.exact_match(None, item.answers),
        "candidate_f1": M.token_f1(None, item.answers),
        "abstained": True, "uncertain": False, "confidence": 0.0, "em": M.exact_match(None, item.answers),
        "f1": M.token_f1(None, item.answers), "contained": M.answer_contained(None, item.answers),
        "evidence_rank": None, "evidence_sentence_rank": None, "ndcg@10": 0.0 if item.relevance else None,
        "words": None, "latency_ms": 0.0,
        "question_type": None, "signals": {}, "citations": [], "top_citation": None, "error": error,
    }
    return rec


def run(
    qa,
    items: Sequence[TestItem],
    top_k: int | None = None,
    progress: bool = False,
    on_item: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Ask every question with ``qa.ask(question, history=item.history)``; one record each.

    ``top_k``: citations a user is shown (default: the QA's setting); retrieval metrics look at
    the first ``RETRIEVAL_DEPTH`` citations. ``progress`` shows a tqdm bar on stderr;
    ``on_item(done, total)`` is called after each question (for the web UI).
    """
    qa.warm_up()
    threshold = qa.settings.abstain_threshold
    if threshold > 0:  # asked at 0, records keep what lower thresholds would show
        qa = qa.with_settings(abstain_threshold=0.0)
        qa.warm_up()
    top_k = top_k or qa.settings.top_k
    depth = max(top_k, RETRIEVAL_DEPTH)
    records = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(items), desc="Evaluating", unit="q", leave=False)
    try:
        for i, item in enumerate(items, start=1):
            t0 = time.perf_counter()
            try:
                answer = qa.ask(item.question, history=list(item.history), top_k=depth)
            except BadQuestionError as e:
                records.append(error_record(item, str(e)))
            else:
                records.append(record_for(item, answer, (time.perf_counter() - t0) * 1000.0, top_k, threshold))
            if bar is not None:
                bar.update(1)
            if on_item is not None:
                on_item(i, len(items))
    finally:
        if bar is not None:
            bar.close()
    return records


def is_correct(rec: dict) -> bool:
    """Right answer shown (gold contained) for an answerable question; abstained otherwise."""
    return bool(rec["contained"])


def sure_scores(records: Sequence[dict]) -> dict:
    """How far the "uncertain" mark can be trusted: the share of shown answers marked sure, and
    the share of right answers among the sure and among the uncertain ones (None when empty)."""
    shown = [r for r in records if not r["abstained"]]
    sure = [r for r in shown if not r.get("uncertain")]
    unsure = [r for r in shown if r.get("uncertain")]
    # a shown answer is right when it contains a gold answer (is_correct): for an unanswerable
    # question, any shown answer is wrong
    return {"sure_share": len(sure) / len(shown) if shown else None,
            "sure_precision": M.mean(float(is_correct(r)) for r in sure),
            "uncertain_precision": M.mean(float(is_correct(r)) for r in unsure)}


def summarize(records: Sequence[dict]) -> dict:
    """Every aggregate metric, computed from the per-question records only."""
    ids = [r["id"] for r in records]
    by_id = dict(zip(ids, records))
    squad, _ = M.squad_scores({q: r["prediction"] for q, r in by_id.items()},
                              {q: r["answers"] for q, r in by_id.items()})
    out: dict = {"questions": len(records), "errors": sum(1 for r in records if r.get("error"))}
    out.update(squad)
    out.update(M.best_threshold([(r["confidence"], r["answerable"], r.get("candidate") is not None,
                                  r.get("candidate_em", r["em"]), r.get("candidate_f1", r["f1"])) for r in records]))
    out.update(M.abstention_scores({q: r["abstained"] for q, r in by_id.items()},
                                   {q: r["answerable"] for q, r in by_id.items()}))
    ranks = {q: r["evidence_rank"] for q, r in by_id.items() if r["has_evidence"]}
    retrieval, _ = M.retrieval_scores(ranks, HIT_KS, mrr_at=10)
    out["evidence_total"] = len(ranks)
    out.update(retrieval)
    sentence, _ = M.retrieval_scores({q: by_id[q]["evidence_sentence_rank"] for q in ranks}, (1, 3), mrr_at=10)
    out["sentence_hit@1"], out["sentence_hit@3"] = sentence["hit@1"], sentence["hit@3"]
    out["hit_curve"] = {str(k): v for k, v in M.hit_curve(ranks.values(), RETRIEVAL_DEPTH).items()}
    out.update(sure_scores(records))
    ndcg = [r["ndcg@10"] for r in records if r.get("ndcg@10") is not None]
    out["ndcg@10"], out["ndcg_total"] = M.mean(ndcg), len(ndcg)
    words = M.distribution(r["words"] for r in records if r["words"] is not None)
    out["words_median"], out["words_mean"] = words["median"], words["mean"]
    lat = M.distribution(r["latency_ms"] for r in records if not r.get("error"))
    out["latency_median_ms"], out["latency_p95_ms"] = lat["median"], lat["p95"]
    kinds: dict[str, list[dict]] = {}
    for r in records:
        kinds.setdefault(r.get("kind") or "-", []).append(r)
    if set(kinds) != {"-"}:
        out["by_kind"] = {
            k: {"questions": len(rs), "contained": M.mean(float(r["contained"]) for r in rs),
                "exact_match": M.mean(r["em"] for r in rs), "f1": M.mean(r["f1"] for r in rs),
                "abstained": M.mean(float(r["abstained"]) for r in rs)}
            for k, rs in sorted(kinds.items())
        }
    return out


#: The metrics of the summary table, in order: (key, label, format).
SUMMARY_ROWS: list[tuple[str, str, str]] = [
    ("questions", "questions", "n"),
    ("contained", "answer contained (all)", "%"),
    ("HasAns_contained", "answer contained (answerable)", "%"),
    ("exact_match", "exact match (all)", "%"),
    ("f1", "token F1 (all)", "%"),
    ("HasAns_exact_match", "exact match (answerable)", "%"),
    ("HasAns_f1", "token F1 (answerable)", "%"),
    ("best_f1", "token F1 at the best threshold (all)", "%"),
    ("best_f1_threshold", "best threshold for F1", "f"),
    ("NoAns_exact_match", "abstained (unanswerable)", "%"),
    ("abstention_precision", "abstention precision", "%"),
    ("abstention_recall", "abstention recall", "%"),
    ("abstention_f1", "abstention F1", "%"),
    ("false_abstention_rate", "false-abstention rate", "%"),
    ("hit@1", "evidence hit@1", "%"),
    ("hit@3", "evidence hit@3", "%"),
    ("hit@5", "evidence hit@5", "%"),
    ("mrr@10", "evidence MRR@10", "f"),
    ("sentence_hit@1", "evidence sentence hit@1", "%"),
    ("sentence_hit@3", "evidence sentence hit@3", "%"),
    ("ndcg@10", "nDCG@10 (graded)", "f"),
    ("sure_share", "answers shown as sure", "%"),
    ("sure_precision", "right among sure answers", "%"),
    ("uncertain_precision", "right among uncertain answers", "%"),
    ("words_median", "answer words (median)", "f1"),
    ("words_mean", "answer words (mean)", "f1"),
    ("latency_median_ms", "latency median (ms)", "f1"),
    ("latency_p95_ms", "latency p95 (ms)", "f1"),
    ("errors", "questions refused", "n"),
]


def fmt(value, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "%":
        return f"{100 * value:.1f}%"
    if kind == "n":
        return str(int(value))
    if kind == "f1":
        return f"{value:.1f}"
    return f"{value:.3f}"


def summary_rows(metrics: dict) -> list[tuple[str, str]]:
    rows = []
    for key, label, kind in SUMMARY_ROWS:
        if key == "ndcg@10" and not metrics.get("ndcg_total"):
            continue
        if key in ("HasAns_contained", "HasAns_exact_match", "HasAns_f1") and not metrics.get("HasAns_total"):
            continue
        if key == "NoAns_exact_match" and not metrics.get("NoAns_total"):
            continue
        value = metrics.get(key)
        if key == "questions":
            rows.append((label, f"{value} ({metrics.get('HasAns_total', 0)} answerable, "
                                f"{metrics.get('NoAns_total', 0)} unanswerable, {metrics.get('evidence_total', 0)} with evidence)"))
        else:
            rows.append((label, fmt(value, kind)))
    return rows


def summary_table(metrics: dict) -> str:
    rows = summary_rows(metrics)
    width = max(len(label) for label, _ in rows)
    lines = [f"{label:<{width}}  {value}" for label, value in rows]
    if metrics.get("by_kind"):
        lines += ["", f"{'kind':<14}{'n':>5}{'contained':>11}{'EM':>8}{'F1':>8}{'abstained':>11}"]
        for k, m in metrics["by_kind"].items():
            lines.append(f"{k:<14}{m['questions']:>5}{fmt(m['contained'], '%'):>11}{fmt(m['exact_match'], '%'):>8}"
                         f"{fmt(m['f1'], '%'):>8}{fmt(m['abstained'], '%'):>11}")
    return "\n".join(lines)


def evaluate(qa, testset: TestSet | Iterable[TestItem], top_k: int | None = None, progress: bool = False,
             on_item=None) -> tuple[list[dict], dict]:
    """``run`` + ``summarize``: (records, metrics)."""
    items = testset.items if isinstance(testset, TestSet) else list(testset)
    records = run(qa, items, top_k=top_k, progress=progress, on_item=on_item)
    return records, summarize(records)
