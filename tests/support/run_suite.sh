#!/usr/bin/env bash
# Runs the suite as `make test` does: the Qt window tests in their own pytest process per
# file, everything else in one process.
#
# Why: a fresh process per UI file keeps leftover Qt objects and audio threads of earlier
# tests out of it. Nothing is retried: a pytest process that dies of a signal fails the
# suite like a failing test. (A Qt window test once died of SIGSEGV inside the Qt event loop:
# Qt objects freed by Python's cycle collector in an audio thread, with timers still
# running; see azassist/ui/event_loop.py and tests/ui/test_qt_lifetimes.py.)
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
status=0

# Whatever the suite puts in the temporary folder (pytest's tmp_path folders, the services'
# folders, what the programs under test write there) goes into one folder of its own, which
# is removed when the suite ends, however it ends.
suite_tmp=$(mktemp -d "${TMPDIR:-/tmp}/azassist-test-XXXXXX")
trap 'rm -rf "$suite_tmp"' EXIT
export TMPDIR=$suite_tmp

run() {  # run pytest once; any non-zero exit (a failure, or death by a signal) fails the suite
  "$PY" -X faulthandler -m pytest "$@"
  local rc=$?
  if [ $rc -gt 128 ]; then
    echo "!!! pytest died of signal $((rc - 128)) in: $* (not retried)" >&2
  fi
  [ $rc -ne 0 ] && status=1
  return 0
}

if [ $# -gt 0 ]; then  # explicit arguments: one plain run, as asked
  "$PY" -X faulthandler -m pytest "$@"
  exit $?
fi

# Lint and types are part of the suite: a finding fails it like a failing test.
echo "== ruff check"
"$PY" -m ruff check . || status=1
echo "== mypy"
"$PY" -m mypy || status=1

run --ignore=tests/ui
for file in tests/ui/test_*.py; do
  run "$file"
done
exit $status
