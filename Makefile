# The two set-up commands: `make demo` and `make test`. Both work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# The CPU build of torch that lies on this machine's disk; never ask pip for an unpinned torch.
TORCH_PIN := torch==2.13.0
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install demo test lint typecheck bench screenshot clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "$(TORCH_PIN)"
	$(PIP) install --quiet -e ".[dev,postgresql,distributed,multilingual]" "$(TORCH_PIN)"
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) tools/demo.py

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check src tests bench tools
	$(VENV)/bin/ruff format --check src tests bench tools
	$(VENV)/bin/mypy

# Every benchmark at full size; each exits 1 on a failed check or missed goal, and the
# others still run. `make test` runs them all with --smoke (tests/test_bench_smoke.py).
bench: install
	@failed=""; for b in bench/*.py; do echo "== $$b"; $(PY) $$b || failed="$$failed $$b"; done; \
	if [ -n "$$failed" ]; then echo "failed:$$failed"; exit 1; fi

# Screenshots of the examples' edition (desktop, phone, dark) into docs/, via headless Chromium.
screenshot: demo
	$(PY) tools/screenshot.py --config config.yaml --data-dir .digest-demo

clean:
	rm -rf $(VENV) .digest-demo
