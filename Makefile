# The two commands a new user needs: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint docs clean bench bench-http bench-control bench-rolling

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s)" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# compat: a plain .pth entry instead of an import hook, which cost every circusctl run ~6 ms
	$(BIN)/pip install -q -e '.[dev]' --config-settings editable_mode=compat
	@touch $@

run: $(STAMP)
	$(BIN)/python -m circus_web_stack.cli.run_example

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

docs: $(STAMP)
	$(BIN)/python -m circus_web_stack.config.docs > docs/options.md
	$(BIN)/python -m circus_web_stack.cli.command_docs > docs/commands.md
	$(BIN)/python -m circus_web_stack.cli.states_docs > docs/states.md

# Side-by-side benchmarks (peers install into their own venvs; wrk comes from apt when missing).
bench: bench-http bench-control bench-rolling

bench-http: $(STAMP)
	$(BIN)/python -m benchmarks.http_bench

bench-control: $(STAMP)
	$(BIN)/python -m benchmarks.control_latency

bench-rolling: $(STAMP)
	$(BIN)/python -m benchmarks.rolling_restart

clean:
	rm -rf $(VENV) build *.egg-info
