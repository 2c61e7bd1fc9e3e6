# TDT4265 Assignment 1. The two commands:
#   make report   set-up, data, tasks 2-4, report.pdf and assignment_code.zip
#   make test     the test suite
# Each step reruns when one of its inputs changed or one of its outputs is missing, and
# only then. GNU make 3.81 or later (no grouped targets).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SETUP  := $(VENV)/.installed
# mnist.py keeps the verified data in $MNIST_DATA_DIR if that is set, else in data/.
DATA   := $(or $(MNIST_DATA_DIR),data)/mnist.npz
# What each task script imports, directly or not (tests/test_makefile.py checks these
# lists against the import lines): editing a file reruns exactly the scripts that use it.
SHARED := utils.py trainer.py checks.py script_tools.py mnist.py
TASK2  := task2.py task2a.py $(SHARED)
TASK3  := task3.py task3a.py task2a.py $(SHARED)
TASK4  := task4.py $(TASK3)
# The zip takes the task files and the modules they import: every .py file but its script.
CODE   := $(filter-out create_submission_zip.py,$(wildcard *.py))
FIGURES2 := figures/task2b_loss.png figures/task2c_accuracy.png figures/task2e_shuffle.png
FIGURES3 := figures/task3b_loss.png figures/task3c_accuracy.png
FIGURES4 := figures/task4b_weights.png figures/task4c_val_accuracy.png \
  figures/task4e_weight_norm.png
FIGURES := $(FIGURES2) $(FIGURES3) $(FIGURES4)
RESULTS := results/task2.json results/task3.json results/task4.json
REPORT_TOOLS := tools/build_report.py tools/report_filter.lua tools/report_answers.py

# A task script writes its figures and then results/taskN.json, so the JSON file stands
# for the whole run. A run is out of date when one of its figures is missing (`rerun`
# adds the always-out-of-date prerequisite FORCE) or newer than its JSON file (edited by
# hand: the existing figures are prerequisites of the JSON file).
rerun = $(wildcard $(1)) $(if $(filter-out $(wildcard $(1)),$(1)),FORCE)

.PHONY: report test check setup data tasks clean help FORCE
.DELETE_ON_ERROR:
# `make report` and `make tasks` run tasks 2, 3 and 4 side by side, each printing its
# output in one piece when it ends; other goals (`make clean report` too) run in order.
ifeq ($(filter-out report tasks,$(or $(MAKECMDGOALS),report)),)
MAKEFLAGS += --jobs=3 --output-sync=target
endif

report: report.pdf assignment_code.zip  ## everything: set-up, data, tasks 2-4, report.pdf, zip

help:
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: $(SETUP)  ## the virtual environment .venv from requirements.txt
$(SETUP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

data: $(DATA)  ## the verified MNIST arrays (in data/, or in $MNIST_DATA_DIR if set)
$(DATA): | $(SETUP)
	$(PY) mnist.py

tasks: $(RESULTS)  ## run tasks 2, 3 and 4 side by side: figures/ and results/

results/task2.json: $(TASK2) $(DATA) $(call rerun,$(FIGURES2)) | $(SETUP)
	$(PY) task2.py

results/task3.json: $(TASK3) $(DATA) $(call rerun,$(FIGURES3)) | $(SETUP)
	$(PY) task3.py

# Task 4 takes its lambda = 0 model from task 3's saved run when that is provably the
# same, and waits for it while task 3 runs (script_tools.load_run); else it trains it.
results/task4.json: $(TASK4) $(DATA) $(call rerun,$(FIGURES4)) | $(SETUP)
	$(PY) task4.py

FORCE:

# Execute the notebook, Markdown, Typst, PDF: all in build/, with pip-installed pandoc
# and typst. Only a finished PDF replaces report.pdf.
report.pdf: report.ipynb $(RESULTS) $(REPORT_TOOLS) | $(SETUP)
	$(PY) tools/build_report.py

assignment_code.zip: create_submission_zip.py $(CODE) | $(SETUP)
	$(PY) create_submission_zip.py

test: $(DATA)  ## the test suite (gradient checks on the real data included)
	$(PY) -m pytest -q

# The autograder: one line per subtask (pass, FAIL and why, or not started); exit
# status 0 only when every subtask passes. Needs no MNIST download.
check: | $(SETUP)  ## your functions, subtask by subtask (the autograder)
	$(PY) -m pytest -qq -p no:cacheprovider --subtasks tests/test_subtasks.py

clean:  ## remove generated files (keeps .venv and the data)
	rm -rf build results figures report.pdf assignment_code.zip .pytest_cache

# ---- Course staff only: the lines below are not in the students' starter Makefile.
.PHONY: starter bench stress

# The starter code students receive, made from this solution (tools/make_starter.py)
starter: $(DATA) | $(SETUP)  ## the student starter: build/starter/ and build/starter.zip
	$(PY) tools/make_starter.py

# Both benchmarks print everything; the status is 1 if either missed its target
bench: $(DATA)  ## a softmax epoch against the course arithmetic; tasks 2-4 against the cores
	$(PY) benchmarks/bench_epoch.py; epoch=$$?; $(PY) benchmarks/bench_pipeline.py && exit $$epoch

stress: $(DATA)  ## Ctrl-C/SIGTERM at random moments: no process left, no half-written file
	$(PY) benchmarks/stress_signals.py
