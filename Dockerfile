# syntax=docker/dockerfile:1
# Sluice's container image: the `sluice` binary on a small Debian, as a non-root user, with
# /data as the volume of embedded mode (SQLite, generated secrets, the embedded store's
# objects). `docker build -t sluice .` builds it from the lockfile (`--locked`: the image
# holds exactly the crate versions Cargo.lock pins). deploy/README.md runs the production
# stack from it; deploy/container-test.sh is the test.
#
# The two base images are build arguments, so an offline machine can give its own (the
# test makes its runtime base with debootstrap, and replaces the builder stage with a
# binary built on the host: `podman build --build-context builder=DIR`, DIR/out/sluice).

ARG RUST_IMAGE=docker.io/library/rust:1.95-bookworm
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${RUST_IMAGE} AS builder
WORKDIR /src
COPY . .
# The pages are committed prebuilt (api/pages) and Swagger UI is vendored: no npm and no
# download at build time beyond the crates themselves.
# `install -s` strips the symbols: a third of the binary, nothing it needs at run time.
RUN cargo build --release --locked -p sluice \
 && install -D -s -m 0755 target/release/sluice /out/sluice

FROM ${RUNTIME_IMAGE} AS runtime
# ca-certificates: HTTPS stores and audit sinks verify against the system roots.
RUN if ! [ -e /etc/ssl/certs/ca-certificates.crt ]; then \
      apt-get update && apt-get install -y --no-install-recommends ca-certificates \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && groupadd --gid 10001 sluice \
 && useradd --uid 10001 --gid sluice --no-create-home --home-dir /data --shell /usr/sbin/nologin sluice \
 && mkdir -p /data && chown sluice:sluice /data
COPY --from=builder /out/sluice /usr/local/bin/sluice
# Listen on every interface inside the container; the embedded store's URLs name
# 127.0.0.1 (publish 8788 to reach them from the host's browser).
ENV SLUICE__SERVER__BIND=0.0.0.0:8787 \
    SLUICE__SERVER__DATA_DIR=/data \
    SLUICE__STORAGE__EMBEDDED_BIND=0.0.0.0:8788
USER sluice:sluice
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8787 8788
# `sluice healthcheck` asks GET /healthz at server.bind (no curl in the image). Worker-only
# containers (`sluice worker`) serve no HTTP: give them `--no-healthcheck` or another check.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["sluice", "healthcheck"]
ENTRYPOINT ["sluice"]
CMD ["serve"]
