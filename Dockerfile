# Deployer itself: the dashboard (gunicorn), the Celery worker and beat share this image.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PATH=/opt/venv/bin:$PATH \
    DEPLOYER_ENV=production
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
COPY requirements.txt /app/requirements.txt
RUN pip install --no-cache-dir -r /app/requirements.txt
COPY . /app
WORKDIR /app
RUN SECRET_KEY=collectstatic-only-not-a-secret-000000000000 DEBUG=false \
    python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["gunicorn", "deployer.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--access-logfile", "-"]
