# Deployer itself: the dashboard (gunicorn) and the Celery worker (with beat's schedule) share
# this image.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PATH=/opt/venv/bin:$PATH \
    DEPLOYER_ENV=production
# git: clones; postgresql-client: pg_dump, pg_restore and psql for platform backups
# (bookworm's 15, the major version of the compose file's postgres:15).
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates postgresql-client \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
COPY requirements.txt /app/requirements.txt
RUN pip install --no-cache-dir -r /app/requirements.txt
COPY . /app
WORKDIR /app
RUN SECRET_KEY=collectstatic-only-not-a-secret-000000000000 DEBUG=false \
    python manage.py collectstatic --noinput
# Last, so that a new commit rebuilds only this layer's metadata.
ARG DEPLOYER_VERSION=dev
ENV DEPLOYER_VERSION=$DEPLOYER_VERSION
LABEL org.deployer.role=platform org.opencontainers.image.version=$DEPLOYER_VERSION
EXPOSE 8000
# Workers and threads: gunicorn.conf.py (sized from the machine, DEPLOYER_WEB_WORKERS/_THREADS).
CMD ["gunicorn", "deployer.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
