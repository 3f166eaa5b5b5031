# The worker app of the autoscale lab, as `autoscale export` runs it in a pod
# or on an instance: `node dist/app/main.js`, the same process the lab forks.
#
#   docker build -t autoscale-worker:dev .
#   docker run --rm -p 8080:8080 -e DATABASE_URL=postgres://user:pw@db:5432/visits \
#     autoscale-worker:dev --host 0.0.0.0 --port 8080 --database-url "$DATABASE_URL"
#
# No HEALTHCHECK on purpose: the exported Deployment's probes (GET /health)
# and the load balancer's health check do that job. docs/export.md has the
# commands to load the image into kind or minikube.

# Build: compile TypeScript, then keep only the runtime dependencies.
# better-sqlite3 (the lab's default store) compiles its native addon when no
# prebuilt binary fits, hence python3, make and g++ in this stage only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# --ignore-scripts: the `prepare` script builds from src/, copied below; then
# run the one install script the runtime needs (better-sqlite3's addon).
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime: node, the compiled worker and its production dependencies; no
# compiler, no sources, no tests. Runs as the image's unprivileged `node` user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8080
# node is PID 1: the worker handles SIGTERM itself (drains, then exits), so no init is needed.
ENTRYPOINT ["node", "dist/app/main.js"]
CMD ["--host", "0.0.0.0", "--port", "8080"]
