"""Pack the assignment's source files into assignment_code.zip for Blackboard.

Run it from anywhere: the files are taken from the folder this script lives in.
Only the eight Python files the course asks for go into the zip, flat (no folders);
data, results, figures, caches and the report PDF never do. The report PDF is
uploaded next to the zip, not inside it.
"""
import argparse
import os
import sys
import tempfile
import zipfile
from pathlib import Path

SOURCE_FILES = (
    "task2a.py",
    "task2.py",
    "task3a.py",
    "task3.py",
    "task4.py",
    "trainer.py",
    "utils.py",
    "mnist.py",
)
DEFAULT_ZIP_NAME = "assignment_code.zip"
# A fixed timestamp (the earliest a zip can store) makes the archive byte-for-byte
# reproducible: the same sources always give the same zip.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
SOURCE_DIR = Path(__file__).resolve().parent


def parse_args(argv=None):
    """Command-line options: only --output (and --help)."""
    parser = argparse.ArgumentParser(
        description="Zip the assignment's source files (" + ", ".join(SOURCE_FILES)
        + ") into a flat zip for Blackboard. The report PDF is uploaded beside the zip.")
    parser.add_argument(
        "--output", type=Path, default=SOURCE_DIR / DEFAULT_ZIP_NAME,
        help=f"where to write the zip (default: {DEFAULT_ZIP_NAME} next to this script)")
    return parser.parse_args(argv)


def write_zip(sources, output):
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
    """Build the zip; exit with an error naming every missing source file."""
    args = parse_args(argv)
    sources = [SOURCE_DIR / name for name in SOURCE_FILES]
    missing = [path.name for path in sources if not path.is_file()]
    if missing:
        sys.exit(f"error: cannot create the zip, missing in {SOURCE_DIR}: {', '.join(missing)}")

    output = args.output.resolve()
    write_zip(sources, output)
    for path in sources:
        print(f"added {path.name}")
    print(f"Wrote {output} ({len(sources)} files).")
    print("Remember: upload the report PDF to Blackboard next to this zip, not inside it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
