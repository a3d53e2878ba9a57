# syntax=docker/dockerfile:1
# One image for web, worker, beat and the one-shot migrate service (see docker-compose.yml).
#   docker build --build-arg GIT_COMMIT=$(git rev-parse HEAD) -t terms-consent .

# --- build: dependencies into a venv, compiled translations, collected static files ----------
FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.lock /tmp/requirements.lock
# Exactly the pinned set (deploy/lock.py); --no-deps so nothing unpinned slips in.
RUN pip install --no-deps -r /tmp/requirements.lock

WORKDIR /app
COPY . /app

# Settings refuse to load outside debug without a strong secret and a delivering mail backend;
# both exist only in this build step (a random key per build, never in the final image's
# environment). DATABASE_URL / CELERY_BROKER_URL are set so that settings do not create the
# embedded SQLite database or broker directories.
RUN DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    EMAIL_URL=smtp://build-only:25 \
    DJANGO_DEBUG=false \
    DATABASE_URL=postgres://build@build-only:5432/build \
    CELERY_BROKER_URL=redis://build-only:6379/0 \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    sh -c 'python manage.py compilemessages --ignore=.venv -v0 \
        && python manage.py collectstatic --noinput -v0'

# --- runtime ---------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS runtime

# pango/harfbuzz for weasyprint (PDF receipts), Noto CJK so Japanese is embedded, not tofu;
# postgresql-client for `scripts/backup.py` / `scripts/restore.py` (the server is PostgreSQL 15).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 \
        fonts-noto-cjk postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app

ARG GIT_COMMIT=unknown
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=terms_site.settings \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    TERMS_VAR_DIR=/app/var \
    TERMS_GIT_COMMIT=${GIT_COMMIT}

COPY --from=build /opt/venv /opt/venv
# Owned by root: the app user can read the code and static files but not change them.
COPY --from=build /app /app
WORKDIR /app
# var/ holds beat's schedule and backups, the only place the app user writes to.
RUN mkdir -p /app/var/backups && chown -R app:app /app/var

USER app:app
EXPOSE 8000
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
