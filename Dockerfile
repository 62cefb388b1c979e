# fanout: the aggregator, the mock feature services and fanout-cli in one image.
#
#   podman build --format docker -t localhost/fanout:latest .   (or: docker build -t localhost/fanout:latest .)
#
# The default command is the aggregator (FANOUT_CONFIG, FANOUT_LISTEN, ... as in
# README.md); `mock_services --feature NAME --listen 0.0.0.0:50061` runs one
# feature service from the same image. --format docker keeps the HEALTHCHECK,
# which the OCI image format has no field for.

# --- build: the -dev packages and the compiler ---------------------------------
FROM debian:bookworm AS build
ARG JOBS=2
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libgrpc-dev grpc-proto \
      protobuf-c-compiler libprotobuf-c-dev protobuf-compiler libprotobuf-dev \
      libjansson-dev libssl-dev libcmocka-dev libmicrohttpd-dev libjemalloc-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Only the three programs; the tests run outside the image (scripts/test.sh).
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /build -j "${JOBS}" --target aggregator mock_services fanout-cli \
 && strip /build/aggregator/aggregator /build/mock_services/mock_services /build/cli/fanout-cli

# --- runtime: the shared libraries, the binaries and the default configs -------
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgrpc29 libprotobuf-c1 libjansson4 libssl3 libmicrohttpd12 libjemalloc2 ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
 && groupadd --gid 10001 fanout \
 && useradd --uid 10001 --gid fanout --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin fanout
COPY --from=build /build/aggregator/aggregator /build/mock_services/mock_services \
                  /build/cli/fanout-cli /usr/local/bin/
COPY deploy/config/ /etc/fanout/
COPY mock_services/fleet.json /etc/fanout/fleet.json

ENV FANOUT_CONFIG=/etc/fanout/aggregator.json \
    FANOUT_LISTEN=0.0.0.0:50051 \
    FANOUT_HEALTH_ADDR=127.0.0.1:50051
USER 10001:10001
# 50051: gRPC; 8080: the HTTP/JSON face (http_listen in the shipped configs); 9464: metrics (admin_listen).
EXPOSE 50051 8080 9464
STOPSIGNAL SIGTERM
# The same check serves the mock services: they set FANOUT_HEALTH_ADDR to their
# own port. FANOUT_HEALTH_ARGS may add e.g. --tls-ca for a TLS listener.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD fanout-cli health --addr "${FANOUT_HEALTH_ADDR}" --timeout 2s ${FANOUT_HEALTH_ARGS} >/dev/null || exit 1
ENTRYPOINT []
CMD ["aggregator"]
