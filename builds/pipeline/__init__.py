"""Deploy stages as plain functions: plain values in, plain values out (no ORM, no Celery)."""
