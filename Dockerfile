# Airbyte source connector for CircleCI: a two-stage build on node:24-slim.
#   docker build --network=host -t airbyte/source-circleci:dev .
# Works with the classic builder and with BuildKit (no BuildKit-only features).

# ---- build: full dependency tree, compile TypeScript ----------------------------------
FROM node:24-slim AS build
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
WORKDIR /build
COPY package.json package-lock.json ./
# --ignore-scripts: the only install script in the tree is the `node` devDependency's,
# which downloads a second Node 24 for npm scripts on old hosts; this image already is
# Node 24, and tsc needs no install scripts.
RUN npm ci --ignore-scripts
# Only the connector's sources are copied, so `npm run build` compiles src/ alone
# (tsconfig's tools/ and test/ globs match nothing here): a half-edited test cannot
# break the image, and dist/test, dist/tools never exist in this stage.
COPY tsconfig.json ./
COPY src ./src
RUN npm run build \
 && find dist/src -name '*.map' -delete \
 && test -f dist/src/main.js

# ---- runtime: production dependencies + compiled dist/src -----------------------------
FROM node:24-slim
LABEL io.airbyte.name=airbyte/source-circleci \
      io.airbyte.version=0.1.0
ENV NODE_ENV=production
WORKDIR /airbyte/integration_code
COPY package.json package-lock.json ./
# Production dependencies only (got, bottleneck, zod, dayjs); --ignore-scripts keeps the
# `node` devDependency's installer out even if npm ever considered it. The npm cache
# lives in /tmp for this one step and is deleted with it.
RUN NPM_CONFIG_CACHE=/tmp/npm-cache NPM_CONFIG_UPDATE_NOTIFIER=false \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf /tmp/npm-cache /tmp/* /root/.npm \
 && test ! -e node_modules/node
# The runtime reads spec.json and package.json from the package root, three and two
# levels above dist/src/config/spec.js and dist/src/version.js.
COPY spec.json ./
COPY --from=build /build/dist/src ./dist/src
# The image's `node` user (uid 1000), numeric so that Kubernetes' runAsNonRoot can
# verify it. Files stay root-owned and read-only to the connector.
USER 1000:1000
# --max-semi-space-size=4 caps V8's young generation at 2 × 4 MB. A sync allocates fast
# (one HTTP exchange and a page of JSON per request), and under that rate Node 24 grows
# the young generation towards 2 × 64 MB: peak RSS over 260 MB on a long history. Capped,
# it stays under 200 MB and the connector spends no more CPU (docs/PERFORMANCE.md;
# `npm run bench` runs the connector with the flags written here).
# Airbyte's launcher reads AIRBYTE_ENTRYPOINT: it must equal ENTRYPOINT joined by spaces.
ENV AIRBYTE_ENTRYPOINT="/usr/local/bin/node --max-semi-space-size=4 /airbyte/integration_code/dist/src/main.js"
ENTRYPOINT ["/usr/local/bin/node", "--max-semi-space-size=4", "/airbyte/integration_code/dist/src/main.js"]
