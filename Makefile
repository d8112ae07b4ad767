# Two commands set up a new machine: `make run` (install + start the app on the sample project)
# and `make test` (install + run the whole suite headless). Everything else is a helper.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
PINS   := constraints.txt

.PHONY: run test install lint bench lock clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# torch first, from this machine's disk, so openai-whisper does not pull another build; then every extra
# ([all]: models, train, postgres, cluster) and the test tools, at the exact versions of constraints.txt.
$(STAMP): $(PY) pyproject.toml $(PINS)
	$(PIP) install -q -c $(PINS) torch==2.14.1 torchvision==0.29.1
	$(PIP) install -q -c $(PINS) -e '.[all,test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) main.py $(PROJECT)

lint: $(STAMP)
	$(VENV)/bin/ruff check avs_studio tests main.py
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m tests.benchmarks $(BENCH_ARGS)

# Write the versions installed in .venv to constraints.txt (after changing a dependency on purpose).
lock: $(STAMP)
	{ sed -n '1,2p' $(PINS); $(PIP) freeze --exclude-editable | grep -v -i '^pyside6.addons=='; } > $(PINS).new
	mv $(PINS).new $(PINS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache
