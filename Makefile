# Two commands do everything on a fresh machine with python3, pip and make:
#   make eval   set up, then run the embedded offline evals (no API key, no network) and print the table
#   make test   set up, then run every test (the harness's own tests and the evals)
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PROJECT_ENVIRONMENT := $(VENV)
export LITELLM_LOCAL_MODEL_COST_MAP := True
export DEEPEVAL_TELEMETRY_OPT_OUT := 1

.PHONY: setup eval test clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

# Bytecode is compiled at install: with PYTHONDONTWRITEBYTECODE set (as on this project's machines) Python
# would otherwise recompile litellm's sources on every start, ~3 s more per `harness run`.
$(VENV)/.synced: $(UV) uv.lock pyproject.toml Makefile
	$(UV) sync --frozen --quiet --compile-bytecode
	touch $@

setup: $(VENV)/.synced

eval: setup
	$(VENV)/bin/pytest evals/ -q

test: setup
	$(VENV)/bin/pytest tests/ evals/ -q

clean:
	rm -rf $(VENV) $(TOOLS)
