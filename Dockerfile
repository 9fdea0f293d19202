# The guichet image: one process type, `guichet serve` (uvicorn), listening on port 8000.
# It does not migrate PostgreSQL: docker-compose.yml runs `guichet db upgrade` once, in
# the `migrate` service, before any replica starts.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

RUN groupadd --system --gid 10001 guichet \
 && useradd --system --no-log-init --uid 10001 --gid guichet --no-create-home \
        --home-dir /app --shell /usr/sbin/nologin guichet

WORKDIR /app

# The dependencies first, from pyproject.toml alone, so that a change to the code does
# not install them again. No dev extras: no test, lint or build tools in the image.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install --requirement /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# The app finds its migrations and the lobby display beside its package
# (app/schema.py, app/live/api.py), so the source tree stays in /app and is installed
# in editable mode; the code belongs to root and only var/ is writable by the app.
COPY README.md ./
COPY app ./app
COPY migrations ./migrations
COPY display ./display
RUN pip install --no-deps --editable . \
 && mkdir -p var \
 && chown guichet:guichet var

USER guichet

EXPOSE 8000

# Python's standard library, as the slim image has no curl: a 503 (database away) or no
# answer raises, and the container is unhealthy.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=4)"]

CMD ["guichet", "serve", "--host", "0.0.0.0", "--port", "8000"]
