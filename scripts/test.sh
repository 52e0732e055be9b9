#!/usr/bin/env bash
# Set up and run the whole test suite: lint, types, tests on SQLite and PostgreSQL, the eval.
# Usage: scripts/test.sh [pytest args...]
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-test-tools || exit 1
export AISRE_TEST_DATABASE_URL=${AISRE_TEST_DATABASE_URL:-}
. scripts/lib/postgres.sh
ensure_postgres || exit 1

status=0
echo "==> ruff"; .venv/bin/ruff check bot tests benchmarks || status=1
echo "==> mypy"; .venv/bin/mypy bot || status=1

echo "==> pytest"
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
rc=$?
if [ $rc -eq 5 ]; then echo "pytest collected no tests"; rc=0; fi
[ $rc -ne 0 ] && status=$rc

if [ -d scenarios ] && [ -x .venv/bin/aisre ]; then
  # the investigator through the sandbox servers and the real adapters, on the project's suite
  echo "==> aisre eval scenarios"
  .venv/bin/aisre eval scenarios 2>/dev/null || status=1
  # the LLM reasoner against the local Messages-API fake (in-memory sources, to keep CI short)
  echo "==> aisre eval scenarios --reasoner llm (Messages-API fake)"
  .venv/bin/aisre eval scenarios --reasoner llm --direct 2>/dev/null | tail -n 1 || status=1
fi
exit $status
