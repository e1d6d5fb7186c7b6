#!/usr/bin/env bash
# Create .venv-freqtrade with the real freqtrade (for the interop tests in tests/interop/) when it is missing.
#
# Idempotent and quiet: does nothing when the venv already holds the pinned version. Never fails the build:
# when PyPI is unreachable (or anything else goes wrong) it prints one warning, removes the half-built venv
# and exits 0; the interop tests then skip with a reason. Overrides: FREQTRADE_VERSION, FREQTRADE_VENV,
# FREQTRADE_PYTHON (an interpreter >= 3.11), FREQTRADE_PIP_TIMEOUT (seconds per network attempt).
set -u

cd "$(dirname "$0")/.." || exit 0
VERSION="${FREQTRADE_VERSION:-2026.9}"
VENV="${FREQTRADE_VENV:-.venv-freqtrade}"
STAMP="$VENV/.freqtrade-$VERSION"
LOG="$VENV.log"
PIP_TIMEOUT="${FREQTRADE_PIP_TIMEOUT:-20}"

warn() { echo "WARNING: scripts/freqtrade-venv.sh: $*; the interop tests (tests/interop) will be skipped" >&2; }

if [ -f "$STAMP" ] && [ -x "$VENV/bin/python" ]; then
    exit 0
fi

# The base interpreter: the one behind the project venv (same Python as the project), else python3.
PY="${FREQTRADE_PYTHON:-}"
if [ -z "$PY" ]; then
    for candidate in .venv/bin/python python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1; then PY="$candidate"; break; fi
    done
fi
if [ -z "$PY" ] || ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    warn "no Python >= 3.11 found to build $VENV"
    exit 0
fi
# Resolve the base interpreter when given a venv's python, so the new venv does not chain onto it.
BASE="$("$PY" -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))' 2>/dev/null || echo "$PY")"

# One builder at a time (two `make test` in parallel); without flock we just go ahead.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$VENV.lock"
    flock 9
    if [ -f "$STAMP" ] && [ -x "$VENV/bin/python" ]; then exit 0; fi
fi

echo "scripts/freqtrade-venv.sh: installing freqtrade==$VERSION into $VENV (once, ~1 min; log: $LOG)"
rm -rf "$VENV"
if ! "$BASE" -m venv "$VENV" >"$LOG" 2>&1; then
    warn "could not create $VENV (see $LOG)"
    rm -rf "$VENV"
    exit 0
fi
if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --timeout "$PIP_TIMEOUT" --retries 1 \
        "freqtrade==$VERSION" >>"$LOG" 2>&1; then
    warn "pip could not install freqtrade==$VERSION (PyPI unreachable? see $LOG)"
    rm -rf "$VENV"
    exit 0
fi
if ! "$VENV/bin/python" -c 'import freqtrade.rpc.external_message_consumer, freqtrade.rpc.api_server.api_ws' \
        >>"$LOG" 2>&1; then
    warn "freqtrade==$VERSION installed but does not import (see $LOG)"
    rm -rf "$VENV"
    exit 0
fi
touch "$STAMP"
rm -f "$LOG"
echo "scripts/freqtrade-venv.sh: $VENV ready"
exit 0
