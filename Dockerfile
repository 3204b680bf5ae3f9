# dhub in a container: built in a full Rust image, run from a slim Debian image as an unprivileged
# user. `docker build -t dhub .` at the repository root; `deploy/compose.yml` uses it.
#
#   --build-arg DHUB_GIT_COMMIT=$(git rev-parse --short HEAD)   shown in dhub_build_info{commit}

FROM rust:1-bookworm AS build
# librdkafka is built from source by rdkafka-sys: it needs cmake and a C++ compiler.
RUN apt-get update && apt-get install -y --no-install-recommends cmake g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG DHUB_GIT_COMMIT=unknown
ENV DHUB_GIT_COMMIT=${DHUB_GIT_COMMIT}
RUN cargo build --release --locked --bin dhub \
    && install -D -m 0755 target/release/dhub /out/dhub

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 dhub \
    && useradd --system --uid 10001 --gid dhub --home-dir /var/lib/dhub --shell /usr/sbin/nologin dhub \
    && install -d -o dhub -g dhub -m 0750 /var/lib/dhub /var/lib/dhub/inbox
COPY --from=build /out/dhub /usr/local/bin/dhub
# The mappings and policies ship with the image; a site's own go in a volume or ConfigMap beside them.
COPY mappings /etc/dhub/mappings
COPY deploy/demo/policies /etc/dhub/policies
COPY deploy/compose/hub.toml /etc/dhub/hub.toml
USER 10001:10001
WORKDIR /var/lib/dhub
ENV TZ=Asia/Shanghai
# Metrics, health, dashboard and push ingest (hub.listen; 0.0.0.0 inside a container).
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s CMD ["/usr/local/bin/dhub", "status", "--url", "http://127.0.0.1:9464", "--quiet"]
ENTRYPOINT ["/usr/local/bin/dhub"]
CMD ["run", "--config", "/etc/dhub/hub.toml"]
