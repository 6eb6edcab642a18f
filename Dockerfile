# zkinfer: one image for both roles, `serve` (the API, default) and `prover` (a prover node).
# See README "Scale out" and docker-compose.yml.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles its addon when no prebuilt binary matches; npm 11 honours package.json
# allowScripts (only better-sqlite3 may run an install script).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/* \
 && npm install -g npm@11
COPY . .
# The build steps live in deploy/build.sh, which CI and test/deploy-scripts.test.ts also run outside
# Docker: npm ci (its `prepare` builds dist/ with tsc), a check that the CLI starts, dev dependencies
# dropped.
RUN deploy/build.sh --production

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    ZKINFER_DATA_DIR=/data
COPY --from=build /app /app
# Volumes mounted here start with these owners, so the non-root user can write to them.
RUN mkdir -p /data/artifacts /artifacts && chown -R node:node /data /artifacts
USER node
VOLUME ["/data"]
# 8080: the API (PORT); 9464: a prover's /metrics (ZKINFER_PROVER_METRICS_PORT).
EXPOSE 8080 9464
ENTRYPOINT ["/app/deploy/start.sh"]
CMD ["serve"]
