# syntax=docker/dockerfile:1
# The member-state API: a slim, non-root image. The embedded development database (a dev
# dependency) is not in it: the image needs MONGODB_URI (a replica set) and REDIS_URL.

# Browser assets (GraphiQL, graphql-ws) from the committed lock file; only the served files move on.
FROM node:22-bookworm-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error \
 && mkdir -p /assets/graphiql /assets/react/umd /assets/react-dom/umd /assets/graphql-ws/umd \
 && cp node_modules/graphiql/graphiql.min.js node_modules/graphiql/graphiql.min.css /assets/graphiql/ \
 && cp node_modules/react/umd/react.production.min.js /assets/react/umd/ \
 && cp node_modules/react-dom/umd/react-dom.production.min.js /assets/react-dom/umd/ \
 && cp node_modules/graphql-ws/umd/graphql-ws.min.js /assets/graphql-ws/umd/

# The virtualenv from uv.lock, runtime dependencies only (no dev group: no embedded database).
# --build-arg EXTRAS=tracing adds OpenTelemetry (TRACING=true).
FROM python:3.11-slim-bookworm AS build
ARG EXTRAS=""
ENV UV_PROJECT_ENVIRONMENT=/app/.venv UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir "uv==0.13.8"
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project ${EXTRAS:+--extra "$EXTRAS"}

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PATH="/app/.venv/bin:$PATH" \
    HOST=0.0.0.0 PORT=8000
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY --from=web /assets /app/web/node_modules
COPY app.py settings.py ./
COPY api ./api
COPY config ./config
COPY db ./db
COPY loyalty ./loyalty
COPY resolvers ./resolvers
COPY schema ./schema
COPY subscriptions ./subscriptions
COPY telemetry ./telemetry
COPY web/pages ./web/pages
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz\", timeout=2)"]
CMD ["python", "app.py", "serve"]
