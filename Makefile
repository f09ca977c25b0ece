# labkit: `make lab` starts the lab, `make test` runs the whole test suite.
# Both install what they need first (idempotent: a no-op when already installed).
PY ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install browser lab test

install:
	$(PY) -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"

browser:  # Debian's Chromium, driven by Playwright in the browser test
	@command -v chromium >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium)

lab: install
	$(PY) -m labkit.cli lab

test: install browser
	$(PY) -m pytest -q
