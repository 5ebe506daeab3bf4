# syntax=docker/dockerfile:1
# Stages (the last one, runtime, is what `docker build .` and `docker compose up backend` make):
#   base       the pinned Python image, a non-root user, the writable folders
#   build      requirements.lock (hashes checked) into /opt/venv; the sources staged without tests
#   build-dev  build + requirements-dev.lock
#   test       base + build-dev's venv + the sources and tests (docker compose run --rm tester)
#   runtime    base + build's venv + the sources: runtime dependencies only, runs as uid 10001
# Base images are pinned to a release; bump them deliberately (README: Docker).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH \
    PORT=8880 DATABASE_URL=sqlite:////app/data/cafepos.db
# The code stays root-owned (read-only to the server); it writes only uploads and the SQLite data.
RUN groupadd --gid 10001 cafepos \
    && useradd --create-home --uid 10001 --gid 10001 cafepos \
    && mkdir -p /app/uploads/menu_items /app/uploads/thumbnails /app/data \
    && chown -R 10001:10001 /app/uploads /app/data
WORKDIR /app

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.lock /tmp/requirements.lock
RUN /opt/venv/bin/pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock
# .dockerignore keeps secrets, local databases, .git and .venv out of the context; the runtime
# image also leaves out what only development needs (and uploads/, which base owns).
COPY . /src
RUN rm -rf /src/tests /src/bench /src/pytest.ini /src/uploads

FROM build AS build-dev
COPY requirements-dev.lock /tmp/requirements-dev.lock
RUN /opt/venv/bin/pip install --no-cache-dir --require-hashes -r /tmp/requirements-dev.lock

FROM base AS test
COPY --from=build-dev /opt/venv /opt/venv
COPY --from=build /src /app
COPY pytest.ini /app/pytest.ini
COPY --chown=10001:10001 tests /app/tests
COPY --chown=10001:10001 bench /app/bench
USER 10001:10001
CMD ["python", "-m", "pytest", "-p", "no:cacheprovider"]

FROM base AS runtime
COPY --from=build /opt/venv /opt/venv
COPY --from=build /src /app
USER 10001:10001
EXPOSE 8880
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "scripts/healthcheck.py"]
CMD ["python", "main.py"]
