"""Tests for tools/build_report.py, the PDF build of `make report`: a full build of
report.ipynb against the small synthetic results tree of test_report.py, read back with
pypdf, and builds that must fail (a broken formula, a failing cell) without touching an
existing PDF. Needs no system package: pandoc and typst come from PyPI."""
import importlib.util
import re
import unicodedata
from pathlib import Path

import nbformat
import pytest
from pypdf import PdfReader

from test_report import SUBTASK_HEADINGS, TITLE, write_results_tree

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "report.ipynb"
SOURCE_DATE_EPOCH = "1700000000"  # 14 November 2023, 22:13 UTC
A4_POINTS = (595.28, 841.89)

_spec = importlib.util.spec_from_file_location("build_report", REPO / "tools" / "build_report.py")
build_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_report)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The report built from the synthetic results: (PDF path, build folder)."""
    root = write_results_tree(tmp_path_factory.mktemp("report_pdf"))
    output, build_dir = root / "report.pdf", root / "build"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
        status = build_report.main(["--notebook", str(NOTEBOOK), "--workdir", str(root),
                                    "--output", str(output), "--build-dir", str(build_dir)])
    assert status == 0
    return output, build_dir


@pytest.fixture(scope="module")
def reader(built):
    return PdfReader(built[0])


@pytest.fixture(scope="module")
def pages(reader):
    """The NFKC-normalised text of every page (math italic letters become plain ones)."""
    return [unicodedata.normalize("NFKC", page.extract_text()) for page in reader.pages]


def test_page_size_and_count(reader):
    assert 6 <= len(reader.pages) <= 30
    for page in reader.pages:
        size = (float(page.mediabox.width), float(page.mediabox.height))
        assert size == pytest.approx(A4_POINTS, abs=0.5)


def test_title_date_and_page_numbers(pages):
    first = pages[0].splitlines()
    assert first[0] == TITLE
    assert "14 November 2023" in first[:3]
    for number, text in enumerate(pages, start=1):
        assert text.rstrip().splitlines()[-1].strip() == str(number)


def test_every_subtask_heading_in_order(pages):
    lines = [line.strip() for text in pages for line in text.splitlines()]
    found = [line for line in lines if line in SUBTASK_HEADINGS]
    assert found == SUBTASK_HEADINGS


def test_math_is_rendered_not_raw_tex(pages):
    text = "\n".join(pages)
    for symbol in "∂λσ∑∈⊤δ∇‖":
        assert symbol in text, symbol
    assert "$" not in text
    leftovers = re.findall(r"\\[A-Za-z]+", text)
    assert not leftovers, leftovers  # \frac, \lambda, \hat, \begin, ...


def test_figures_full_width_without_alt_text_captions(built, reader, pages):
    assert sum(len(page.images) for page in reader.pages) == 8  # one per figure
    typ = (built[1] / "report.typ").read_text(encoding="utf-8")
    images = re.findall(r"image\(\"[^\"]+\"(.*?)\)", typ)
    assert len(images) == 8 and all("width: 100" in rest for rest in images), images
    assert not re.search(r"#figure\(\s*(\[\s*#)?(box\()?image", typ)  # no captioned figure
    assert not re.search(r"\bpng\b", "\n".join(pages))  # nbconvert's ![png](...) alt text
    for key in ("2b", "2c", "2e", "3b", "3c", "4b", "4c", "4e"):
        assert f"Figure {key}." in "\n".join(pages)


def test_tables_and_numbers(pages):
    text = "\n".join(pages)
    assert "without shuffling" in text and "with shuffling" in text  # Task 2d table
    assert "873" in text and "1.23" in text  # Task 4e table, synthetic norms (3 digits)
    assert "epoch index 27" in text  # planted stop epoch, read from the results


def test_only_fonts_built_into_typst(reader):
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"].get("/Font", {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
    assert fonts
    for font in fonts:
        assert font.startswith(("LibertinusSerif", "NewCM", "DejaVuSansMono")), font


def small_notebook(*cells):
    nb = nbformat.v4.new_notebook(metadata={
        "title": "Broken", "kernelspec": {"name": "python3", "display_name": "Python 3",
                                          "language": "python"}})
    nb.cells = list(cells)
    return nb


def build_fails(tmp_path, nb, capsys):
    """Build `nb` over an existing PDF; assert it fails and the PDF is untouched."""
    notebook = tmp_path / "broken.ipynb"
    nbformat.write(nb, notebook)
    output = tmp_path / "report.pdf"
    output.write_bytes(b"%PDF-1.7 the previous report\n")
    before = output.stat()
    status = build_report.main(["--notebook", str(notebook), "--output", str(output),
                                "--build-dir", str(tmp_path / "build")])
    assert status == 1
    assert output.read_bytes() == b"%PDF-1.7 the previous report\n"
    assert output.stat().st_mtime_ns == before.st_mtime_ns
    return capsys.readouterr().err


def test_broken_formula_fails_and_is_named(tmp_path, capsys):
    md = nbformat.v4.new_markdown_cell
    nb = small_notebook(md("# Task 9\n\nFine: $\\lambda \\; x$."),
                        md("## Task 9z\n\nBroken:\n\n$$\n\\frobnicate{x} + 1\n$$"))
    message = build_fails(tmp_path, nb, capsys)
    assert "\\frobnicate{x} + 1" in message
    assert "Task 9z" in message
    assert "was not changed" in message


def test_failing_cell_fails_and_is_named(tmp_path, capsys):
    nb = small_notebook(nbformat.v4.new_markdown_cell("## Task 7c"),
                        nbformat.v4.new_code_cell("x = 1"),
                        nbformat.v4.new_code_cell("raise ValueError('planted failure')"))
    message = build_fails(tmp_path, nb, capsys)
    assert "cell 2 (in 'Task 7c')" in message
    assert "ValueError: planted failure" in message


@pytest.mark.parametrize("tex, typst, absent", [
    (r"a \; b \! c", "thick", "#h(0em)"),  # pandoc alone writes \; as 0em, \! as -1em
    (r"-\Big( y \big( 1 - y \big) \Big)", "stretch(\\(, size: #180%)", "#scale"),
    (r"\big\| w \big\|", "stretch(parallel", "[parallel]"),  # not the word "parallel"
    (r"|z| + \vert x \vert", 'class("normal", bar.v)', "\\|"),
])
def test_math_writer_gaps_are_bridged(tmp_path, tex, typst, absent):
    path = build_report.to_typst(f"Text ${tex}$ and\n\n$$\n{tex}\n$$\n", "T", tmp_path)
    body = path.read_text(encoding="utf-8").split("Text", 1)[1]
    assert typst in body
    assert absent not in body


def test_math_environment_without_dollars_is_math(tmp_path):
    """Jupyter renders \\begin{align} without $$; so must the PDF."""
    markdown = "Before\n\n\\begin{align}\na &= b \\; c \\\\\nd &= e\n\\end{align}\n\nAfter\n"
    typ = build_report.to_typst(markdown, "T", tmp_path).read_text(encoding="utf-8")
    assert "$ a & = b thick c\\\nd & = e $" in typ


@pytest.mark.parametrize("markdown, named", [
    ("Some \\textbf{bold} text.", "\\textbf{bold}"),
    ("\\begin{itemize}\n\\item a\n\\end{itemize}\n", "\\begin{itemize}"),
    ("A <b>bold</b> word.", "<b>"),
])
def test_raw_tex_or_html_fails_and_is_named(tmp_path, markdown, named):
    """The Typst writer would drop them without a word."""
    with pytest.raises(build_report.BuildError, match=re.escape(named)):
        build_report.to_typst(markdown, "T", tmp_path)
