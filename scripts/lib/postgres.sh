# Find a PostgreSQL for the tests: AISRE_TEST_DATABASE_URL, the local server on
# 127.0.0.1:5432 (database "test"), or a throwaway cluster made with initdb.
# In CI (CI=true) a missing PostgreSQL fails the run instead of skipping.
pg_answers() { .venv/bin/python - "$1" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1].replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3).close()
except Exception:
    sys.exit(1)
PY
}

ensure_postgres() {
  if [ -n "${AISRE_TEST_DATABASE_URL:-}" ]; then
    pg_answers "$AISRE_TEST_DATABASE_URL" && return 0
    echo "postgres: AISRE_TEST_DATABASE_URL does not answer" >&2; return 1
  fi
  local url="postgresql+psycopg://postgres@127.0.0.1:5432/test"
  if pg_answers "$url"; then export AISRE_TEST_DATABASE_URL=$url; return 0; fi
  local initdb pgctl
  initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | tail -n1)
  pgctl=$(ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | tail -n1)
  if [ -n "$initdb" ] && [ -n "$pgctl" ]; then
    local dir; dir=$(mktemp -d /tmp/aisre-pg.XXXXXX)
    local runas=""; [ "$(id -u)" -eq 0 ] && { chown -R postgres "$dir" 2>/dev/null && runas="runuser -u postgres --"; }
    $runas "$initdb" -D "$dir/data" -A trust -U postgres >/dev/null &&
      $runas "$pgctl" -D "$dir/data" -o "-p 55432 -k $dir -c listen_addresses=127.0.0.1" -l "$dir/log" -w start >/dev/null &&
      $runas psql -h 127.0.0.1 -p 55432 -U postgres -c 'CREATE DATABASE test' >/dev/null 2>&1
    url="postgresql+psycopg://postgres@127.0.0.1:55432/test"
    if pg_answers "$url"; then
      export AISRE_TEST_DATABASE_URL=$url
      trap "$runas $pgctl -D $dir/data stop -m fast >/dev/null 2>&1; rm -rf $dir" EXIT
      echo "postgres: started a throwaway cluster on 127.0.0.1:55432" >&2
      return 0
    fi
  fi
  if [ "${CI:-}" = "true" ]; then echo "postgres: no PostgreSQL answers and this is CI: failing" >&2; return 1; fi
  echo "postgres: none found; PostgreSQL tests will be skipped" >&2
  export AISRE_TEST_DATABASE_URL=""
  return 0
}
