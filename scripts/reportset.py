"""A small set of company reports as PDFs, with questions, to measure how real documents are read.

The documents are made up (a fictional company, written for this set and free to use) and generated
here with fpdf2, so nothing is downloaded and nothing large is committed:

- ``annual-report-2023.pdf``: a six-page annual report with a cover, a PDF outline, a narrative
  whose sentences cross page breaks, headings in a larger or bold font, two financial tables
  (year columns under "Three months ended" / "Twelve months ended" headers), auditor boilerplate,
  a running footer with page numbers, and junk metadata ("Microsoft Word - ...");
- ``q3-trading-update.pdf``: the same company's quarterly update, an accession-number title,
  no outline, a table with three- and nine-month columns;
- ``half-year-report-2024.pdf``: the half-year report, whose tables are not ruled as grids: the
  income statement has horizontal rules only and two-line column headings in one cell ("Six
  months ended" over "31 December 2023"), the cash flow statement no rules at all, its columns
  of figures aligned by position under a two-row heading; beside them prose with figures and a
  numbered list, which must stay text;
- ``agm-notice.pdf``: a one-page notice rendered to an image and wrapped into a PDF (a scan, no
  text layer: only OCR reads it).

Each question has its gold answer, the document and page holding the evidence, and evidence
strings that a citation must contain. ``--eval`` builds an index of the set (plus the seed article
as a distractor) with the real model and reports, per question and overall:

- ``doc_first``: the right document is cited first;
- ``page_top3``: the evidence page is the page of one of the first 3 citations;
- ``evidence_top3``: one of the first 3 citations contains every evidence string;
- ``answer_holds``: the answer contains the gold figure or phrase;
- ``answer_clean``: ... and no other figure (an answer "3,985 3,280 7,402" read across a table
  row holds the gold "3,985" but does not say which of the three it is).

    python scripts/reportset.py make DIR           # write the PDFs into DIR
    python scripts/reportset.py eval [--work DIR]  # build and measure (prints JSON)
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMPANY = "Harrow Lane Foods plc"

# ---- the documents -------------------------------------------------------------------------

CHAIRMAN = [
    "Harrow Lane Foods is headquartered in Kettering and employs 2,340 people across nine sites. "
    "This year we served more customers than ever before, and our bakeries ran at full capacity "
    "from September onwards.",
    "Margaret Okafor became chairman of the board in November 2022, succeeding Alan Petrie, who "
    "retired after eleven years. The board thanks Alan for his careful stewardship.",
    "During the year the company opened four new bakeries, in Corby, Wellingborough, Daventry and "
    "Rushden. Each bakery supplies fresh bread to stores within forty miles by six in the morning. "
    "Our apprenticeship scheme trained 86 new bakers, the largest intake in the company's history. "
    "Food waste fell for the third year running, and surplus loaves now go to 140 community larders. "
    "Customers told us that freshness matters more than range, and we have acted on that.",
    "Trading in the second half was strong despite high flour prices. The board recommends a final "
    "dividend of 6.2 pence per share, bringing the total for the year to 9.1 pence per share, "
    "subject to approval by shareholders at the annual general meeting.",
]
FILLER = [
    "Our suppliers, most of them farms within a day's drive of Kettering, kept us supplied through a wet "
    "harvest that cut the wheat yield of the region by a fifth. We are grateful to them, and to every "
    "colleague who baked, packed and drove through a long winter of storms and closed roads.",
    "Our people remain the heart of the business. Colleague turnover fell again, and more than half of "
    "our shift managers joined us as apprentices. We raised the wages of our bakers twice in the year and "
    "introduced a second paid volunteering day, which colleagues spent at food banks and school kitchens.",
    "The board met eleven times during the year. It reviewed the company's strategy in March, visited "
    "every bakery at least once, and held an open meeting with colleagues at each site. The board also "
    "approved a new policy on the sourcing of palm oil, which the company no longer buys.",
    "Our customers faced another year of rising prices. We held the price of our standard white loaf for "
    "nine months, absorbed part of the increase in flour costs, and extended our range of smaller loaves "
    "for households of one or two people, which now make up a third of our bread sales.",
    "Sustainability is part of how we bake. Two of our sites now run on electricity bought under a long "
    "contract with a wind farm in Lincolnshire, and our delivery fleet of vans is being replaced with "
    "electric ones as leases end. Packaging is lighter, and nearly all of it can be recycled at home.",
    "Safety comes first in every bakery and depot. The number of accidents that kept a colleague away "
    "from work for more than a week fell from nine to five, and every site passed its food safety audit "
    "with the highest grade. We thank the teams who made this possible in a year of expansion.",
    "Looking further ahead, the board sees room for growth in the Midlands and the East of England, where "
    "many towns still have no local bakery. We will grow carefully, opening sites only where we can hire "
    "and train the bakers they need, and only where our vans can reach every store before breakfast.",
]
OPERATIONS = [
    ("Bakery division",
     "The bakery division produced 212 million loaves during the year. Its Leicester site added a "
     "second proving room, which shortened the night shift by an hour. Sales of rolls and buns to cafes "
     "grew by a quarter. The division also began baking gluten-free bread at its Corby site, which now ships "
     "30,000 loaves a week, and won a five-year contract to bake for the Nene Valley hospital trust."),
    ("Chilled foods division",
     "The chilled foods division supplies 1,150 convenience stores with sandwiches, salads and ready "
     "meals. Deliveries leave the Northampton depot every night at ten o'clock."),
]
FINANCIAL = (
    "Revenue grew in both divisions, helped by price increases in the first half and higher volumes "
    "in the second. Capital expenditure was 6.4 million pounds, mainly on the new Leicester oven line. "
    "Net debt at the year end was 18.2 million pounds."
)
RESULTS_HEADER = [["", "Three months ended 30 June", None, "Twelve months ended 30 June", None],
                  ["", "2023", "2022", "2023", "2022"]]
RESULTS = [["Revenue", "21,900", "19,640", "84,120", "76,550"],
           ["Gross profit", "6,870", "6,012", "26,480", "23,390"],
           ["Adjusted EBITDA", "3,105", "2,871", "12,018", "10,944"],
           ["Operating profit", "1,988", "1,702", "7,402", "6,310"]]
SEGMENT_HEADER = [["Division", "2023", "2022"]]
SEGMENTS = [["Bakery", "44,210", "40,870"], ["Chilled foods", "31,480", "28,020"], ["Beverages", "8,430", "7,660"]]
OUTLOOK = ("The board expects the new Leicester oven line to reach full output in March 2024. "
           "We will open two more bakeries next year, both in Lincolnshire.")
AUDITOR = [
    "We have audited the financial statements of Harrow Lane Foods plc for the year ended 30 June 2023, "
    "which comprise the income statement, the balance sheet, the statement of changes in equity, the "
    "cash flow statement and the related notes.",
    "In our opinion the financial statements give a true and fair view of the state of the group's "
    "affairs and of its profit for the year, and have been properly prepared in accordance with UK "
    "adopted international accounting standards.",
    "We conducted our audit in accordance with International Standards on Auditing. Our responsibilities "
    "are described in the auditor's responsibilities section of our report. We are independent of the "
    "group in accordance with the ethical requirements relevant to our audit of the financial statements.",
    "Pellow & Marsh LLP, Statutory Auditor, Northampton, 14 September 2023.",
]

Q3_INTRO = [
    "Group revenue for the quarter rose to 22,640 thousand pounds. Like-for-like sales grew 4.8% in the "
    "third quarter, led by the chilled foods division.",
    "Energy costs fell by 12% compared with the same quarter last year, after the company fixed its gas "
    "price until 2026.",
]
Q3_HEADER = [["", "Three months ended 31 March", None, "Nine months ended 31 March", None],
             ["", "2024", "2023", "2024", "2023"]]
Q3_ROWS = [["Revenue", "22,640", "20,410", "68,950", "62,300"],
           ["Adjusted EBITDA", "3,320", "2,940", "9,512", "8,655"],
           ["Operating profit", "2,104", "1,815", "5,960", "5,120"],
           ["Free cash flow", "1,250", "980", "3,610", "3,044"]]
Q3_OUTLOOK = [
    "Trading since the end of the quarter has been in line with the board's expectations.",
    "The interim dividend of 2.9 pence per share will be paid on 14 June 2024 to shareholders on the "
    "register on 17 May 2024.",
]
HALF_INTRO = [
    "Revenue for the six months ended 31 December 2023 grew in both divisions, helped by the four "
    "bakeries opened last year. The board has declared an interim dividend of 3.0 pence per share.",
    "Flour prices eased from their peak in 2022, and the group renewed its wheat contracts with 14 "
    "farms for two more harvests.",
]
HALF_HEADER = [["", "Six months ended\n31 December 2023", "Six months ended\n31 December 2022",
                "Year ended\n30 June 2023"]]
HALF_ROWS = [["Revenue", "43,870", "40,260", "84,120"],
             ["Cost of sales", "(30,050)", "(27,990)", "(57,640)"],
             ["Gross profit", "13,820", "12,270", "26,480"],
             ["Distribution and administrative costs", "(9,835)", "(8,990)", "(19,078)"],
             ["Operating profit", "3,985", "3,280", "7,402"],
             ["Finance costs", "(358)", "(331)", "(692)"],
             ["Profit before tax", "3,627", "2,949", "6,710"]]
CASH_HEADER = [["", "Six months to", "Six months to"], ["", "31 December 2023", "31 December 2022"]]
CASH_ROWS = [["Cash generated from operations", "5,840", "4,915"],
             ["Tax paid", "(610)", "(540)"],
             ["Purchase of property, plant and equipment", "(3,120)", "(2,480)"],
             ["Dividends paid", "(2,150)", "(1,980)"],
             ["Net increase in cash", "1,960", "(85)"]]
HALF_RISKS = [
    "1. Flour and energy prices, which the group hedges for up to eighteen months ahead.",
    "2. The supply of skilled bakers, addressed by the apprenticeship scheme of 86 places.",
    "3. Food safety at 9 sites, each audited twice a year by an outside inspector.",
]
NOTICE = [
    "Notice is hereby given that the annual general meeting of Harrow Lane Foods plc will be held at the "
    "Corn Exchange, Kettering on 16 November 2023 at eleven o'clock in the morning.",
    "The final dividend of 6.2 pence per share will be paid on 1 December 2023 to shareholders on the "
    "register at the close of business on 20 October 2023.",
    "Shareholders may appoint a proxy to attend, speak and vote instead of them. Proxy forms must reach "
    "the registrar, Fenwick Share Services, no later than 14 November 2023.",
]


class _Writer:
    """fpdf2 with the few layouts the reports use."""

    def __init__(self, title: str, outline: bool, footer: str = ""):
        from fpdf import FPDF

        class Paged(FPDF):
            def footer(self):  # a running footer with the page number, as printed reports have
                if footer and self.page_no() > 1:
                    self.set_y(-14)
                    self.set_font("helvetica", "", 8)
                    self.cell(0, 6, f"{footer}  |  {self.page_no()}", align="C")

        self.pdf = Paged(format="A4")
        self.pdf.set_title(title)
        self.pdf.set_auto_page_break(True, margin=20)
        self.outline = outline

    def cover(self, big: str, sub: str, line: str) -> None:
        self.pdf.add_page()
        self.pdf.set_y(80)
        self.pdf.set_font("helvetica", "B", 26)
        self.pdf.multi_cell(0, 14, big, new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_font("helvetica", "", 18)
        self.pdf.multi_cell(0, 12, sub, new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_font("helvetica", "", 11)
        self.pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")

    def heading(self, text: str, level: int = 0) -> None:
        if self.outline:
            self.pdf.start_section(text, level=level)
        self.pdf.ln(3)
        self.pdf.set_font("helvetica", "B", 15 if level == 0 else 12)
        self.pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")

    def para(self, text: str) -> None:
        self.pdf.set_font("helvetica", "", 11)
        self.pdf.multi_cell(0, 5.5, text, new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(3)

    def table(self, caption: str, header: list[list], rows: list[list], borders: str = "ALL") -> None:
        self.pdf.set_font("helvetica", "", 11)
        self.pdf.multi_cell(0, 6, caption, new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_font("helvetica", "", 10)
        ncol = len(rows[0])
        widths = (60,) + (120 / (ncol - 1),) * (ncol - 1)
        with self.pdf.table(col_widths=widths, text_align=("LEFT",) + ("RIGHT",) * (ncol - 1),
                            num_heading_rows=len(header), first_row_as_headings=True,
                            borders_layout=borders) as table:
            for hrow in header:
                r = table.row()
                i = 0
                while i < len(hrow):
                    span = 1
                    while i + span < len(hrow) and hrow[i + span] is None:
                        span += 1
                    r.cell(hrow[i] or "", colspan=span, align="CENTER" if span > 1 else None)
                    i += span
            for row in rows:
                r = table.row()
                for cell in row:
                    r.cell(cell)
        self.pdf.ln(4)

    def open_table(self, caption: str, header: list[list], rows: list[list], label_width: float = 80,
                   width: float = 40) -> None:
        """A table without any rule: a label column and columns of figures aligned by position
        (right-aligned), under heading rows, as many filings print their statements."""
        self.pdf.set_font("helvetica", "", 11)
        self.pdf.multi_cell(0, 6, caption, new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(2)
        for k, row in enumerate(header + rows):
            self.pdf.set_font("helvetica", "B" if k < len(header) else "", 10)
            self.pdf.cell(label_width, 6, row[0])
            for cell in row[1:]:
                self.pdf.cell(width, 6, cell, align="R")
            self.pdf.ln(6)
        self.pdf.ln(4)

    def bytes(self) -> bytes:
        return bytes(self.pdf.output())


def annual_report() -> bytes:
    w = _Writer("Microsoft Word - HLF_AR23_final_v7.docx", outline=True, footer=f"{COMPANY} Annual Report 2023")
    w.cover(COMPANY, "Annual Report 2023", "For the twelve months ended 30 June 2023")
    w.pdf.add_page()
    w.heading("Chairman's statement")
    for p in CHAIRMAN[:3] + FILLER + CHAIRMAN[3:]:  # the last paragraph runs onto the next page
        w.para(p)
    w.heading("Operations review")
    for title, text in OPERATIONS:
        w.heading(title, level=1)
        w.para(text)
    w.pdf.add_page()
    w.heading("Financial review")
    w.para(FINANCIAL)
    w.table("Summary of results (thousand pounds)", RESULTS_HEADER, RESULTS)
    w.para("Adjusted EBITDA excludes restructuring costs of 420 thousand pounds in the year.")
    w.pdf.add_page()
    w.heading("Segment revenue")
    w.table("Revenue by division, twelve months ended 30 June (thousand pounds)", SEGMENT_HEADER, SEGMENTS)
    w.heading("Outlook")
    w.para(OUTLOOK)
    w.pdf.add_page()
    w.heading("Independent auditor's report to the members of Harrow Lane Foods plc")
    for p in AUDITOR:
        w.para(p)
    return w.bytes()


def trading_update() -> bytes:
    w = _Writer("0000950170-24-012345", outline=False, footer=f"{COMPANY} Third quarter trading update")
    w.cover(COMPANY, "Third quarter trading update", "Three months ended 31 March 2024")
    w.heading("Highlights")
    for p in Q3_INTRO:
        w.para(p)
    w.pdf.add_page()
    w.heading("Results for the quarter")
    w.table("Results (thousand pounds)", Q3_HEADER, Q3_ROWS)
    w.pdf.add_page()
    w.heading("Outlook and dividend")
    for p in Q3_OUTLOOK:
        w.para(p)
    return w.bytes()


def half_year_report() -> bytes:
    w = _Writer("HLF_HY24_v3.docx", outline=False, footer=f"{COMPANY} Half-year report 2024")
    w.cover(COMPANY, "Half-year report 2024", "Six months ended 31 December 2023")
    w.pdf.add_page()
    w.heading("Interim management report")
    for p in HALF_INTRO:
        w.para(p)
    w.table("Condensed income statement (thousand pounds)", HALF_HEADER, HALF_ROWS, borders="HORIZONTAL_LINES")
    w.pdf.add_page()
    w.heading("Cash flow")
    w.para("The group's cash flow for the half year, in thousand pounds:")
    w.open_table("Condensed cash flow statement", CASH_HEADER, CASH_ROWS)
    w.para("Net debt at 31 December 2023 was 16.9 million pounds, down from 18.2 million pounds at the "
           "year end, after capital expenditure of 3.1 million pounds on the new Leicester oven line.")
    w.heading("Principal risks")
    for p in HALF_RISKS:
        w.para(p)
    return w.bytes()


def scanned(pdf: bytes, dpi: int = 200) -> bytes:
    """Every page of ``pdf`` rendered to a greyscale image and wrapped into a new PDF: a scan,
    with no text layer and no metadata."""
    import pypdfium2 as pdfium
    from fpdf import FPDF

    src = pdfium.PdfDocument(pdf)
    out = FPDF(format="A4")
    for page in src:
        image = page.render(scale=dpi / 72, grayscale=True).to_pil()
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        out.add_page()
        out.image(buf, x=0, y=0, w=out.w, h=out.h)
    return bytes(out.output())


def agm_notice() -> bytes:
    w = _Writer("", outline=False)
    w.pdf.add_page()
    w.pdf.set_font("helvetica", "B", 18)
    w.pdf.multi_cell(0, 10, "Notice of annual general meeting", new_x="LMARGIN", new_y="NEXT")
    w.pdf.ln(4)
    for p in NOTICE:
        w.para(p)
    return scanned(w.bytes())


DOCUMENTS = {
    "annual-report-2023.pdf": annual_report,
    "q3-trading-update.pdf": trading_update,
    "half-year-report-2024.pdf": half_year_report,
    "agm-notice.pdf": agm_notice,
}

# ---- the questions -------------------------------------------------------------------------
# (question, answer, document, evidence page(s), evidence strings a citation must hold)
A, Q, N = "annual-report-2023.pdf", "q3-trading-update.pdf", "agm-notice.pdf"
H = "half-year-report-2024.pdf"
QUESTIONS = [
    ("Where is Harrow Lane Foods headquartered?", "Kettering", A, (2,), ["headquartered in Kettering"]),
    ("Who is the chairman of the board?", "Margaret Okafor", A, (2,), ["Margaret Okafor became chairman"]),
    ("How many new bakeries did the company open during the year?", "four", A, (2,), ["opened four new bakeries"]),
    ("How many apprentices did the scheme train?", "86", A, (2,), ["trained 86 new bakers"]),
    ("What final dividend does the board recommend?", "6.2 pence per share", A, (2,), ["final dividend of 6.2 pence"]),
    ("What is the total dividend for the year?", "9.1 pence per share", A, (2,), ["9.1 pence per share"]),
    ("How many loaves did the bakery division produce?", "212 million", A, (2,), ["212 million loaves"]),
    ("Which hospital trust did the bakery division win a contract with?", "Nene Valley", A, (2, 3), ["Nene Valley hospital trust"]),
    ("How many convenience stores does the chilled foods division supply?", "1,150", A, (3,), ["1,150 convenience stores"]),
    ("How much was capital expenditure in the year?", "6.4 million pounds", A, (4,), ["Capital expenditure was 6.4 million"]),
    ("What was net debt at the year end?", "18.2 million pounds", A, (4,), ["18.2 million pounds"]),
    ("What was revenue for the twelve months ended 30 June 2023?", "84,120", A, (4,), ["Revenue", "84,120"]),
    ("What was adjusted EBITDA in the three months ended 30 June 2023?", "3,105", A, (4,), ["Adjusted EBITDA", "3,105"]),
    ("What was operating profit for the twelve months ended 30 June 2022?", "6,310", A, (4,), ["Operating profit", "6,310"]),
    ("What was gross profit in the twelve months to 30 June 2023?", "26,480", A, (4,), ["Gross profit", "26,480"]),
    ("What revenue did the chilled foods division report in 2023?", "31,480", A, (5,), ["Chilled foods", "31,480"]),
    ("When will the Leicester oven line reach full output?", "March 2024", A, (5,), ["full output in March 2024"]),
    ("Who audited the financial statements?", "Pellow & Marsh LLP", A, (6,), ["Pellow & Marsh LLP"]),
    ("How much did like-for-like sales grow in the third quarter?", "4.8%", Q, (1,), ["grew 4.8%"]),
    ("By how much did energy costs fall in the third quarter?", "12%", Q, (1,), ["Energy costs fell by 12%"]),
    ("What was revenue for the three months ended 31 March 2024?", "22,640", Q, (1, 2), ["22,640"]),
    ("What was adjusted EBITDA for the nine months ended 31 March 2024?", "9,512", Q, (2,), ["Adjusted EBITDA", "9,512"]),
    ("What was free cash flow in the nine months ended 31 March 2023?", "3,044", Q, (2,), ["Free cash flow", "3,044"]),
    ("When will the interim dividend be paid?", "14 June 2024", Q, (3,), ["paid on 14 June 2024"]),
    ("What interim dividend did the board declare?", "3.0 pence per share", H, (2,), ["interim dividend of 3.0 pence"]),
    ("What was revenue for the six months ended 31 December 2022?", "40,260", H, (2,), ["Revenue", "40,260"]),
    ("What was operating profit for the six months ended 31 December 2023?", "3,985", H, (2,), ["Operating profit", "3,985"]),
    ("What was profit before tax for the year ended 30 June 2023?", "6,710", H, (2,), ["Profit before tax", "6,710"]),
    ("What were finance costs in the six months ended 31 December 2022?", "331", H, (2,), ["Finance costs", "331"]),
    ("How much cash was generated from operations in the six months to 31 December 2022?", "4,915", H, (3,),
     ["Cash generated from operations", "4,915"]),
    ("How much did the group spend on property, plant and equipment in the six months to 31 December 2023?",
     "3,120", H, (3,), ["Purchase of property, plant and equipment", "3,120"]),
    ("How much tax was paid in the six months to 31 December 2023?", "610", H, (3,), ["Tax paid", "610"]),
    ("What dividends were paid in the six months to 31 December 2022?", "1,980", H, (3,), ["Dividends paid", "1,980"]),
    ("What was net debt at 31 December 2023?", "16.9 million pounds", H, (3,), ["16.9 million pounds"]),
    ("Where will the annual general meeting be held?", "Corn Exchange, Kettering", N, (1,), ["Corn Exchange"]),
    ("On what date is the annual general meeting?", "16 November 2023", N, (1,), ["16 November 2023"]),
    ("What is the record date for the final dividend?", "20 October 2023", N, (1,), ["20 October 2023"]),
    ("Who is the registrar?", "Fenwick Share Services", N, (1,), ["Fenwick Share Services"]),
]


def make(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, build in DOCUMENTS.items():
        (folder / name).write_bytes(build())
    return folder


_FIGURES = re.compile(r"\d[\d,.]*")


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def score(answer: dict, doc: str, pages: tuple[int, ...], evidence: list[str], gold: str) -> dict:
    """The four measures of one answer (``qa ask --json``)."""
    cites = answer["citations"][:3]
    holds = bool(answer.get("answer")) and _norm(gold) in _norm(answer["answer"])
    cited_pages = set()
    for c in cites:
        if c["doc"] == doc and c.get("page"):
            cited_pages.update(range(c["page"], (c.get("page_end") or c["page"]) + 1))
    return {
        "doc_first": bool(cites) and cites[0]["doc"] == doc,
        "page_top3": bool(cited_pages & set(pages)),
        "evidence_top3": any(c["doc"] == doc and all(_norm(e) in _norm(c["text"]) for e in evidence) for c in cites),
        "answer_holds": holds,
        "answer_clean": holds and not _FIGURES.findall(_norm(answer["answer"]).replace(_norm(gold), " ")),
    }


def evaluate(work: Path) -> dict:
    sys.path.insert(0, str(ROOT))
    from qa import QA, load_settings
    from qa.surfaces.view import answer_json

    corpus = make(work / "corpus")
    shutil.copy(ROOT / "corpus" / "central-asia-plus-japan.txt", corpus)  # a distractor
    qa = QA(load_settings(corpus_dir=corpus, index_dir=work / "index"))
    qa.warm_up(build_if_needed=True, progress=False)
    skipped = [s for s in getattr(qa.index, "skipped", [])]
    rows = []
    for question, gold, doc, pages, evidence in QUESTIONS:
        ans = answer_json(qa.ask(question))
        got = score(ans, doc, pages, evidence, gold)
        top = ans["citations"][0] if ans["citations"] else {}
        rows.append({"question": question, **got, "answer": ans.get("answer"),
                     "cited": [(c["doc"], c.get("page"), c.get("page_end")) for c in ans["citations"][:3]],
                     "first": top.get("text", "")[:120]})
    totals = {k: round(sum(r[k] for r in rows) / len(rows), 3) for k in ("doc_first", "page_top3", "evidence_top3", "answer_holds",
                                                                      "answer_clean")}
    titles = {d.id: d.title for d in qa.index.documents.values()}
    return {"questions": len(rows), **totals, "titles": titles, "skipped": skipped, "rows": rows}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("make").add_argument("folder", type=Path)
    ev = sub.add_parser("eval")
    ev.add_argument("--work", type=Path, help="folder for the corpus and index (default: a temporary one)")
    args = ap.parse_args(argv)
    if args.cmd == "make":
        print(make(args.folder))
        return
    if args.work:
        print(json.dumps(evaluate(args.work), indent=1))
        return
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(evaluate(Path(tmp)), indent=1))


if __name__ == "__main__":
    main()
