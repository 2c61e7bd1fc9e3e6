"""Tests for tools/build_report.py, the PDF build of `make report`: the build of
report.ipynb against the small synthetic results tree of test_report.py (shared with it,
see report_build there), read back with pypdf, and builds that must fail (a broken formula,
a failing cell, a figure from another run) without touching an existing PDF. Needs no
system package: pandoc and typst come from PyPI."""
import re
import unicodedata

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError
from pypdf import PdfReader

from test_report import (NOTEBOOK, SUBTASK_HEADINGS, TITLE, build_report,  # noqa: F401
                         report_build, save_png, shipped_wording, write_results_tree)

A4_POINTS = (595.28, 841.89)
FIGURE_KEYS = ("2b", "2c", "2e", "3b", "3c", "4b", "4c", "4e")


@pytest.fixture(scope="module")
def built(report_build):
    """(PDF path, build folder) of the shared build."""
    return report_build["pdf"], report_build["build"]


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


def test_title_author_date_and_page_numbers(pages):
    first = pages[0].splitlines()
    assert first[0] == TITLE
    _, authors = build_report.title_page(nbformat.read(NOTEBOOK, as_version=4))
    for author in authors:  # the author line of the first cell, whatever the student wrote
        assert author in " ".join(first[1:4]), (author, first[:4])
    assert "14 November 2023" in first[:4]
    for number, text in enumerate(pages, start=1):
        assert text.rstrip().splitlines()[-1].strip() == str(number)


def test_every_subtask_heading_in_order(pages):
    lines = [line.strip() for text in pages for line in text.splitlines()]
    found = [line for line in lines if line in SUBTASK_HEADINGS]
    assert found == SUBTASK_HEADINGS


def test_math_is_rendered_not_raw_tex(pages, shipped_wording):
    text = "\n".join(pages)
    for symbol in "∂λσ∑⊤δ‖τ":
        assert symbol in text, symbol
    assert "$" not in text
    leftovers = re.findall(r"\\[A-Za-z]+", text)
    assert not leftovers, leftovers  # \frac, \lambda, \hat, \begin, ...


def test_figures_without_alt_text_each_on_the_page_of_its_caption(built, reader, pages):
    assert sum(len(page.images) for page in reader.pages) == 8  # one per figure
    typ = (built[1] / "report.typ").read_text(encoding="utf-8")
    width = build_report.FIGURE_WIDTH.rstrip("%")
    images = re.findall(r"image\(\"[^\"]+\"(.*?)\)", typ)
    assert len(images) == 8 and all(f"width: {width}" in rest for rest in images), images
    assert not re.search(r"\bpng\b", "\n".join(pages))  # nbconvert's ![png](...) alt text
    for key in FIGURE_KEYS:
        [number] = [n for n, text in enumerate(pages) if f"Figure {key}." in text]
        assert reader.pages[number].images, f"Figure {key}: caption without its image"
        # the image and its caption are one block that does not break
        assert re.search(r"#block\(breakable: false\)\[\s*#align\(center\)\[\s*"
                         r"#box\(image\([^\n]*\)\)\s*\]\s*"
                         rf"#strong\[Figure {key}\.\]", typ), key


def test_display_equations_kept_with_their_lead_in(built, shipped_wording):
    typ = (built[1] / "report.typ").read_text(encoding="utf-8")
    lead_in = re.search(r"#block\(breakable: false\)\[\n(.*?)\n\n\$ (.*?) \$\n\n\]", typ,
                        re.DOTALL)
    assert lead_in and lead_in.group(1).startswith("For one example"), lead_in
    assert "#show math.equation.where(block: false): box" in typ  # never broken at "="


def test_quiet_build(report_build):
    """Nothing but the build's own lines: no kernel warnings, no colour codes."""
    lines = report_build["stderr"].splitlines()
    assert lines and all(line.startswith("build_report: ") for line in lines), lines
    assert "WARNING" not in report_build["stderr"]


def test_outputs_saved_in_the_notebook_do_not_reach_the_pdf(pages):
    assert "STALE" not in "\n".join(pages)


def test_one_spelling_and_unbroken_table_words(pages, shipped_wording):
    text = "\n".join(pages)
    assert "regularis" not in text.lower()
    assert not re.search(r"accu-\s*racy|valida-\s*tion", text)


def test_tables_and_numbers(pages, shipped_wording):
    text = "\n".join(pages)
    assert "step kept" in text and "validation acc." in text  # Task 4d table
    assert "873" in text and "1.23" in text  # Task 4b/4e, synthetic norms (3 digits)
    assert "during epoch 27" in text  # planted stop epoch, read from the results


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


def test_failing_cell_is_named_without_colour_codes():
    nb = small_notebook(nbformat.v4.new_markdown_cell("## Task 7c"),
                        nbformat.v4.new_code_cell("x = 1"),
                        nbformat.v4.new_code_cell("raise ValueError('planted failure')"))
    error = CellExecutionError("\x1b[0;31mValueError\x1b[0m: planted failure", "ValueError",
                               "planted failure")
    message = build_report.failure_message(nb, 2, error)
    assert message.startswith("the cell in 'Task 7c' that begins `raise ValueError(")
    assert "ValueError: planted failure" in message
    assert "\x1b[" not in message


def test_a_figure_from_another_run_fails_with_the_fix(tmp_path, capsys):
    """The real notebook against a tree whose task 2 figure was edited by hand."""
    root = write_results_tree(tmp_path / "tree")
    save_png(root / "figures" / "task2e_shuffle.png", "edited by hand")
    output = tmp_path / "report.pdf"
    status = build_report.main(["--notebook", str(NOTEBOOK), "--workdir", str(root),
                                "--output", str(output), "--build-dir", str(tmp_path / "b")])
    message = capsys.readouterr().err
    assert status == 1 and not output.exists()
    assert "the cell in 'Task 2e' that begins `%%figure task2 task2e`" in message
    assert "ReportError: figures/task2e_shuffle.png is not the figure" in message
    assert "`rm results/task2.json && make report`" in message
    assert "Traceback" not in message and "\x1b[" not in message


@pytest.mark.parametrize("source, title, authors", [
    ("# A title\n\n**Author:** Kari Nordmann (123456)", "A title", ["Kari Nordmann (123456)"]),
    ("# A title\n\nAuthors: Kari Nordmann; Ola Nordmann", "A title",
     ["Kari Nordmann", "Ola Nordmann"]),
    ("# A title", "A title", []),
    ("# Task 1\n\nSome text.", "From metadata", []),  # not a title cell: kept
])
def test_title_and_authors_from_the_first_cell(source, title, authors):
    nb = small_notebook(nbformat.v4.new_markdown_cell(source))
    nb.metadata["title"] = "From metadata"
    assert build_report.title_page(nb) == (title, authors)
    assert len(nb.cells) == (1 if title == "From metadata" else 0)


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


def _raised(make):
    """The exception that make() raises."""
    try:
        make()
    except BaseException as error:  # noqa: B036 -- the point is to catch anything
        return error
    raise AssertionError("make() raised nothing")


def _during(first, then, suppress=False):
    """`then`, raised while `first` was being handled (from None if suppress)."""
    def make():
        try:
            raise first
        except BaseException:
            if suppress:
                raise then from None
            raise then
    return make


@pytest.mark.parametrize("make, signum", [
    (_during(build_report.Stopped(15), RuntimeError("clean-up failed")), 15),
    (_during(KeyboardInterrupt(), AssertionError("self.km is not None")), 2),
    (_during(build_report.Stopped(0), AttributeError("cleanup_resources")), 0),
    (_during(KeyboardInterrupt(), RuntimeError("real"), suppress=True), None),
    (_during(ValueError("a cell"), RuntimeError("another")), None),
    (_during(SystemExit(1), RuntimeError("a library gave up")), None),
])
def test_only_a_stop_signal_is_reported_as_one(make, signum):
    """build_report says "stopped by ..." only for Ctrl-C or SIGTERM, found in the chain of
    errors as a traceback shows it; any other failure keeps its traceback."""
    assert build_report.stop_signal(_raised(make)) == signum
