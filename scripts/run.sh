#!/usr/bin/env bash
# Start the whole service: migrate, load the demo, a Celery worker with beat, and the web server.
# Embedded by default (SQLite + filesystem broker under var/); DATABASE_URL / CELERY_BROKER_URL
# switch to PostgreSQL / Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${TERMS_RUN_HOST:-127.0.0.1}
PORT=${TERMS_RUN_PORT:-8000}
# Links in e-mails and the events feed point at this server unless told otherwise.
export TERMS_PORTAL_BASE_URL=${TERMS_PORTAL_BASE_URL:-http://$HOST:$PORT}
mkdir -p var
# A .env for commands run by hand (`python manage.py loaddemo`), never overwriting one.
$PY scripts/dev_env.py

$PY manage.py migrate --no-input -v0
$PY manage.py compilemessages --ignore=.venv -v0 2>/dev/null || true
# The real seed documents when they are at hand (TERMS_SEEDS_DIR, or ../shared/seeds beside the
# checkout): the rulebooks cite their articles, which the shipped short samples do not all have.
SEEDS=${TERMS_SEEDS_DIR:-../shared/seeds}
DEMO_ARGS=${TERMS_DEMO_ARGS:-}
if [ -d "$SEEDS" ] && [[ "$DEMO_ARGS" != *--terms-dir* ]]; then
  DEMO_ARGS="$DEMO_ARGS --terms-dir $SEEDS"
fi
$PY manage.py loaddemo $DEMO_ARGS

# One worker that also runs beat: `--pool=solo` keeps the embedded mode to one process pair.
.venv/bin/celery -A terms_site worker -B --pool=solo -l info \
  -s "${TERMS_VAR_DIR:-var}/celerybeat-schedule" >var/worker.log 2>&1 &
WORKER=$!
trap 'kill $WORKER 2>/dev/null; wait $WORKER 2>/dev/null' EXIT INT TERM

cat <<MSG

  Terms & consent service
  -----------------------
  Console   http://$HOST:$PORT/console/   (staff: see the logins above)
  Portal    http://$HOST:$PORT/portal/
  Public    http://$HOST:$PORT/terms/  and  http://$HOST:$PORT/notices/
  API       http://$HOST:$PORT/api/v1/  (docs: /api/v1/docs/)
  Admin     http://$HOST:$PORT/admin/
  Health    http://$HOST:$PORT/healthz  and  /readyz
  Worker + beat log: var/worker.log

MSG
$PY manage.py runserver "$HOST:$PORT" --noreload
