# Two commands do everything on a fresh machine:
#   make demo   install, run the quickstart benchmark on the embedded model, write the HTML report
#   make test   install, then run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint typecheck check browser clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# llama-cpp-python comes from the portable wheel of mk/llama.mk (built once, about 6 minutes).
$(STAMP): pyproject.toml | $(PY)
	$(call llama_install,$(PY))
	$(PY) -m pip install --disable-pip-version-check -q -e '.[local,server,api,dev,ray]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/evalkit run examples/quickstart.yaml

# Headless Chromium lets the report tests open the report in a real browser; without it they skip.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "note: chromium not installed; browser tests will be skipped"; }

test: install browser
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check evalkit tests benchmarks
	$(VENV)/bin/ruff format --check evalkit tests benchmarks

typecheck: install
	$(VENV)/bin/mypy evalkit

check: lint typecheck test

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

-include mk/*.mk
