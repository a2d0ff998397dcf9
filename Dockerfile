# syntax=docker/dockerfile:1
# trustgate's image: Node 24 runs the TypeScript sources directly, so the image holds the
# source tree and the production dependencies, nothing else.
#
#   docker build -t trustgate:0.1.0 --build-arg TRUSTGATE_COMMIT=$(git rev-parse HEAD) .
#
# Pin by digest in production (docker buildx imagetools inspect node:<tag>).
ARG NODE_IMAGE=node:24.21.0-trixie-slim

# Build stage: resolve production dependencies exactly as package-lock.json says.
# Install scripts are skipped: no production dependency needs one, and none should run.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# Runtime stage: the code and its dependencies, owned by root and read-only to the
# unprivileged user the process runs as. npm itself is not needed at runtime.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY bin ./bin
COPY operator ./operator
COPY webhook ./webhook
COPY crds ./crds
# Node strips the types of each TypeScript module it loads with a WebAssembly compiler that
# then stays resident (~25 MiB). bin/trustgate.js keeps Node's compile cache in
# node_modules/.cache/trustgate: filled here, with the ENTRYPOINT's Node flags, it lets the
# running process find every module there and never load the compiler. Node keeps one
# cache per uid and uses only the runtime user's own, so it is filled as that user, then
# made read-only.
RUN mkdir -p node_modules/.cache/trustgate \
 && chown 65532:65532 node_modules/.cache/trustgate
# 65532 is the conventional "nonroot" uid; the Helm chart runs the pod as the same uid.
USER 65532:65532
RUN node --max-semi-space-size=8 bin/trustgate.js run --help > /dev/null \
 && chmod -R a-w node_modules/.cache/trustgate
# The commit `trustgate version` and the trustgate_build_info metric report. Set after the
# compile cache is filled, so a new commit does not rebuild that layer.
ARG TRUSTGATE_COMMIT=unknown
ENV TRUSTGATE_COMMIT=${TRUSTGATE_COMMIT}
# Admission webhook (HTTPS) and metrics/health (HTTP).
EXPOSE 9443 8080
# V8's young generation grows to 2 x 64 MiB by default; for a process that holds its caches
# that is half the memory budget spent on short-lived garbage. 8 MiB semi-spaces cost a few
# more (short) scavenges. `npm run bench -- drift` runs the operator with the same flag.
ENTRYPOINT ["node", "--max-semi-space-size=8", "bin/trustgate.js"]
CMD ["run"]
