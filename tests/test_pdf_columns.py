"""Tables without a ruled grid (qa/ingest/pdfcolumns.py): horizontal rules only, or no rules at
all, their figures aligned by position. Found, they become one row per cell with its row label
and column heading; prose, lists, two-column text and a contents page stay text."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.ingest.corpus import read_document
from qa.ingest.pdfcolumns import Word, find
from scripts import reportset as R


def _pdf(tmp_path: Path, draw) -> Path:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("helvetica", "", 10)
    draw(pdf)
    path = tmp_path / "doc.pdf"
    path.write_bytes(bytes(pdf.output()))
    return path


def _read(tmp_path: Path, draw):
    return read_document(_pdf(tmp_path, draw), "doc.pdf")


@pytest.fixture(scope="module")
def half_year(tmp_path_factory):
    path = tmp_path_factory.mktemp("half") / "half-year-report-2024.pdf"
    path.write_bytes(R.half_year_report())
    return read_document(path, "half-year-report-2024.pdf")


def test_a_table_with_horizontal_rules_only_and_two_line_headings(half_year):
    income = next(t for t in half_year.tables if t.page == 2)
    assert income.columns[1:] == ("Six months ended 31 December 2023", "Six months ended 31 December 2022",
                                  "Year ended 30 June 2023")
    assert income.rows[0] == ("Revenue", "43,870", "40,260", "84,120")
    row = "Revenue, Six months ended 31 December 2022: 40,260"
    at = half_year.text.index(row)
    assert half_year.page_at(at) == 2
    cell = next(c for c in income.cells if half_year.text[c[2]:c[3]] == row)
    assert cell[:2] == (0, 2)
    x0, top, x1, bottom = cell[4:]
    assert 0.5 < x0 < x1 < 1 and 0.2 < top < bottom < 0.8  # the figure's own box, for the page image
    assert "43,870 40,260" not in half_year.text  # no longer a line of figures in the body text


def test_a_table_without_any_rule_under_a_two_row_heading(half_year):
    cash = next(t for t in half_year.tables if t.page == 3)
    assert cash.columns[1:] == ("Six months to 31 December 2023", "Six months to 31 December 2022")
    assert cash.rows[2] == ("Purchase of property, plant and equipment", "(3,120)", "(2,480)")
    assert "Dividends paid, Six months to 31 December 2022: (1,980)" in half_year.text
    # the prose and the numbered list around it stay text
    assert "Net debt at 31 December 2023 was 16.9 million pounds, down from" in half_year.text
    assert "- The supply of skilled bakers, addressed by the apprenticeship scheme of 86 places." in half_year.text
    assert len(half_year.tables) == 2


def test_a_spanning_heading_and_a_wrapped_label(tmp_path):
    def draw(pdf):
        pdf.set_xy(10, 20)
        pdf.cell(70, 6, "Key figures (thousand pounds)")
        pdf.set_xy(80, 30)
        pdf.cell(60, 6, "Three months ended", align="C")
        pdf.cell(60, 6, "Nine months ended", align="C")
        pdf.set_xy(80, 36)
        for heading in ("2024", "2023", "2024", "2023"):
            pdf.cell(30, 6, heading, align="R")
        rows = [("Revenue", "22,640", "20,410", "68,950", "62,300"),
                ("Purchase of intangible assets and", "", "", "", ""),
                ("capitalised development", "(410)", "(380)", "(1,220)", "(1,105)"),
                ("Operating profit", "2,104", "1,815", "5,960", "5,120")]
        for k, row in enumerate(rows):
            pdf.set_xy(10, 44 + 6 * k)
            pdf.cell(70, 6, row[0])
            for value in row[1:]:
                pdf.cell(30, 6, value, align="R")

    doc = _read(tmp_path, draw)
    (table,) = doc.tables
    assert table.columns[1:] == ("Three months ended 2024", "Three months ended 2023",
                                 "Nine months ended 2024", "Nine months ended 2023")
    assert "Purchase of intangible assets and capitalised development, Nine months ended 2024: (1,220)" in doc.text
    assert "Operating profit, Three months ended 2023: 1,815" in doc.text
    assert "Key figures (thousand pounds)" in doc.text  # the caption stays text above the table


def test_a_statement_with_currency_signs_three_heading_rows_and_narrow_columns(tmp_path):
    """As US filings print them: "$" set apart at the left of its cell (on every row), "Three Months
    Ended" over "September 30," over the years, a label wrapped after "and", a dot leader, dashes and
    "n/a" for no figure, in a small font."""
    def draw(pdf):
        pdf.set_font("helvetica", "", 7)
        pdf.set_xy(10, 38)
        pdf.cell(60, 4, "(in millions, except per share amounts)")  # the label column's heading
        for y, cells in ((30, ["Three Months Ended", "Nine Months Ended"]), (34, ["September 30,", "September 30,"])):
            pdf.set_xy(70, y)
            for text in cells:
                pdf.cell(36, 4, text, align="C")
        pdf.set_xy(70, 38)
        for year in ("2024", "2023", "2024", "2023"):
            pdf.cell(18, 4, year, align="R")
        rows = [("Net sales", True, "94,930", "89,498", "296,105", "288,133"),
                ("Research and", False, "", "", "", ""),
                ("development", True, "8,006", "7,307", "23,605", "22,608"),
                ("Other income ..........", True, "412", "-", "1,230", "n/a"),
                ("Net income", True, "14,736", "22,956", "70,660", "74,039"),
                ("Diluted earnings per share", True, "0.97", "1.46", "4.60", "4.71")]
        for k, (label, dollar, *values) in enumerate(rows):
            y = 44 + 4 * k
            pdf.set_xy(10, y)
            pdf.cell(60, 4, label)
            for j, value in enumerate(values):
                if dollar:
                    pdf.set_xy(70 + 18 * j + 0.5, y)  # close to the figure of the column before
                    pdf.cell(4, 4, "$")
                pdf.set_xy(70 + 18 * j, y)
                pdf.cell(18, 4, value, align="R")

    doc = _read(tmp_path, draw)
    (table,) = doc.tables
    assert table.columns == ("(in millions, except per share amounts)", "Three Months Ended September 30, 2024",
                             "Three Months Ended September 30, 2023", "Nine Months Ended September 30, 2024",
                             "Nine Months Ended September 30, 2023")
    assert "Net income, Nine Months Ended September 30, 2023: $ 74,039" in doc.text
    assert "Research and development, Three Months Ended September 30, 2024: $ 8,006" in doc.text
    assert "Other income, Nine Months Ended September 30, 2024: $ 1,230" in doc.text  # its dot leader left out
    assert table.rows[2] == ("Other income", "$ 412", "$ -", "$ 1,230", "$ n/a")
    assert table.rows[-1] == ("Diluted earnings per share", "$ 0.97", "$ 1.46", "$ 4.60", "$ 4.71")


def _prose(pdf):
    text = ("In 2023 the group employed 2,340 people, up from 2,120 in 2022, and sold 212 million loaves "
            "through 1,150 stores. Revenue rose by 9.9% to 84,120 thousand pounds while costs grew 4.1%. ") * 4
    pdf.set_xy(10, 20)
    pdf.multi_cell(0, 5, text, align="J")
    pdf.ln(4)
    for k, item in enumerate(["Flour prices rose 18% in 2022 and fell 6% in 2023.",
                              "Energy costs fell 12% after the gas price was fixed until 2026.",
                              "Wages rose 7.5% for 2,340 colleagues in 9 sites."], start=1):
        pdf.cell(12, 5, f"{k}.")
        pdf.multi_cell(0, 5, item, new_x="LMARGIN", new_y="NEXT")


def _two_columns(pdf):
    left = ["The bakery division produced 212", "million loaves in 2023, against 198", "million in 2022. Its site at",
            "Leicester added a second oven", "line costing 6.4 million pounds."]
    right = ["The chilled foods division served", "1,150 stores, 80 more than in", "2022, and opened a depot in",
             "Northampton for 3.2 million", "pounds, its first since 2019."]
    for k, (a, b) in enumerate(zip(left, right)):
        pdf.set_xy(10, 20 + 5 * k)
        pdf.cell(90, 5, a)
        pdf.set_xy(110, 20 + 5 * k)
        pdf.cell(90, 5, b)


def _contents(pdf):
    for k, (title, page) in enumerate([("Chairman's statement", "2"), ("Operations review", "3"),
                                       ("Financial review", "4"), ("Auditor's report", "6")]):
        pdf.set_xy(10, 20 + 7 * k)
        pdf.cell(150, 7, title)
        pdf.cell(30, 7, page, align="R")


@pytest.mark.parametrize("draw", [_prose, _two_columns, _contents], ids=["prose-and-list", "two-columns", "contents"])
def test_prose_lists_two_columns_and_contents_stay_text(tmp_path, draw):
    doc = _read(tmp_path, draw)
    assert doc.tables == ()
    assert ": " not in doc.text.replace("Chairman's statement", "")  # no "label, heading: value" rows


def test_the_words_of_two_text_columns_are_not_a_table():
    """The finder alone: rows of two texts side by side, figures inside the sentences."""
    words = []
    for k in range(4):
        y = 100 + 12 * k
        for x, text in ((50, f"line {k} of the left column cost 2,{k}00"), (320, f"right column says {k},500 more")):
            for w in text.split():
                words.append(Word(x, y, x + 6 * len(w), y + 10, w))
                x += 6 * len(w) + 3
    assert find(words) == []


def _row(y: float, *cells: tuple[float, str]) -> list[Word]:
    """Words of one visual row: each cell (its left edge, its text) in 6-point-wide letters."""
    out = []
    for x, text in cells:
        for w in text.split():
            out.append(Word(x, y, x + 6 * len(w), y + 10, w))
            x += 6 * len(w) + 3
    return out


def test_one_column_of_numbers_needs_a_heading_to_be_a_table():
    contents = [w for k, (title, page) in enumerate([("Chairman's statement", "2"), ("Financial review", "4"),
                                                     ("Auditor's report", "16")])
                for w in _row(100 + 12 * k, (50, title), (400 - 6 * len(page), page))]
    assert find(contents) == []  # a contents page: titles and their page numbers
    (table,) = find(_row(88, (370, "2023")) + contents)  # under a heading, the same is a table
    assert table.rows[0] == ["", "2023"] and table.rows[3] == ["Auditor's report", "16"]


def test_a_figure_alone_in_its_column_ends_the_table_above_it():
    rows = [_row(100 + 12 * k, (50, label), (300, a), (400, b))
            for k, (label, a, b) in enumerate([("Revenue", "1,234", "1,100"), ("Costs", "(800)", "(750)"),
                                               ("Profit", "434", "350")])]
    odd = _row(136, (50, "Employees at the year end"), (480, "2,340"))
    (table,) = find([w for r in rows for w in r] + odd)
    assert [r[0] for r in table.rows] == ["Revenue", "Costs", "Profit"]


def test_two_tables_one_under_the_other_stay_two():
    def table(y, heading, rows):
        words = _row(y, (330 - 6 * len(heading[0]), heading[0]), (430 - 6 * len(heading[1]), heading[1]))
        for k, (label, a, b) in enumerate(rows):
            words += _row(y + 12 * (k + 1), (50, label), (330 - 6 * len(a), a), (430 - 6 * len(b), b))
        return words

    first = table(100, ("2023", "2022"), [("Revenue", "1,234", "1,100"), ("Profit", "434", "350")])
    second = table(136, ("Q4", "Q3"), [("Orders", "310", "290"), ("Returns", "12", "15")])
    got = find(first + second)
    assert [t.rows[0][1:] for t in got] == [["2023", "2022"], ["Q4", "Q3"]]
    assert [[r[0] for r in t.rows[1:]] for t in got] == [["Revenue", "Profit"], ["Orders", "Returns"]]
