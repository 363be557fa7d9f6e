# The evented runtime's image: `evented serve`, what `evented deploy kubernetes` runs (one role per pod).
#
#   docker build -t evented:0.1.0 .
#   docker run --rm evented:0.1.0 --version
#
# Three stages: `build` compiles and packs the package (what `npm pack` ships: package.json "files"), `deps`
# installs the production dependencies (better-sqlite3 compiles natively, hence python3, make and g++ there), and
# the image itself holds those two and nothing else, run by a user that is not root.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: nothing native is needed to build, and `prepare` would build before the sources are here.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json buf.yaml buf.gen.yaml README.md ./
COPY bin bin
COPY proto proto
COPY scripts scripts
COPY runtime runtime
COPY cli cli
COPY console console
COPY templates templates
RUN npm run gen && npm run build
# Exactly the files of the package, unpacked into /package.
RUN npm pack --ignore-scripts --pack-destination /tmp \
 && mkdir /package \
 && tar -xzf /tmp/evented-*.tgz -C /package --strip-components=1

FROM ${NODE_IMAGE} AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; better-sqlite3's own install script builds it (mongodb-memory-server's, which would
# download a mongod, never runs).
RUN npm ci --omit=dev --ignore-scripts \
 && npm rebuild better-sqlite3 \
 && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /package/ ./
COPY --from=deps /app/node_modules ./node_modules
# A numeric user that is not root, so that Kubernetes can check runAsNonRoot; the files stay root's, read-only.
USER 10001:10001
# command 1313, query 1314, projector coordinator 1315, admin 1316, health 1317, saga coordinator 1748
EXPOSE 1313 1314 1315 1316 1317 1748
ENTRYPOINT ["node", "/app/bin/evented.js"]
CMD ["serve", "/etc/evented/config"]
