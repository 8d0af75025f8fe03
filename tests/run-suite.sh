#!/usr/bin/env bash
# Runs the whole suite twice: on SQLite + the embedded queue, then on PostgreSQL + Redis + real
# `rq worker` processes when those answer. Whatever cannot run is named in the summary.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
REPORTS=$(mktemp -d)
SKIPPED=()

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing the system Chromium for the browser tests…"
    (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 || true
  fi
fi
command -v chromium >/dev/null 2>&1 || SKIPPED+=("browser tests: no system Chromium (apt-get install -y chromium)")

echo "== ruff"
$BIN/ruff check . || exit 1
$BIN/ruff format --check . || exit 1

echo "== pass 1: SQLite + embedded queue"
env -u DATABASE_URL -u REDIS_URL $BIN/pytest -q -p no:cacheprovider --junitxml="$REPORTS/sqlite.xml" "$@"
status=$?

PG_URL=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}
REDIS=${REDIS_URL:-redis://127.0.0.1:6379/15}
if $BIN/python - "$PG_URL" "$REDIS" <<'PY'
import sys
import psycopg2
import redis
try:
    psycopg2.connect(sys.argv[1], connect_timeout=3).close()
    redis.Redis.from_url(sys.argv[2], socket_connect_timeout=3).ping()
except Exception as error:
    print(f"services not reachable: {type(error).__name__}: {error}".splitlines()[0])
    sys.exit(1)
PY
then
  echo "== pass 2: PostgreSQL ($PG_URL) + Redis ($REDIS) + rq worker processes"
  DATABASE_URL=$PG_URL REDIS_URL=$REDIS $BIN/pytest -q -p no:cacheprovider --junitxml="$REPORTS/services.xml" "$@"
  pass2=$?
  [ $status -eq 0 ] && status=$pass2
else
  SKIPPED+=("pass 2 (PostgreSQL + Redis + rq workers): services not reachable at $PG_URL / $REDIS")
fi

echo "== summary"
for item in "${SKIPPED[@]+"${SKIPPED[@]}"}"; do echo "NOT RUN: $item"; done
$BIN/python - "$REPORTS" <<'PY'
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
totals = {"passed": 0, "failed": 0, "skipped": 0}
for report in sorted(Path(sys.argv[1]).glob("*.xml")):
    suite = ET.parse(report).getroot().find("testsuite")
    tests, failures, errors, skipped = (int(suite.get(k)) for k in ("tests", "failures", "errors", "skipped"))
    print(f"{report.stem}: {tests - failures - errors - skipped} passed, {failures + errors} failed, {skipped} skipped")
    totals["passed"] += tests - failures - errors - skipped
    totals["failed"] += failures + errors
    totals["skipped"] += skipped
print(f"total: {totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
PY
exit $status
