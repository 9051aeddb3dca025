# Tocsin container image: one image, two roles.
#   docker run IMAGE                 -> `tocsin worker` (the default CMD)
#   docker run IMAGE tocsin api      -> the HTTP API / webhooks
# Configuration comes only from TOCSIN_* environment variables and the
# read-only config file at $TOCSIN_CONFIG; no secret is ever baked in.

# --- build: install the project into a self-contained virtualenv -----------
FROM python:3.11.13-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/tocsin

WORKDIR /src
# Only what the package needs: no .git, .venv, .tocsin/ state or local .env
# files end up in the image, whatever the build context holds.
COPY pyproject.toml README* LICENSE* ./
COPY workflows/ ./workflows/
COPY activities/ ./activities/
COPY worker/ ./worker/
COPY starters/ ./starters/
RUN /opt/tocsin/bin/pip install . \
    && /opt/tocsin/bin/tocsin --help >/dev/null

# --- runtime ------------------------------------------------------------------
# Same pinned base as the build stage: the venv's interpreter path must match.
FROM python:3.11.13-slim-bookworm

ENV PATH=/opt/tocsin/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TOCSIN_CONFIG=/etc/tocsin/tocsin.yaml \
    TOCSIN_DATA_DIR=/var/lib/tocsin

RUN groupadd --system --gid 10001 tocsin \
    && useradd --system --uid 10001 --gid tocsin \
        --home-dir /var/lib/tocsin --no-create-home \
        --shell /usr/sbin/nologin tocsin \
    && mkdir -p /etc/tocsin /var/lib/tocsin \
    && chown tocsin:tocsin /var/lib/tocsin

COPY --from=build /opt/tocsin /opt/tocsin

# TOCSIN_DATA_DIR; a named volume mounted here inherits this ownership.
WORKDIR /var/lib/tocsin

USER 10001:10001

# The API's port (TOCSIN_API_PORT); the worker listens on nothing.
EXPOSE 8080

CMD ["tocsin", "worker"]
