"""Small real documents of every kind, written by the libraries made for them (fpdf2 for PDF,
python-docx for Word), for the format, build and admin tests."""

from __future__ import annotations

import io
import zipfile

PDF_PAGES = [
    ("Origins", "The harbour of Velmora was dredged in 1821 by the river guild. "
                "Ships from the northern coast unloaded timber there every spring."),
    ("Trade", "By 1850 the guild exported salt and wool to eleven ports. "
              "The customs house recorded 4,200 sailings in its busiest year."),
]


def pdf_bytes(pages=PDF_PAGES, title: str = "Velmora Harbour") -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_font("helvetica", size=12)
    for heading, body in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.multi_cell(0, 8, body, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def scanned_pdf_bytes() -> bytes:
    """A page with only a drawing on it, as a scan without a text layer looks to a reader."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_fill_color(30, 30, 30)
    for i in range(12):
        pdf.rect(20, 20 + 10 * i, 160, 4, style="F")
    return bytes(pdf.output())


def encrypted_pdf_bytes() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes())))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes() -> bytes:
    import docx

    d = docx.Document()
    d.core_properties.title = "Orchard Handbook"
    d.add_heading("Orchard Handbook", level=0)
    d.add_heading("Pruning", level=1)
    d.add_paragraph("Apple trees are pruned in late winter, before the buds open.")
    d.add_heading("Harvest", level=1)
    d.add_paragraph("The first apples are picked in the second week of September.")
    d.add_paragraph("Baskets hold about eighteen kilograms.", style="List Bullet")
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def zip_bomb_bytes(unpacked: int = 300_000_000) -> bytes:
    """A ZIP that claims to be a Word document and unpacks to ``unpacked`` bytes of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            block = b"\0" * 1_000_000
            for _ in range(unpacked // len(block)):
                f.write(block)
    return out.getvalue()


HTML_PAGE = """<!DOCTYPE html>
<html><head><title>Lantern Festival | City Portal</title></head>
<body>
<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/contact">Contact us</a></nav>
<header><p>Subscribe to our newsletter for weekly updates</p></header>
<main><article>
<h1>Lantern Festival</h1>
<p>The lantern festival of Oskar Bay began in 1907, when fishermen hung lamps along the pier to
guide boats home through the autumn fog. It is held every year on the first Saturday of October.</p>
<h2>Lanterns</h2>
<p>Each family makes a lantern of paper and willow. About three thousand lanterns are lit at dusk,
and the procession walks from the market square to the lighthouse.</p>
</article></main>
<footer><p>Copyright 2024 City Portal. All rights reserved. Privacy policy. Cookie settings.</p></footer>
</body></html>
"""

HTML_NO_MAIN_TEXT = """<!DOCTYPE html>
<html><head><title>Menu</title></head><body>
<nav><a href="/">Home</a> <a href="/a">About</a></nav><footer>Copyright</footer>
</body></html>
"""
