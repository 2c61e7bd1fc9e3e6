# TDT4265 Assignment 1. The two commands:
#   make report   set-up, data, tasks 2-4, report.pdf and assignment_code.zip
#   make test     the test suite
# Each step reruns only when its inputs changed.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SETUP  := $(VENV)/.installed
DATA   := data/mnist.npz
SHARED := utils.py trainer.py mnist.py
TASK2  := task2.py task2a.py
TASK3  := task3.py task3a.py $(TASK2)
CODE   := task2a.py task2.py task3a.py task3.py task4.py trainer.py utils.py mnist.py
RESULTS := results/task2.json results/task3.json results/task4.json
LATEX_HELP := xelatex and pandoc are needed for the PDF. Debian/Ubuntu: \
  sudo apt-get install texlive-xetex texlive-fonts-recommended texlive-plain-generic pandoc; \
  macOS: install MacTeX and pandoc (brew install --cask mactex; brew install pandoc).

.PHONY: report test bench setup data tasks check-latex clean help
.DELETE_ON_ERROR:

report: check-latex report.pdf assignment_code.zip  ## everything: set-up, data, tasks 2-4, report.pdf, zip

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: $(SETUP)  ## the virtual environment .venv from requirements.txt
$(SETUP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

data: $(DATA)  ## the verified MNIST arrays in data/
$(DATA): | $(SETUP)
	$(PY) mnist.py

tasks: $(RESULTS)  ## run tasks 2, 3 and 4: figures/ and results/

results/task2.json: $(TASK2) $(SHARED) $(DATA) | $(SETUP)
	$(PY) task2.py

results/task3.json: $(TASK3) $(SHARED) $(DATA) | $(SETUP)
	$(PY) task3.py

results/task4.json: task4.py $(TASK3) $(SHARED) $(DATA) | $(SETUP)
	$(PY) task4.py

check-latex:
	@command -v xelatex >/dev/null && command -v pandoc >/dev/null || \
	  { echo "Cannot build report.pdf: $(LATEX_HELP)" >&2; exit 1; }

# The notebook is executed headless into build/, exported without code cells,
# and only a finished PDF replaces report.pdf.
report.pdf: report.ipynb $(RESULTS) | check-latex
	@mkdir -p build
	$(PY) -m jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=600 \
	  --output-dir build --output report report.ipynb
	$(PY) -m jupyter nbconvert --to pdf --no-input --output-dir build build/report.ipynb
	mv build/report.pdf $@
	@echo "Wrote $@"

assignment_code.zip: create_submission_zip.py $(CODE) | $(SETUP)
	$(PY) create_submission_zip.py

test: $(DATA)  ## the test suite (gradient checks on the real data included)
	$(PY) -m pytest -q

bench: $(DATA)  ## training speed: the trainer against a minimal NumPy loop
	$(PY) benchmarks/bench_training.py

clean:  ## remove generated files (keeps .venv and the data)
	rm -rf build results figures report.pdf assignment_code.zip .pytest_cache
