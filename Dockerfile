# One image for both production processes; docker-compose.yml picks the entry point per service.
FROM node:20-slim

WORKDIR /app
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false

# Dependencies first, so a source change does not reinstall them. tsx is a runtime dependency:
# the services run from TypeScript source, as `npm run api` / `npm run worker` do.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit && npm cache clean --force

COPY . .

USER node
EXPOSE 3000
CMD ["npx", "tsx", "api/main.ts"]
