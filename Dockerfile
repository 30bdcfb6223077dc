# syntax=docker/dockerfile:1
# SonarLab image: `docker build -t sonarlab .` then `docker run --rm sonarlab` (headless train + history).
# Stage 1 builds a release `sonarlab` in the official Swift image (Debian 12 "bookworm", same as the runtime).
# Stage 2 is a slim Debian runtime: no compiler, no Swift toolchain, a non-root user.

ARG SWIFT_IMAGE=swift:6.3.1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
# System libraries the package links: CNCurses (ncursesw), GRDB (sqlite3), CGSSAPI (gssapi_krb5).
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update -q \
    && apt-get install -y -q --no-install-recommends libncurses-dev libsqlite3-dev libkrb5-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Resolve dependencies first so the layer is reused while only sources change.
COPY Package.swift ./
RUN swift package resolve
COPY . .
# --static-swift-stdlib links the Swift runtime, Foundation (swift-foundation with its bundled ICU,
# _FoundationICU) and Dispatch into the binary; only glibc, libstdc++ and the system libraries above
# stay dynamic, so the runtime stage needs no /usr/lib/swift/linux/*.so that must match the builder.
RUN swift build -c release --product sonarlab --static-swift-stdlib \
    && mkdir -p /staging/bin /staging/app \
    && cp "$(swift build -c release --show-bin-path)/sonarlab" /staging/bin/ \
    && cp /usr/libexec/swift/linux/swift-backtrace-static /staging/bin/ \
    && cp -R config.ini data /staging/app/ \
    && for d in themes tests/functional; do \
         if [ -d "$d" ]; then mkdir -p "/staging/app/$d" && cp -R "$d/." "/staging/app/$d/"; fi; \
       done

FROM ${RUNTIME_IMAGE} AS runtime
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update -q \
    && apt-get install -y -q --no-install-recommends \
       libncursesw6 libgssapi-krb5-2 libsqlite3-0 libstdc++6 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 sonarlab \
    && useradd --system --uid 10001 --gid sonarlab --home-dir /app --shell /usr/sbin/nologin sonarlab
COPY --from=build /staging/bin/ /usr/local/bin/
COPY --from=build --chown=sonarlab:sonarlab /staging/app/ /app/
COPY scripts/serve-healthcheck.sh /usr/local/bin/sonarlab-healthcheck
WORKDIR /app
USER 10001:10001
# `run` is headless without a terminal; a crash prints a symbolicated backtrace.
ENV SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=/usr/local/bin/swift-backtrace-static
# Fails the build if a shared library is missing from the runtime stage.
RUN ["sonarlab", "--help"]
# `sonarlab serve` ([serve] port, docker-compose's `serve`); the healthcheck asks its /v2/health/ready and passes for
# the image's other commands (the headless job), which listen on nothing.
EXPOSE 8089
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=6 CMD ["sonarlab-healthcheck"]
ENTRYPOINT ["sonarlab"]
CMD ["run"]
