"""Tables that are not ruled as grids, found from where their words stand on the page.

Many statements draw only horizontal rules, or none: their columns of figures are aligned by
position. pdfplumber's ruled-table finder sees no cells in them, and read as lines, a figure
loses its column heading. Here a page's words (with their boxes) are grouped into visual rows,
each row cut into *segments* where the gap between two words is wider than a space can be;
then a table is

- a **body**: at least two rows whose segments after the first (the row label) are all figures
  ("12,018", "(3,120)", "4.8%", "$ 1,234" with its sign set apart, "–", "n/a"; dot leaders are
  left out), standing in the same columns (their extents overlap), with only a few label-only
  rows between them (sub-headings; a label wrapped onto a second line is joined to its row); a
  figure alone in a column of its own ends the table before its row;
- under up to four **heading rows** just above it, whose segments stand over the columns (a
  heading over two columns spans both; "Six months ended" over "31 December 2023" joins into one
  heading); a caption at the left, a line of prose or a row of figures ends the headings.

Prose, lists and two-column text have no row of aligned figures after a label, so they stay
text; a table needs a heading row or two columns of figures, so a contents page (titles and
their page numbers) stays text too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

#: Two words further apart than this share of their height stand in different cells (a space,
#: even stretched in justified text, is narrower than the letter height).
GAP = 0.9
#: ... and two figures further apart than this share are two cells (a narrow column gap).
FIGURES_GAP = 0.4
#: Rows further apart than this many row heights are not one table.
ROW_GAP = 2.2
#: Heading rows looked for above a table body.
HEADING_ROWS = 4
_FIGURE = re.compile(r"^[(\-–−]?(US)?[£$€¥]?\s?\d[\d,.]*\s?%?\)?$|^(US)?[£$€¥]?\s?([–—-]|nil|n/?a|n\.?m\.?)$", re.I)
_LEADER = re.compile(r"^[.·…_]{3,}$")
CURRENCY = {"$", "£", "€", "¥", "US$", "($", "(£", "(€"}
#: A label line ending so goes on on the next line ("Purchase of property, plant and" ...).
_GOES_ON = re.compile(r"(,|-|\b(and|of|for|to|in|on|from|the|or|by|with|at))$", re.I)
_YEAR = re.compile(r"^(19|20)\d\d$")


@dataclass(frozen=True)
class Word:
    x0: float
    top: float
    x1: float
    bottom: float
    text: str


@dataclass
class _Segment:
    x0: float
    top: float
    x1: float
    bottom: float
    text: str

    @property
    def figure(self) -> bool:
        return bool(_FIGURE.match(self.text))


@dataclass
class _Row:
    top: float
    bottom: float
    segments: list[_Segment]

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @cached_property
    def figures(self) -> list[_Segment] | None:
        """The row's figures after its label, when all its other segments are figures."""
        rest = self.segments[1:] if not self.segments[0].figure else self.segments
        if rest and all(s.figure for s in rest) and any(not _YEAR.match(s.text) for s in rest):
            return rest
        return None


@dataclass
class Found:
    """A table: heading rows then body rows, a cell's text (None: spanned by the heading to its
    left) and its box in points (x0, top, x1, bottom) or None; ``bbox`` around all of it; the
    first ``head`` rows are headings."""

    rows: list[list[str | None]]
    boxes: list[list[tuple[float, float, float, float] | None]]
    bbox: tuple[float, float, float, float]
    head: int


def is_figure(token: str) -> bool:
    """Whether a word or cell is a figure ("12,018", "(3,120)", "4.8%", "$ 1,234", "–", "n/a")."""
    return bool(_FIGURE.match(token))


def find(words: list[Word]) -> list[Found]:
    """The tables of aligned figure columns among a page's words (see the module docstring)."""
    rows = _rows(words)
    out: list[Found] = []
    i = taken = 0  # rows before ``taken`` belong to a table found already
    while i < len(rows):
        end, columns = _body(rows, i)
        if columns is not None:
            head = _headings(rows, i, end, columns, taken)
            if head or len(columns) >= 2:
                out.append(_grid(rows[i - head:end], head, columns))
                taken = end
        i = max(end, i + 1)  # rows a failed body ran over are not tried again: linear in the rows
    return out


def _rows(words: list[Word]) -> list[_Row]:
    """Words grouped into visual rows (a word whose middle lies within a row's height joins it),
    top to bottom, each cut into segments at wide gaps."""
    rows: list[list[Word]] = []
    words = [w for w in words if not _LEADER.match(w.text)]  # dot leaders ("Revenue ....... 1,234")
    for w in sorted(words, key=lambda w: ((w.top + w.bottom) / 2, w.x0)):
        mid = (w.top + w.bottom) / 2
        if rows and rows[-1][0].top <= mid <= rows[-1][0].bottom:
            rows[-1].append(w)
        else:
            rows.append([w])
    out = []
    for ws in rows:
        ws.sort(key=lambda w: w.x0)
        segs: list[_Segment] = []
        for w in ws:
            height = w.bottom - w.top
            gap = w.x0 - segs[-1].x1 if segs else 0.0
            # two figures side by side are two cells unless a mere space parts them ("12 018")
            apart = gap > FIGURES_GAP * height and _FIGURE.match(w.text) and _FIGURE.match(segs[-1].text)
            # a currency sign set apart in its column belongs to the figure after it ("$   1,234"),
            # never to the figure of the column before
            sign = bool(segs) and segs[-1].text in CURRENCY and bool(_FIGURE.match(w.text))
            apart = apart or (w.text in CURRENCY and bool(segs) and bool(_FIGURE.match(segs[-1].text)))
            if segs and (gap <= GAP * height or sign) and not apart:
                s = segs[-1]
                s.x1, s.top, s.bottom = max(s.x1, w.x1), min(s.top, w.top), max(s.bottom, w.bottom)
                s.text += " " + w.text
            else:
                segs.append(_Segment(w.x0, w.top, w.x1, w.bottom, w.text))
        out.append(_Row(min(w.top for w in ws), max(w.bottom for w in ws), segs))
    return out


def _near(a: _Row, b: _Row) -> bool:
    return b.top - a.bottom <= ROW_GAP * max(a.height, b.height)


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _add(columns: list[tuple[float, float, int]], figures: list[_Segment]) -> list[tuple[float, float, int]] | None:
    """The columns (x0, x1, rows in it) with one more row's figures in them, left to right; None
    when the row does not fit: a figure across two columns, two figures in one, or a column
    grown into its neighbour."""
    out = list(columns)
    used = set()
    for s in figures:
        hit = [j for j, (c0, c1, _) in enumerate(out) if _overlap(s.x0, s.x1, c0, c1) > 0]
        if len(hit) > 1 or set(hit) & used:
            return None
        if hit:
            c0, c1, n = out[hit[0]]
            out[hit[0]] = (min(c0, s.x0), max(c1, s.x1), n + 1)
            used.add(hit[0])
        else:
            out.append((s.x0, s.x1, 1))
            used.add(len(out) - 1)
    out.sort()
    if any(a[1] > b[0] for a, b in zip(out, out[1:])):
        return None
    return out


def _body(rows: list[_Row], i: int) -> tuple[int, list[list[float]] | None]:
    """The end (exclusive) of the rows of figures starting at row ``i``, and their columns when
    they are a table body (else None)."""
    if rows[i].figures is None or (columns := _add([], rows[i].figures)) is None:
        return i + 1, None
    end = i + 1
    last = i  # the last row with figures
    k = i + 1
    while k < len(rows) and _near(rows[k - 1], rows[k]) and k - last <= 2:
        if rows[k].figures is not None:
            grown = _add(columns, rows[k].figures)
            if grown is None:
                break
            columns, last, end = grown, k, k + 1
        elif len(rows[k].segments) != 1 or rows[k].segments[0].x1 > columns[0][0]:
            break  # two texts on a line, or one running into the figures: not a label of this table
        k += 1
    while any(n < 2 for _, _, n in columns):  # a figure alone in its column ends the table before its row
        c0, c1, _ = next(c for c in columns if c[2] < 2)
        odd = next(k for k in range(i, end) if rows[k].figures and any(
            _overlap(s.x0, s.x1, c0, c1) > 0 for s in rows[k].figures))
        kept = [k for k in range(i, odd) if rows[k].figures is not None]
        if len(kept) < 2:
            return end, None
        end, columns = kept[-1] + 1, []
        for k in kept:  # the same rows in the same order as before: each fits again
            columns = _add(columns, rows[k].figures)
    figure_rows = [r for r in rows[i:end] if r.figures is not None]
    if len(figure_rows) < 2:
        return end, None
    labelled = [r for r in figure_rows if not r.segments[0].figure]
    if 2 * len(labelled) < len(figure_rows) or any(r.segments[0].x1 > columns[0][0] for r in labelled):
        return end, None  # figures without labels (a chart's axis), or a label running into them (prose)
    return end, [[c0, c1] for c0, c1, _ in columns]


def _spans(segments: list[_Segment], columns: list[list[float]]) -> list[list[int]]:
    """The columns each heading segment stands over: every column goes to the segment nearest
    its middle, within half the distance between columns (a heading centred over two columns
    spans both; a heading over one column leaves its neighbours without one)."""
    mids = [(c0 + c1) / 2 for c0, c1 in columns]
    pitch = min((b - a for a, b in zip(mids, mids[1:])), default=float("inf"))
    out: list[list[int]] = [[] for _ in segments]
    for j, mid in enumerate(mids):
        dist = [max(0.0, s.x0 - mid, mid - s.x1) for s in segments]
        k = min(range(len(segments)), key=dist.__getitem__)
        if dist[k] <= pitch / 2:
            out[k].append(j)
    for k, s in enumerate(segments):
        if not out[k]:  # a heading off every column's middle: the nearest column's
            centre = (s.x0 + s.x1) / 2
            out[k] = [min(range(len(mids)), key=lambda j: abs(centre - mids[j]))]
    return out


def _headings(rows: list[_Row], i: int, end: int, columns: list[list[float]], taken: int) -> int:
    """How many rows above row ``i`` are the table's heading rows: each has a segment over the
    columns that does not start at the labels' left edge (where a caption or prose starts)."""
    left = columns[0][0]
    margin = min(r.segments[0].x0 for r in rows[i:end]) + 2 * rows[i].height
    head = 0
    while head < HEADING_ROWS and i - head - 1 >= taken:
        row = rows[i - head - 1]
        if not _near(row, rows[i - head]) or any(s.figure and not _YEAR.match(s.text) for s in row.segments):
            break  # far above, or a row of figures (another table's, or one this table could not take)
        over = [s for s in row.segments if s.x1 > left]
        if not over or len(row.segments) - len(over) > 1 or any(s.x0 < margin for s in over):
            break
        head += 1
    return head


def _grid(rows: list[_Row], head: int, columns: list[list[float]]) -> Found:
    width = len(columns) + 1
    left = columns[0][0]
    texts: list[list[str | None]] = []
    boxes: list[list[tuple[float, float, float, float] | None]] = []
    for k, row in enumerate(rows):
        cells: list[str | None] = [""] * width
        where: list[tuple[float, float, float, float] | None] = [None] * width
        over = []
        for s in row.segments:
            if s.x1 <= left or (k >= head and s is row.segments[0] and not s.figure):
                cells[0], where[0] = f"{cells[0]} {s.text}".strip(), (s.x0, s.top, s.x1, s.bottom)
            elif k < head:
                over.append(s)
            else:
                j = max(range(len(columns)), key=lambda j: _overlap(s.x0, s.x1, *columns[j]))
                cells[j + 1], where[j + 1] = s.text, (s.x0, s.top, s.x1, s.bottom)
        for s, span in zip(over, _spans(over, columns)) if over else ():
            first = min(span)
            if cells[first + 1]:
                continue  # two headings nearest one column: the first (leftmost) keeps it
            cells[first + 1], where[first + 1] = s.text, (s.x0, s.top, s.x1, s.bottom)
            for j in range(first + 1, max(span) + 1):
                cells[j + 1] = None
        texts.append(cells)
        boxes.append(where)
    texts, boxes = _join_wrapped(texts, boxes, head)
    x0 = min(s.x0 for r in rows for s in r.segments)
    x1 = max(s.x1 for r in rows for s in r.segments)
    return Found(texts, boxes, (x0, rows[0].top, x1, rows[-1].bottom), head)


def _join_wrapped(texts, boxes, head: int):
    """A body row holding only a label, followed by a row whose label goes on in lower case (or
    that ends in "and", "of", a comma...), is one label wrapped onto two lines: joined into the
    second row."""
    out_t, out_b = texts[:head], boxes[:head]
    for t, b in zip(texts[head:], boxes[head:]):
        prev = out_t[-1] if len(out_t) > head else None
        if prev is not None and prev[0] and not any(prev[1:]) and t[0] and (
                t[0][:1].islower() or _GOES_ON.search(prev[0])):
            t = [f"{prev[0]} {t[0]}", *t[1:]]
            out_t.pop()
            out_b.pop()
        out_t.append(t)
        out_b.append(b)
    return out_t, out_b
