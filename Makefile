# azassist: two commands do everything.
#   make run    set up (system packages, .venv, locked dependencies) and open the app
#   make test   set up, start the virtual audio server / keyring / X server, run the suite
# Other targets: make bench, make package, make clean, make screenshots (refreshes the
# README's screenshots in resources/screenshots/), make fresh-check (as root: make test in a
# fresh Debian 12 root with only git, make and python3; 15-25 minutes, not part of make test).

SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

# Debian/Ubuntu packages: what the app needs at run time, and what the tests add.
RUN_DEBS := libportaudio2 libasound2-plugins libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 \
	libglib2.0-0 libfontconfig1 libfreetype6 libdbus-1-3 libxcb-cursor0 libxcb-icccm4 \
	libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-render0 libxcb-shape0 \
	libxcb-util1 libxcb-xkb1 fonts-dejavu-core ca-certificates
TEST_DEBS := $(RUN_DEBS) pulseaudio pulseaudio-utils gnome-keyring dbus dbus-x11 xvfb xauth \
	espeak-ng sox binutils debootstrap weston x11-utils xdotool

.PHONY: run test bench package clean system-deps-run system-deps-test lint screenshots fresh-check

run: system-deps-run $(VENV)/.synced-run
	$(VENV)/bin/azassist $(ARGS)

test: system-deps-test $(VENV)/.synced-test
	PY=$(VENV)/bin/python bash tests/support/run_suite.sh $(PYTEST_ARGS)

bench: system-deps-test $(VENV)/.synced-test
	$(VENV)/bin/python -m bench $(BENCH_ARGS)

package: system-deps-test $(VENV)/.synced-test
	$(VENV)/bin/python resources/packaging/build.py $(PACKAGE_ARGS)

# The suite writes its screenshots to a temporary folder; this writes the README's copies.
screenshots: system-deps-test $(VENV)/.synced-test
	AZASSIST_UPDATE_SCREENSHOTS=1 PY=$(VENV)/bin/python bash tests/support/run_suite.sh tests/ui/test_screenshots.py

fresh-check:
	$(PYTHON) tests/support/fresh_check.py $(FRESH_CHECK_ARGS)

# PYTHON is what the venvs are built from: on Debian's own Python the venv module and, for
# PyInstaller (--libpython), the shared library are packages of their own.
system-deps-run:
	@PYTHON="$(PYTHON)" bash .ci/system-deps.sh $(RUN_DEBS)

system-deps-test:
	@PYTHON="$(PYTHON)" bash .ci/system-deps.sh --libpython $(TEST_DEBS)

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.synced-run: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --python "$$(command -v $(PYTHON))"
	@rm -f $(VENV)/.synced-test && touch $@

$(VENV)/.synced-test: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --all-extras --python "$$(command -v $(PYTHON))"
	@touch $@ $(VENV)/.synced-run

clean:
	rm -rf $(VENV) $(TOOLS) build dist .pytest_cache
