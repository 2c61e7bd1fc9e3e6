"""Build report.pdf from report.ipynb with Python packages only: no LaTeX, no system pandoc.

    python tools/build_report.py            # what `make report` runs for the PDF

The steps, all inside the build folder (default build/):

1. take the title and the author line from the notebook's first cell (a Markdown cell
   `# Title` with a line `**Author:** Name`), clear any outputs saved with the notebook and
   execute it headless (nbclient); a failing cell stops the build, named by its section
   and first line;
2. export it to Markdown without the code cells (nbconvert, as `--no-input`); the figures
   become PNG files next to it;
3. convert the Markdown to Typst with the pandoc binary of the pypandoc-binary wheel; TeX
   math becomes Typst math, and a formula pandoc cannot convert stops the build;
4. compile the Typst file to PDF with the typst module, using only the fonts built into it;
5. move the finished PDF to its destination. Any failure before this step leaves an
   existing report.pdf untouched.

This is tooling for building the report; it is not part of the code handed in.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import nbformat
    import pypandoc
    import typst
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from nbconvert import MarkdownExporter
except ModuleNotFoundError as missing:
    sys.exit(f"build_report: {missing.name} is not installed for {sys.executable}: run "
             "`make report` (it sets up .venv), or use .venv/bin/python")
except KeyboardInterrupt:  # Ctrl-C while starting: nothing was done yet
    print("build_report: stopped by SIGINT; nothing was changed", file=sys.stderr)
    sys.exit(130)

REPO = Path(__file__).resolve().parents[1]
FIGURES_DIR = "report_files"  # the figures of the notebook's outputs, inside the build folder
# Markdown as pandoc reads it: an image alone in a paragraph is not turned into a figure
# (that would print its alt text "png" as a caption), and \(x\) and \[x\] are math, as in
# Jupyter. report_filter.lua deals with raw TeX and HTML.
PANDOC_FROM = "markdown-implicit_figures+tex_math_single_backslash"
PANDOC_FILTER = Path(__file__).with_name("report_filter.lua")
TOOLS = Path(__file__).resolve().parent  # report_answers.py, imported by the notebook
# Typst set-up added to pandoc's default template: long tables may continue on the next
# page instead of leaving a gap; an inline formula is never broken across lines (not at
# "=" either); table cells are not hyphenated.
TYPST_HEADER = """\
#show figure.where(kind: table): set block(breakable: true)
#show math.equation.where(block: false): box
#show table.cell: set text(hyphenate: false)
"""
# The first cell: "# Title" and "**Author:** Name; Other Name" (the author line optional).
TITLE_LINE = re.compile(r"^#\s+(.+?)\s*$", re.MULTILINE)
AUTHOR_LINE = re.compile(r"^\W*authors?\W*:\**\s*(.*?)\s*$", re.MULTILINE | re.IGNORECASE)
AUTHOR_PLACEHOLDER = "your name"
# Colour codes of IPython's tracebacks, which a log file shows as garbage.
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Three gaps of pandoc's TeX-to-Typst math writer (texmath), bridged inside the equations
# of its output by fix_math():
# - math spaces other than \, \: \quad \qquad come out rounded down to whole ems (\; as 0em,
#   \! as -1em). report_filter.lua hands them to the writer as placeholders, which are
#   replaced by these exact Typst spaces.
# - \big( \Big( \bigg( \Bigg( come out as a scaled text glyph, which overlaps its neighbours
#   (and \big\| becomes the word "parallel"); they become Typst's stretch(), which draws the
#   font's own larger delimiter.
# - the bar of |z| (also \vert, \lvert, \rvert) comes out as a spaced relation, | z |; it
#   becomes an ordinary symbol, as in TeX.
MATH_SPACES = {"thick": ("\\;", "thick"), "negthin": ("\\!", "#h(-1em/6)"),
               "en": ("\\enspace", "#h(0.5em)")}  # placeholder: (TeX, Typst)
SPACE_PLACEHOLDER = re.compile(r'upright\("TYPSTSPACE(\w+)"\)')
SCALED_DELIMITER = re.compile(r"#scale\(x: (\d+)%, y: \1%\)\[((?:\\.|[^\]\\])*)\]")
DELIMITERS = {"{": r"\{", "}": r"\}", r"\|": "bar.v", ".": ""}  # markup -> math, if not equal
BAR = re.compile(r"(?<!\\)\\\|")
BACKTICKS = re.compile("`+")
TYPST_STRING = re.compile(r'"(?:\\.|[^"\\])*"')
# Page and fonts for pandoc's Typst template; the fonts are the ones built into typst.
LAYOUT = {"papersize": "a4", "margin": {"x": "2.5cm", "y": "2.5cm"},
          "mainfont": "Libertinus Serif", "mathfont": "New Computer Modern Math",
          "codefont": "DejaVu Sans Mono"}
# The width of every figure: large enough to read, small enough that a figure and its
# caption fit the space left on most pages.
FIGURE_WIDTH = "72%"
# nbconvert writes an output image as ![png](report_files/report_12_0.png).
OUTPUT_IMAGE = re.compile(r"^!\[[^\]\n]*\]\((%s/[^)\s]+)\)[ \t]*$" % re.escape(FIGURES_DIR),
                          re.MULTILINE)
MATH_WARNING = re.compile(r"Could not convert TeX math (.*?), rendering as TeX:\n(.*)",
                          re.DOTALL)


class BuildError(Exception):
    """A build step failed; the message says which and why."""


def log(message):
    print(f"build_report: {message}", file=sys.stderr, flush=True)


def section_of(nb, index):
    """The last Markdown heading before cell `index`, or '' if there is none."""
    for cell in reversed(nb.cells[:index + 1]):
        if cell.cell_type == "markdown":
            headings = re.findall(r"^#+\s+(.+?)\s*$", cell.source, re.MULTILINE)
            if headings:
                return headings[-1]
    return ""


def failure_message(nb, index, error):
    """What the build says about a failing cell: which cell (its section and first line;
    a number would not match what Jupyter shows), the error and, unless it is a ReportError
    that says what to do, the traceback; without the colour codes of IPython's tracebacks."""
    where = "a cell of the notebook"
    if index is not None:
        lines = nb.cells[index].source.strip().splitlines() or [""]
        section = section_of(nb, index)
        where = "the cell" + (f" in '{section}'" if section else "")
        where += f" that begins `{lines[0]}`"
    message = f"{where} failed with {error.ename}: {error.evalue}"
    if error.ename != "ReportError":
        message += f"\n{error}"
    return ANSI.sub("", message)


def title_page(nb):
    """(title, authors) from the first cell, which is then removed from `nb`; the title
    falls back to the notebook's metadata when the first cell is not a title cell."""
    title, authors = nb.metadata.get("title"), []
    if nb.cells and nb.cells[0].cell_type == "markdown":
        source = nb.cells[0].source
        match = TITLE_LINE.match(source.lstrip())
        rest = TITLE_LINE.sub("", source, count=1)
        author = AUTHOR_LINE.search(rest)
        if match and not AUTHOR_LINE.sub("", rest).strip():  # the cell holds nothing else
            title = match.group(1)
            if author:
                names = author.group(1).strip("*_ ")
                authors = [name.strip("*_ ") for name in names.split(";") if name.strip("*_ ")]
            nb.cells.pop(0)
    return title, authors


def clear_outputs(nb):
    """Forget what a notebook saved from Jupyter brings along: outputs, counts, errors."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None


def execute(nb, workdir, timeout, kernel_log=None):
    """Run every cell in `workdir`; on an error raise BuildError naming the cell."""
    clear_outputs(nb)
    if not any(cell.cell_type == "code" for cell in nb.cells):
        return  # nothing to run: no kernel needed
    # The kernel finds report_answers.py through REPORT_TOOLS, wherever the cells run; its
    # log level keeps its warnings (e.g. about its TCP transport) out of its log.
    failed = []  # the index of the cell that failed, as nbclient reports it
    # Always the python3 kernel, i.e. this Python: a notebook saved from Jupyter may name
    # a kernel of the student's own that this machine does not have.
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}},
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],
                            on_cell_error=lambda cell, cell_index, **_: failed.append(cell_index))
    previous = os.environ.get("REPORT_TOOLS")
    os.environ["REPORT_TOOLS"] = str(TOOLS)
    # nbclient handles SIGINT and SIGTERM itself while it runs: it shuts the kernel down
    # and leaves this future behind, the one sign that a signal and not the notebook
    # ended the run (the errors that follow vary with the moment)
    def signalled():
        future = getattr(client, "_async_cleanup_kernel_future", None)
        if future is not None:  # its outcome is nbclient's affair: keep asyncio from
            if future.done() and not future.cancelled():  # printing it at exit
                future.exception()
            else:
                future.cancel()
        return future is not None

    # The kernel's own output (its start-up, or a traceback when a signal stops it) goes
    # to kernel_log, not into the build's messages; cell errors come as cell outputs.
    log_file = open(kernel_log, "wb") if kernel_log else None
    catching = signal.getsignal(signal.SIGINT) is _stop  # main() set catch_stop_signals up
    try:
        client.execute(**({"stderr": log_file, "stdout": log_file} if log_file else {}))
    except BaseException as error:
        if signalled():
            raise Stopped(0) from None
        if isinstance(error, CellExecutionError):
            failed += [i for i, cell in enumerate(nb.cells)
                       if any(o.get("output_type") == "error" for o in cell.get("outputs", []))]
            raise BuildError(failure_message(nb, failed[0] if failed else None, error)) from None
        if isinstance(error, (CellTimeoutError, DeadKernelError)):
            seen = f" (the kernel's output: {kernel_log})" if kernel_log else ""
            raise BuildError(ANSI.sub("", f"executing the notebook failed: {error}{seen}")
                             ) from None
        raise
    else:
        if signalled():
            raise Stopped(0)
    finally:
        if log_file:
            log_file.close()
        if catching:  # nbclient took the stop signals over and left the defaults
            catch_stop_signals()
        if previous is None:
            os.environ.pop("REPORT_TOOLS", None)
        else:
            os.environ["REPORT_TOOLS"] = previous


def export_markdown(nb, build_dir):
    """The executed notebook as Markdown without code cells; figures written to files."""
    exporter = MarkdownExporter(exclude_input=True, exclude_input_prompt=True,
                                exclude_output_prompt=True)
    body, resources = exporter.from_notebook_node(
        nb, resources={"output_files_dir": FIGURES_DIR, "unique_key": "report"})
    figures = build_dir / FIGURES_DIR
    shutil.rmtree(figures, ignore_errors=True)
    for name, data in resources.get("outputs", {}).items():
        path = build_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    # Output figures: no alt text (it would become a caption), FIGURE_WIDTH of the text width.
    return OUTPUT_IMAGE.sub(r"![](\1){width=%s}" % FIGURE_WIDTH, body)


def date_text():
    """Today's date, or that of SOURCE_DATE_EPOCH for a reproducible build."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    day = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).date()
           if epoch else datetime.date.today())
    return f"{day.day} {day:%B %Y}"


def where_in(markdown, formula):
    """The heading of the section of `markdown` that holds `formula`, if found."""
    position = markdown.find(formula.strip())
    if position < 0:
        return ""
    headings = re.findall(r"^#+\s+(.+?)\s*$", markdown[:position], re.MULTILINE)
    return headings[-1] if headings else ""


def original_tex(formula):
    """The formula as written in the notebook, without the space placeholders."""
    return re.sub(r"\\text\{TYPSTSPACE(\w+)\}",
                  lambda m: MATH_SPACES.get(m[1], (m[0],))[0], formula)


def pandoc_errors(stderr, markdown):
    """Messages for every warning pandoc printed; TeX math ones name the formula."""
    errors = []
    for warning in re.split(r"^\[WARNING\] ", stderr, flags=re.MULTILINE)[1:]:
        match = MATH_WARNING.match(warning)
        if match:
            formula, detail = original_tex(match.group(1)), original_tex(match.group(2))
            section = where_in(markdown, formula)
            errors.append(f"pandoc cannot convert the formula ${formula}$"
                          + (f" (in '{section}')" if section else "")
                          + f":\n{detail.rstrip()}")
        else:
            errors.append("pandoc: " + warning.rstrip())
    return errors


def math_spans(typ):
    """(start, end) of every equation in pandoc's Typst text, without the $ signs.

    Skips what may hold a $ that does not delimit an equation: escapes (\\$), raw text in
    backticks outside equations and strings inside them."""
    spans, start, i = [], None, 0
    while i < len(typ):
        char = typ[i]
        if char == "\\":
            i += 2
            continue
        if start is None and char == "`":
            ticks = BACKTICKS.match(typ, i).group()
            close = typ.find(ticks, i + len(ticks))
            i = len(typ) if close < 0 else close + len(ticks)
            continue
        if start is not None and char == '"':
            string = TYPST_STRING.match(typ, i)
            i = string.end() if string else len(typ)
            continue
        if char == "$":
            if start is None:
                start = i + 1
            else:
                spans.append((start, i))
                start = None
        i += 1
    return spans


def fix_equation(math):
    """Bridge the gaps of pandoc's math writer in one equation (see MATH_SPACES)."""
    math = SPACE_PLACEHOLDER.sub(lambda m: MATH_SPACES[m[1]][1] if m[1] in MATH_SPACES
                                 else m[0], math)

    def stretch(match):
        delimiter = DELIMITERS.get(match[2], match[2])
        return f"stretch({delimiter}, size: #{match[1]}%)" if delimiter else ""

    math = SCALED_DELIMITER.sub(stretch, math)
    return BAR.sub('class("normal", bar.v)', math)


def fix_math(typ):
    """fix_equation() applied to every equation of a Typst file."""
    pieces, end = [], 0
    for start, stop in math_spans(typ):
        pieces += [typ[end:start], fix_equation(typ[start:stop])]
        end = stop
    typ = "".join(pieces) + typ[end:]
    if "TYPSTSPACE" in typ:
        raise BuildError("a math space placeholder was left in the Typst file: "
                         "pandoc's output has changed, see fix_math()")
    return typ


def to_typst(markdown, title, build_dir, authors=()):
    """Convert the Markdown to a standalone Typst file with pandoc; return its path."""
    source = build_dir / "report.md"
    source.write_text(markdown, encoding="utf-8")
    metadata = dict(LAYOUT, date=date_text())
    if title:
        metadata["title"] = title
    if authors:
        metadata["author"] = list(authors)
    (build_dir / "report.yaml").write_text(json.dumps(metadata, indent=2) + "\n",
                                           encoding="utf-8")  # JSON is valid YAML
    (build_dir / "header.typ").write_text(TYPST_HEADER, encoding="utf-8")
    command = [pypandoc.get_pandoc_path(), "--from", PANDOC_FROM, "--to", "typst",
               "--standalone", "--fail-if-warnings", "--columns", "10000", "--lua-filter", str(PANDOC_FILTER),
               "--metadata-file", str(build_dir / "report.yaml"),
               "--include-in-header", str(build_dir / "header.typ"), str(source)]
    result = subprocess.run(command, capture_output=True, text=True, encoding="utf-8")
    errors = pandoc_errors(result.stderr, markdown)
    if result.returncode != 0 or errors:
        detail = result.stderr.split("stack traceback:")[0].strip()  # a filter's error
        raise BuildError("\n".join(errors) or f"pandoc failed ({result.returncode}): {detail}")
    target = build_dir / "report.typ"
    target.write_text(fix_math(result.stdout), encoding="utf-8")
    return target


def compile_pdf(source, build_dir):
    """Compile the Typst file with the fonts built into typst; return the PDF's path."""
    target = build_dir / "report.pdf"
    target.unlink(missing_ok=True)
    options = {}
    if os.environ.get("SOURCE_DATE_EPOCH"):  # the PDF's creation date, for a reproducible build
        options["timestamp"] = int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        _, warnings = typst.compile_with_warnings(
            str(source), output=str(target), root=str(build_dir), font_paths=[],
            ignore_system_fonts=True, **options)
    except typst.TypstError as error:
        raise BuildError(f"typst: {error.message}\n{error.diagnostic}") from None
    if warnings:
        target.unlink(missing_ok=True)
        raise BuildError("typst: " + "\n".join(f"{w.message}\n{w.diagnostic}" for w in warnings))
    return target


def install(pdf, destination):
    """Move the finished PDF to `destination` in one step (a reader never sees half a file)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(pdf, destination)
    except OSError:  # another file system: copy next to the destination, then rename
        fd, temporary = tempfile.mkstemp(dir=destination.parent, suffix=".pdf.part")
        os.close(fd)
        shutil.copyfile(pdf, temporary)
        os.replace(temporary, destination)
        pdf.unlink()


def build(notebook, output, build_dir, workdir=None, timeout=600):
    """Build `output` (a PDF) from `notebook`; cells run in `workdir` (default: its folder)."""
    notebook, output, build_dir = Path(notebook), Path(output), Path(build_dir)
    workdir = Path(workdir) if workdir else notebook.resolve().parent
    build_dir.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(notebook, as_version=4)
    title, authors = title_page(nb)
    if any(AUTHOR_PLACEHOLDER in name.lower() for name in authors):
        log(f"note: the author line of {notebook.name} still reads '{'; '.join(authors)}'")
    steps = []

    def step(name, function, *args):
        start = time.perf_counter()
        value = function(*args)
        steps.append(f"{name} {time.perf_counter() - start:.1f} s")
        return value

    step("execute", execute, nb, workdir, timeout, build_dir / "kernel.log")
    nbformat.write(nb, build_dir / "report.ipynb")
    markdown = step("markdown", export_markdown, nb, build_dir)
    source = step("pandoc", to_typst, markdown, title, build_dir, authors)
    pdf = step("typst", compile_pdf, source, build_dir)
    install(pdf, output)
    log(f"wrote {output} ({', '.join(steps)})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebook", type=Path, default=REPO / "report.ipynb",
                        help="the notebook (default: report.ipynb)")
    parser.add_argument("--output", type=Path, default=REPO / "report.pdf",
                        help="the PDF to write (default: report.pdf)")
    parser.add_argument("--build-dir", type=Path, default=REPO / "build",
                        help="folder for the intermediate files (default: build)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="folder the cells run in, holding results/ and figures/ "
                             "(default: the notebook's folder)")
    parser.add_argument("--timeout", type=int, default=600,
                        help="seconds a single cell may run (default: 600)")
    args = parser.parse_args(argv)
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    catch_stop_signals()
    try:
        build(args.notebook, args.output, args.build_dir, args.workdir, args.timeout)
    except BuildError as error:
        log(f"{error}\nbuild_report: {args.output} was not changed")
        return 1
    except BaseException as error:
        signum = stop_signal(error)
        if signum is None:
            raise
        name = signal.Signals(signum).name if signum else "SIGINT or SIGTERM"
        log(f"stopped by {name}; {args.output} was not changed")
        return 128 + (signum or signal.SIGINT)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(BaseException):
    """Ctrl-C (SIGINT) or SIGTERM (a stop button, `kill`) stopped the build."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def _stop(signum, frame):
    raise Stopped(signum)


def catch_stop_signals():
    """SIGINT and SIGTERM raise Stopped. While the notebook runs, nbclient's event loop
    handles them itself (it shuts the kernel down) and afterwards leaves the defaults, so
    execute() calls this again when it is done."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _stop)


def stop_signal(error):
    """The signal that stopped the build, if it was one: that of a Stopped in the chain
    of errors (0 when nbclient caught it: SIGINT or SIGTERM, unknown which), SIGINT for a
    KeyboardInterrupt; None for any other error. The chain is followed as a traceback
    shows it (an error raised `from None` ends it)."""
    while error is not None:
        if isinstance(error, Stopped):
            return error.signum
        if isinstance(error, KeyboardInterrupt):
            return signal.SIGINT
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return None


if __name__ == "__main__":
    sys.exit(main())
