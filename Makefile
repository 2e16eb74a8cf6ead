# Two commands do everything on a fresh machine:  make demo  and  make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench install clean

# torch is pinned here for the machine we develop on (a local CPU wheel); the package itself
# accepts any torch >= 2.1 (pyproject.toml)
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# a character LSTM learns Python from this machine's standard library (~2 min), then writes some
demo: $(STAMP)
	$(BIN)/rnnlab train --preset demo --out runs/demo --overwrite
	$(BIN)/rnnlab generate runs/demo --prime "def " --length 600 --seed 0

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/rnn_speed.py
	$(BIN)/python bench/train_speed.py

clean:
	rm -rf $(VENV) build *.egg-info
