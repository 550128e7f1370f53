# make demo: set up, then render the unrolled RNN with the BPTT check.
# make test: set up, then run the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench graphviz chromium setup docs clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

# Graphviz's `dot`: on PATH or named by MINIGRAD_DOT; else Debian's package where we are root.
graphviz:
	@if [ -n "$$MINIGRAD_DOT" ] && [ -x "$$MINIGRAD_DOT" ]; then exit 0; fi; \
	if command -v dot >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Graphviz (Debian package graphviz)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null) \
			|| { echo "apt-get could not install graphviz" >&2; exit 1; }; \
	else \
		echo "Graphviz's dot program is missing. Install it with one of:" >&2; \
		echo "  sudo apt-get install graphviz   |   brew install graphviz   |   conda install -c conda-forge graphviz" >&2; \
		echo "or set MINIGRAD_DOT=/path/to/dot" >&2; \
		exit 1; \
	fi

# Headless Chromium and its driver for the browser tests of viz.html's page: Debian's packages,
# installed where we are root; the Python driver (selenium) is told their paths, so it never
# downloads a browser of its own.
CHROMIUM := /usr/bin/chromium
CHROMEDRIVER := /usr/bin/chromedriver
chromium:
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Chromium (Debian packages chromium, chromium-driver)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium chromium-driver >/dev/null) \
			|| { echo "apt-get could not install chromium and chromium-driver" >&2; exit 1; }; \
	else \
		echo "The browser tests need $(CHROMIUM) and $(CHROMEDRIVER). Install them with:" >&2; \
		echo "  sudo apt-get install chromium chromium-driver" >&2; \
		exit 1; \
	fi

test: $(STAMP) graphviz chromium
	$(PY) -m pytest

demo: $(STAMP) graphviz
	@mkdir -p out
	$(VENV)/bin/minigrad bptt --seq-len 4 --hidden 3 --grads --out out/rnn-bptt.svg \
		--html out/rnn-bptt.html

# The pictures the README shows.
docs: $(STAMP) graphviz chromium
	$(VENV)/bin/minigrad bptt --seq-len 4 --hidden 3 --grads --out docs/rnn-bptt.svg \
		--html docs/rnn-bptt.html
	$(PY) docs/screenshot.py docs/rnn-bptt.html docs/rnn-bptt-page.png --frame 41
	$(VENV)/bin/minigrad bptt --seq-len 30 --step 30 --grads --fold 2 --out docs/rnn-vanishing.svg
	$(VENV)/bin/minigrad bptt --seq-len 6 --hidden 3 --grads --term 6,6 --highlight W --out docs/rnn-term-near.svg
	$(VENV)/bin/minigrad bptt --seq-len 6 --hidden 3 --grads --term 6,2 --highlight W --out docs/rnn-term-far.svg
	$(VENV)/bin/minigrad gradflow --seq-len 60 --out docs/gradflow.svg
	$(VENV)/bin/minigrad train-char --model rnn --steps 2000 --quiet --sample-every 0 --plot docs/char-rnn-loss.svg

bench: $(STAMP)
	$(PY) benchmarks/rnn.py
	$(PY) benchmarks/ops.py
	$(PY) benchmarks/memory.py

clean:
	rm -rf $(VENV) out build *.egg-info .pytest_cache .hypothesis
