"""Tests for create_submission_zip.py, run on a copy of the script in a temporary
folder (the script zips the files next to itself)."""
import importlib.util
import shutil
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "create_submission_zip.py"
TASK_FILES = ["task2a.py", "task2.py", "task3a.py", "task3.py", "task4.py"]
# Each stub imports what the real file imports (the modules of the project only); the
# zip holds the task files and whatever they import, directly or not.
IMPORTS = {"task2a.py": "import checks\nimport utils\n",
           "task2.py": "import math\nimport script_tools\nimport utils\n"
                       "from task2a import BinaryModel\nfrom trainer import BaseTrainer\n",
           "task3a.py": "import checks\nimport utils\nfrom task2a import pre_process_images\n",
           "task3.py": "import script_tools\nimport utils\nfrom task3a import SoftmaxModel\n"
                       "from trainer import BaseTrainer\n",
           "task4.py": "import script_tools\nimport utils\nfrom task3 import load_data\n",
           "trainer.py": "import numpy as np\nimport checks\nimport utils\n",
           "utils.py": "import checks\nimport mnist\n",
           "script_tools.py": "import json\nimport mnist\n",
           "checks.py": "import numpy as np\n",
           "mnist.py": "import gzip\n"}
EXPECTED = sorted(IMPORTS)
DECOYS = ["data/mnist.npz", "results/x.json", "figures/a.png", "report.pdf",
          "__pycache__/utils.cpython-311.pyc", "report.ipynb", "notes.py"]


def make_project(folder):
    """The script, the sources (small stubs with their imports) and files that must stay
    out (notes.py: a top-level module that no task file imports)."""
    shutil.copy(SCRIPT, folder / SCRIPT.name)
    for name, imports in IMPORTS.items():
        (folder / name).write_text(f"# stub for {name}\n{imports}")
    for rel in DECOYS:
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"decoy")
    return folder


def load_script(folder):
    """Import the copied script, so that it sees `folder` as its own folder."""
    spec = importlib.util.spec_from_file_location(
        f"create_submission_zip_{uuid.uuid4().hex}", folder / SCRIPT.name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path)


def test_the_script_starts_from_the_five_task_files(project):
    assert list(load_script(project).TASK_FILES) == TASK_FILES


def test_zip_holds_the_task_files_and_what_they_import_flat(project, capsys):
    assert load_script(project).main([]) == 0
    with zipfile.ZipFile(project / "assignment_code.zip") as archive:
        names = archive.namelist()
        assert sorted(names) == EXPECTED and names[:5] == TASK_FILES
        for name in EXPECTED:
            assert archive.read(name) == (project / name).read_bytes()
    captured = capsys.readouterr()
    for name in EXPECTED:
        assert name in captured.out
    assert "PDF" in captured.out
    assert "warning: notes.py is not in the zip" in captured.err  # imported by no task file


def test_missing_files_fail_naming_them(project):
    (project / "task4.py").unlink()
    (project / "task2.py").unlink()
    with pytest.raises(SystemExit) as info:
        load_script(project).main([])
    message = str(info.value.code)
    assert "task4.py" in message and "task2.py" in message
    assert not (project / "assignment_code.zip").exists()


def test_output_option_is_deterministic_and_atomic(project):
    script = load_script(project)
    first, second = project / "out" / "a.zip", project / "out" / "b.zip"
    script.main(["--output", str(first)])
    script.main(["--output", str(second)])
    assert first.read_bytes() == second.read_bytes()
    assert sorted(p.name for p in (project / "out").iterdir()) == ["a.zip", "b.zip"]
    assert not (project / "assignment_code.zip").exists()


def test_command_line_runs_without_input(project):
    result = subprocess.run([sys.executable, SCRIPT.name], cwd=project, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (project / "assignment_code.zip").is_file()
    help_result = subprocess.run([sys.executable, SCRIPT.name, "--help"], cwd=project,
                                 capture_output=True, text=True, timeout=60)
    assert help_result.returncode == 0 and "--output" in help_result.stdout


def test_command_line_exit_code_when_a_file_is_missing(project):
    (project / "task3a.py").unlink()
    result = subprocess.run([sys.executable, SCRIPT.name], cwd=project, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "task3a.py" in result.stderr
