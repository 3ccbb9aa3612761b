# spikeflux: two commands on a fresh machine.
#   make book [PROFILE=quick|full]   set up, execute every notebook with papermill, build the book
#   make test                        set up, run the tests
PYTHON  ?= python3
VENV    ?= .venv
PROFILE ?= full
SEED    ?= 0
DEVICE  ?= cpu
JOBS    ?= 2
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed

.PHONY: book notebooks html test data venv bench browser-test clean clean-all

# The virtual environment is (re)built when it is missing or pyproject.toml or constraints.txt
# changed; it gets exactly the tested versions of constraints.txt (pyproject.toml has ranges).
CONSTRAINTS ?= constraints.txt
$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

data: $(STAMP)
	$(PY) -m spikeflux.data.adl fetch

notebooks: $(STAMP) data
	$(PY) -m spikeflux.pipeline --profile $(PROFILE) --seed $(SEED) --device $(DEVICE) --jobs $(JOBS)

html: $(STAMP)
	$(VENV)/bin/jupyter-book build book -W -n --keep-going

# The whole build, timed: set-up, every notebook (the pipeline prints a per-notebook summary), HTML.
book:
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory notebooks && \
	t_nb=$$(date +%s) && \
	$(MAKE) --no-print-directory html && \
	end=$$(date +%s) && \
	echo "book: set-up + notebooks $$((t_nb - start)) s, HTML $$((end - t_nb)) s, total $$((end - start)) s (PROFILE=$(PROFILE), JOBS=$(JOBS))" && \
	echo "book: open book/_build/html/index.html"

test: $(STAMP)
	$(PY) -m pytest

# Headless Chromium opens every page of the built book (run after `make book`).
browser-test: $(STAMP)
	SPIKEFLUX_REQUIRE_BROWSER=1 $(PY) -m pytest tests/test_book_browser.py -v -rs

bench: $(STAMP)
	$(PY) benchmarks/bench_training.py

# Also the execution cache (python -m spikeflux.pipeline reuses a notebook whose code and inputs
# did not change): after `make clean` every notebook runs again.
clean:
	rm -rf book/_build book/notebooks "$${SPIKEFLUX_DERIVED_DIR:-data/derived}/notebook-cache"

clean-all: clean
	rm -rf data/derived data/raw $(VENV)
