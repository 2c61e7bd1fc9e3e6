"""Pack the assignment's code into assignment_code.zip for Blackboard.

Run it from anywhere: the files are taken from the folder this script lives in. The zip
holds the task files and every module of this folder that they import (found by reading
their import lines), flat, so the unpacked zip runs on its own. A top-level .py file that
no task file imports is left out with a warning: add it to EXTRA_FILES if it belongs to
the hand-in. Data, results, figures and the report PDF never go in; the PDF is uploaded
next to the zip.
"""
import argparse
import ast
import os
import sys
import tempfile
import zipfile
from pathlib import Path

TASK_FILES = ("task2a.py", "task2.py", "task3a.py", "task3.py", "task4.py")
EXTRA_FILES = ()  # files of yours that no task file imports but that belong to the hand-in
NOT_HANDED_IN = ("create_submission_zip.py",)  # tooling, never zipped, never warned about
DEFAULT_ZIP_NAME = "assignment_code.zip"
# A fixed timestamp (the earliest a zip can store) makes the archive byte-for-byte
# reproducible: the same sources always give the same zip.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
SOURCE_DIR = Path(__file__).resolve().parent


def local_imports(path: Path) -> set:
    """The names of the modules next to the Python file `path` that it imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return {name + ".py" for name in names if (path.parent / f"{name}.py").is_file()}


def files_to_zip(source_dir: Path = SOURCE_DIR):
    """(files, left_out): the task files, EXTRA_FILES and every local module they import,
    directly or through each other, in a stable order; and the other top-level .py files."""
    missing = [name for name in TASK_FILES + EXTRA_FILES if not (source_dir / name).is_file()]
    if missing:
        sys.exit(f"error: cannot create the zip, missing in {source_dir}: {', '.join(missing)}")
    files, todo = [], list(TASK_FILES + EXTRA_FILES)
    while todo:
        name = todo.pop(0)
        if name not in files:
            files.append(name)
            todo.extend(sorted(local_imports(source_dir / name) - set(files)))
    left_out = sorted(path.name for path in source_dir.glob("*.py")
                      if path.name not in files and path.name not in NOT_HANDED_IN)
    return files, left_out


def write_zip(sources, output: Path) -> None:
    """Write the files in `sources` (flat, in the given order) to `output` atomically:
    the zip is built in a temporary file in the same folder and then renamed."""
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    try:
        with os.fdopen(fd, "wb") as tmp_file, \
                zipfile.ZipFile(tmp_file, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sources:
                info = zipfile.ZipInfo(path.name, date_time=FIXED_DATE_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16  # rw-r--r-- regular file
                archive.writestr(info, path.read_bytes())
        os.chmod(tmp_name, 0o644)  # mkstemp makes it private; the zip is an ordinary file
        os.replace(tmp_name, output)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise


def main(argv=None):
    """Build the zip; warn about top-level .py files it leaves out."""
    parser = argparse.ArgumentParser(
        description="Zip the task files and the modules they import into a flat zip for "
        "Blackboard. The report PDF is uploaded beside the zip.")
    parser.add_argument(
        "--output", type=Path, default=SOURCE_DIR / DEFAULT_ZIP_NAME,
        help=f"where to write the zip (default: {DEFAULT_ZIP_NAME} next to this script)")
    args = parser.parse_args(argv)
    files, left_out = files_to_zip()
    output = args.output.resolve()
    write_zip([SOURCE_DIR / name for name in files], output)
    print(f"Wrote {output}: {', '.join(files)}")
    for name in left_out:
        print(f"warning: {name} is not in the zip: no task file imports it. If it belongs "
              "to the hand-in, add it to EXTRA_FILES in create_submission_zip.py",
              file=sys.stderr)
    print("Remember: upload the report PDF to Blackboard next to this zip, not inside it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
