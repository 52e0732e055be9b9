#!/usr/bin/env bash
# Set up everything on a fresh machine, then run the demo: the bot, the local Slack
# emulator and a scenario's sandbox, no credentials. Extra arguments go to `aisre demo`
# (e.g. --scenario FILE, --list, --check).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/aisre demo "$@"
