"""How a (question, passage) pair becomes model input, and how span logits become an answer.

Shared by training (``qa.reader.train``) and serving (``qa.reader.onnx_reader``) so the two can
never disagree on tokenisation, truncation or decoding. Only numpy and ``tokenizers`` here: the
server never imports torch.

Input layout (BERT pair encoding): ``[CLS] question [SEP] passage [SEP]``. Position 0 ([CLS])
stands for "this passage does not answer": a negative example points both its start and its end
there, and at serving time its score is the no-answer score the best span must beat.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Longest input in tokens. Serving passages are a sentence with its neighbours (about 100
#: tokens); training windows are drawn up to the same size.
MAX_LENGTH = 192
#: Questions are cut to this many tokens (a pasted paragraph must not crowd out the passage).
MAX_QUESTION_TOKENS = 48
#: Longest answer span considered, in tokens.
MAX_ANSWER_TOKENS = 30


def load_tokenizer(model_dir: Path):
    """The word-piece tokenizer of the packaged MiniLM (``tokenizer.json``), with no padding or
    truncation of its own: ``encode_pairs`` assembles and pads the pairs itself."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok


@dataclass
class Encoded:
    """A padded batch. ``offsets[r][t]`` is the (start, end) character span in passage ``r`` of
    token ``t``, or (-1, -1) for [CLS], the question, [SEP] and padding."""

    input_ids: np.ndarray  # (n, length) int64
    attention_mask: np.ndarray
    token_type_ids: np.ndarray
    offsets: np.ndarray  # (n, length, 2) int64
    passage_ends: np.ndarray  # (n,) index of the final [SEP]; passage tokens lie before it

    def feed(self) -> dict[str, np.ndarray]:
        return {"input_ids": self.input_ids, "attention_mask": self.attention_mask,
                "token_type_ids": self.token_type_ids}


def encode_pairs(tok, questions: list[str], passages: list[str], max_length: int = MAX_LENGTH) -> Encoded:
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    pad = tok.token_to_id("[PAD]") or 0
    qs = tok.encode_batch(list(questions), add_special_tokens=False)
    ps = tok.encode_batch(list(passages), add_special_tokens=False)
    rows = []
    for q, p in zip(qs, ps):
        q_ids = q.ids[:MAX_QUESTION_TOKENS]
        room = max_length - len(q_ids) - 3
        p_ids, p_off = p.ids[:room], p.offsets[:room]
        rows.append((q_ids, p_ids, p_off))
    length = max(len(q) + len(p) + 3 for q, p, _ in rows)
    n = len(rows)
    ids = np.full((n, length), pad, dtype=np.int64)
    mask = np.zeros((n, length), dtype=np.int64)
    types = np.zeros((n, length), dtype=np.int64)
    offsets = np.full((n, length, 2), -1, dtype=np.int64)
    ends = np.zeros(n, dtype=np.int64)
    for r, (q_ids, p_ids, p_off) in enumerate(rows):
        first = len(q_ids) + 2  # first passage token
        last = first + len(p_ids)  # the closing [SEP]
        ids[r, :last + 1] = [cls, *q_ids, sep, *p_ids, sep]
        mask[r, :last + 1] = 1
        types[r, first:last + 1] = 1
        if p_off:
            offsets[r, first:last] = p_off
        ends[r] = last
    return Encoded(ids, mask, types, offsets, ends)


def token_targets(enc: Encoded, row: int, start: int, end: int) -> tuple[int, int] | None:
    """Token (start, end) covering characters ``[start, end)`` of passage ``row``, or None when
    the span was cut off by truncation (the caller drops such an example)."""
    off = enc.offsets[row]
    first, last = None, None
    for t in range(1, int(enc.passage_ends[row])):
        s, e = off[t]
        if s < 0:
            continue
        if first is None and e > start:
            first = t
        if s < end:
            last = t
    if first is None or last is None or last < first or off[last][1] < end:
        return None
    return first, last


@dataclass(frozen=True)
class Span:
    """The best answer a passage offers: characters ``[start, end)`` of the passage, its score
    (start + end logit) and the passage's no-answer score ([CLS] start + end logit)."""

    start: int
    end: int
    score: float
    null: float

    @property
    def margin(self) -> float:
        """How far the span beats "no answer"; the pipeline declines below a calibrated margin."""
        return self.score - self.null


def best_spans(enc: Encoded, start_logits: np.ndarray, end_logits: np.ndarray,
               max_answer_tokens: int = MAX_ANSWER_TOKENS, widen: float = 0.0,
               allowed: list[list[tuple[int, int]] | None] | None = None) -> list[Span | None]:
    """The best-scoring span of each row (start <= end, at most ``max_answer_tokens`` long,
    passage tokens only); None for a row with no passage tokens. With ``widen``, the longest span
    around the best one that scores within ``widen`` of it (its score stays the best one's).
    ``allowed[r]``, where not None, are the character ranges of row ``r``'s passage a span may lie
    in (one range; none: the row gives no span)."""
    out: list[Span | None] = []
    for r in range(len(start_logits)):
        last = int(enc.passage_ends[r])
        first = last - int((enc.token_type_ids[r, :last] == 1).sum())
        if last <= first:
            out.append(None)
            continue
        s = start_logits[r, first:last].astype(np.float64)
        e = end_logits[r, first:last].astype(np.float64)
        n = last - first
        scores = s[:, None] + e[None, :]
        i, j = np.indices((n, n))
        scores[(j < i) | (j - i >= max_answer_tokens)] = -np.inf
        ranges = allowed[r] if allowed else None
        if ranges is not None:
            off = enc.offsets[r][first:last]
            inside = np.array([[lo <= off[k][0] and off[k][1] <= hi for lo, hi in ranges] for k in range(n)],
                              dtype=bool).reshape(n, len(ranges))
            scores[~(inside[:, None, :] & inside[None, :, :]).any(axis=2)] = -np.inf  # start and end in one range
            if not np.isfinite(scores).any():
                out.append(None)
                continue
        flat = int(np.argmax(scores))
        a, b = divmod(flat, n)
        best = float(scores[a, b])
        if widen > 0:
            around = (i <= a) & (j >= b) & (scores >= best - widen)
            ii, jj = np.nonzero(around)
            k = int(np.argmax(jj - ii))
            a, b = int(ii[k]), int(jj[k])
        off = enc.offsets[r]
        out.append(Span(int(off[first + a][0]), int(off[first + b][1]), best,
                        float(start_logits[r, 0]) + float(end_logits[r, 0])))
    return out
