# One image for both production processes: `node dist/api/main.js` (the default) and
# `node dist/worker/main.js`; docker-compose.yml picks the entry point per service. No secret is
# baked in: every one comes from the environment at run time (see .env.example).

# --- build: compile to dist/ and prebuild the workflow bundle (needs the dev dependencies) -------
FROM node:20-slim AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false
COPY package.json package-lock.json ./
RUN npm ci --no-audit
COPY . .
RUN npm run build

# --- the runtime's dependencies only --------------------------------------------------------------
FROM node:20-slim AS dependencies
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit && npm cache clean --force

# --- runtime: compiled JavaScript and the prebuilt workflow bundle, run by node as a non-root user -
FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
# scripts/runtime-image.ts says why (worker memory) and keeps the benchmark on the same settings.
ENV NODE_OPTIONS="--enable-source-maps --max-semi-space-size=2"
ENV MALLOC_ARENA_MAX=2
COPY --from=dependencies --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
# The code is owned by root and only readable by the service's user.
USER node
EXPOSE 3000
# Liveness of the API (node:20-slim has no curl). The worker has no HTTP port of its own:
# docker-compose.yml gives it a check on its metrics endpoint instead.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=6 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/api/main.js"]
