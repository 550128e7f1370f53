# make demo: set up, then render the unrolled RNN with the BPTT check.
# make test: set up, then run the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench graphviz chromium setup docs notebook clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

# An extra on top of the set-up: $(VENV)/.installed-notebook installs .[notebook], and so on.
$(VENV)/.installed-%: $(STAMP)
	$(PY) -m pip install -q -e ".[dev,$*]"
	touch $@

# Jupyter's and IPython's own files (settings, workspaces, runtime files, history, matplotlib's
# font cache, the logs of the npm that JupyterLab's language-server lookup runs) stay in the
# venv, and the venv's python3 kernel wins over any the user installed.
JUPYTER_HOME := $(abspath $(VENV))/jupyter-home
JUPYTER_ENV := JUPYTER_PREFER_ENV_PATH=1 JUPYTER_DATA_DIR=$(JUPYTER_HOME)/data \
	JUPYTER_RUNTIME_DIR=$(JUPYTER_HOME)/runtime IPYTHONDIR=$(JUPYTER_HOME)/ipython \
	JUPYTERLAB_SETTINGS_DIR=$(JUPYTER_HOME)/lab/user-settings \
	JUPYTERLAB_WORKSPACES_DIR=$(JUPYTER_HOME)/lab/workspaces \
	MPLCONFIGDIR=$(JUPYTER_HOME)/matplotlib npm_config_cache=$(JUPYTER_HOME)/npm

# The teaching notebook in JupyterLab, on the venv's own kernel (JupyterLab refuses root unless
# told, and containers often run as root).
notebook: $(VENV)/.installed-notebook graphviz
	@mkdir -p $(JUPYTER_HOME)
	$(JUPYTER_ENV) $(VENV)/bin/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root) \
		notebooks/bptt.ipynb

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

# The suite's own caches (matplotlib's fonts, Chromium's profile) stay inside the checkout.
TEST_ENV := MPLCONFIGDIR=$(CURDIR)/.venv/cache/matplotlib XDG_CONFIG_HOME=$(CURDIR)/.venv/config \
	XDG_CACHE_HOME=$(CURDIR)/.venv/cache

test: $(STAMP) graphviz chromium
	$(TEST_ENV) $(PY) -m pytest

demo: $(STAMP) graphviz
	@mkdir -p out
	$(VENV)/bin/minigrad bptt --seq-len 4 --hidden 3 --grads --out out/rnn-bptt.svg \
		--html out/rnn-bptt.html

# The pictures the README shows.
docs: $(STAMP) $(VENV)/.installed-docs graphviz chromium
	$(VENV)/bin/minigrad bptt --seq-len 4 --hidden 3 --grads --out docs/rnn-bptt.svg \
		--html docs/rnn-bptt.html
	$(PY) docs/screenshot.py docs/rnn-bptt.html docs/rnn-bptt-page.png --frame 41
	$(VENV)/bin/minigrad bptt --seq-len 30 --step 30 --grads --fold 2 --out docs/rnn-vanishing.svg
	$(VENV)/bin/minigrad bptt --seq-len 6 --hidden 3 --grads --term 6,6 --highlight W --out docs/rnn-term-near.svg
	$(VENV)/bin/minigrad bptt --seq-len 6 --hidden 3 --grads --term 6,2 --highlight W --out docs/rnn-term-far.svg
	$(VENV)/bin/minigrad gradflow --seq-len 60 --out docs/gradflow.svg
	$(VENV)/bin/minigrad train-char --model rnn --steps 2000 --quiet --sample-every 0 --plot docs/char-rnn-loss.svg
	@mkdir -p $(JUPYTER_HOME)
	$(JUPYTER_ENV) MPLBACKEND=Agg $(VENV)/bin/jupyter nbconvert --to html --execute \
		notebooks/bptt.ipynb --output-dir docs --output bptt
	$(PY) benchmarks/bptt_vs_rtrl.py --plot docs/bptt-vs-rtrl.svg
	$(PY) docs/checkpoint_picture.py docs/rnn-checkpoint.svg
	$(PY) benchmarks/memory.py --steps 5000 --plot docs/bptt-memory.svg

bench: $(STAMP)
	$(PY) benchmarks/rnn.py
	$(PY) benchmarks/ops.py
	$(PY) benchmarks/memory.py --quick
	$(PY) benchmarks/bptt_vs_rtrl.py --quick
	$(PY) benchmarks/plain_loop.py --quick

clean:
	rm -rf $(VENV) out build *.egg-info .pytest_cache .hypothesis
