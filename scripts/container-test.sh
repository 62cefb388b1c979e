#!/usr/bin/env bash
# The container deployment, built and run for real with podman (no Docker
# engine or image registry needed), on a fresh Debian 12 machine as root:
#
#   1. installs podman, runc, docker-compose, debootstrap, ... (only what is missing)
#      and, when the host needs them, podman settings (runc, cgroupfs, explicit ulimits);
#   2. makes a local debian:bookworm(-slim) base image with debootstrap when there is none;
#   3. builds the image from the Dockerfile, unchanged;
#   4. brings compose.yaml up (docker-compose against `podman system service`), waits for health;
#   5. queries the aggregator from the host through the published port with fanout-cli;
#   6. stops one feature container: that feature UNAVAILABLE/DEADLINE, the others fine;
#      starts it again: every feature answers again;
#   6b. scales listings from 2 to 3 replicas: the new one gets calls too (round_robin over
#      dns:///listings:50061, re-resolved as the features end connections after 30 s);
#   7. layers compose.faults.yaml on top: the injected faults show up as partial failure;
#   8. tears everything down (containers, networks, the podman service) whatever happens.
#
#   scripts/container-test.sh [--rmi]     (the image is kept for the next run; --rmi removes it)
#
# Environment: FANOUT_IMAGE (default localhost/fanout:latest), FANOUT_PORT and FANOUT_HTTP_PORT
# (the published gRPC and HTTP ports; default: free ones),
# FANOUT_CLI (a fanout-cli to use; default: built in build/).
set -euo pipefail
cd "$(dirname "$0")/.."

rmi=0
case "${1:-}" in
  --rmi) rmi=1 ;;
  "") ;;
  *) echo "usage: scripts/container-test.sh [--rmi]" >&2; exit 2 ;;
esac

started=$(date +%s)
image=${FANOUT_IMAGE:-localhost/fanout:latest}
project=fanoutct$$
base_slim=docker.io/library/debian:bookworm-slim
base_full=docker.io/library/debian:bookworm
customer="c-42"
victim=tours # the feature whose container is stopped

log() { printf '[container-test %3ds] %s\n' "$(($(date +%s) - started))" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

if [[ $(id -u) -ne 0 ]]; then
  exec sudo -E "$0" "$@"
fi

# --- 1. packages and podman settings ----------------------------------------------
scripts/setup.sh
packages=(podman runc conmon netavark aardvark-dns iptables docker-compose debootstrap
          ca-certificates curl jq python3)
missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/fanout-container-test.XXXXXX)
service_pid=""
ticker_pid=""
compose_files=(-f compose.yaml)

# podman with its defaults fails on some hosts: crun on hybrid cgroups, the systemd
# cgroup manager without systemd, ulimits above the host's hard limits. These settings
# work everywhere; they go to /etc/containers only when it has no containers.conf yet,
# else into a file of our own (CONTAINERS_CONF) so that an existing set-up is not touched.
write_containers_conf() {
  local nofile nproc
  nofile=$(ulimit -Hn)
  [[ "$nofile" == unlimited ]] && nofile=1048576
  nproc=4096
  cat <<EOF
# Written by fanout scripts/container-test.sh: settings this host needs for podman.
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
}
conf=/etc/containers/containers.conf
if [[ ! -e "$conf" ]]; then
  mkdir -p /etc/containers
  write_containers_conf >"$conf"
  log "wrote $conf"
elif ! grep -q 'fanout scripts/container-test.sh' "$conf"; then
  write_containers_conf >"$work/containers.conf"
  export CONTAINERS_CONF="$work/containers.conf"
  log "$conf exists; using $CONTAINERS_CONF for this run"
fi

compose() { FANOUT_IMAGE="$image" FANOUT_PORT="$port" FANOUT_METRICS_PORT="$metrics_port" FANOUT_HTTP_PORT="$http_port" docker-compose -p "$project" "${compose_files[@]}" "$@"; }

teardown() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  log "tearing down"
  if [[ -n "$service_pid" ]]; then
    compose down --remove-orphans -t 5 >"$work/down.log" 2>&1 || cat "$work/down.log" >&2
  fi
  # Whatever compose left behind: this project's containers and networks.
  podman ps -aq --filter "label=com.docker.compose.project=$project" | xargs -r podman rm -f -t 0 >/dev/null 2>&1
  podman network ls -q --filter "label=com.docker.compose.project=$project" |
    xargs -r podman network rm -f >/dev/null 2>&1
  podman network rm -f "${project}_default" >/dev/null 2>&1
  # The ticker ends at its next round (never killed mid-check, so it leaves no child behind).
  [[ -n "$ticker_pid" ]] && touch "$work/stop-ticker" && wait "$ticker_pid" 2>/dev/null
  [[ -n "$service_pid" ]] && kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null
  ((rmi)) && podman rmi -f "$image" >/dev/null 2>&1
  rm -rf "$work"
  if ((rc == 0)); then
    log "PASS in $(($(date +%s) - started)) s"
  else
    log "FAILED (exit $rc) after $(($(date +%s) - started)) s"
  fi
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# The manifests and compose files, checked before anything slow (YAML, and that the pieces fit).
python3 deploy/k8s/check.py >&2 || die "deploy/k8s does not check out"
docker-compose -f compose.yaml -f compose.faults.yaml config -q || die "compose files do not check out"

# --- 2. the base images --------------------------------------------------------------
# Without a registry, a stand-in for debian:bookworm-slim made with debootstrap serves
# both FROM lines of the Dockerfile, which then builds unchanged.
if ! podman image exists "$base_slim"; then
  log "making $base_slim with debootstrap (about a minute and a half)"
  rootfs="$work/rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
         "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
  tar -C "$rootfs" -c . | podman import - "$base_slim" >"$work/import.log" 2>&1 ||
    { cat "$work/import.log" >&2; die "podman import failed"; }
  rm -rf "$rootfs"
fi
podman image exists "$base_full" || podman tag "$base_slim" "$base_full"

# --- 3. the image ------------------------------------------------------------------------
log "building $image (compiles the project inside the build stage)"
build_started=$(date +%s)
podman build --network host --format docker -t "$image" . >"$work/build.log" 2>&1 ||
  { tail -40 "$work/build.log" >&2; die "podman build failed"; }
size=$(podman image inspect --format '{{.Size}}' "$image")
log "image built in $(($(date +%s) - build_started)) s; size $((size / 1000000)) MB"
[[ $(podman image inspect --format '{{.Config.User}}' "$image") == 10001:10001 ]] ||
  die "image does not run as uid 10001"

# --- fanout-cli on the host ------------------------------------------------------------
cli=${FANOUT_CLI:-}
if [[ -z "$cli" ]]; then
  log "building fanout-cli in build/"
  source scripts/lib/build.sh
  build_configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo
  build_targets build "$(nproc)" fanout-cli
  cli=build/cli/fanout-cli
fi

# --- 4. the compose stack ----------------------------------------------------------------
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=${FANOUT_PORT:-$(free_port)}
metrics_port=${FANOUT_METRICS_PORT:-$(free_port)}
http_port=${FANOUT_HTTP_PORT:-$(free_port)}
podman system service --time=0 "unix://$work/podman.sock" >"$work/service.log" 2>&1 &
service_pid=$!
export DOCKER_HOST="unix://$work/podman.sock"
for _ in $(seq 100); do curl -sf --unix-socket "$work/podman.sock" http://d/_ping >/dev/null && break; sleep 0.1; done
curl -sf --unix-socket "$work/podman.sock" http://d/_ping >/dev/null || die "podman system service did not start"

# podman runs health checks from systemd timers; where there is no systemd this loop
# is the timer, so that health states (and depends_on: service_healthy) move.
(
  while [[ ! -e "$work/stop-ticker" ]]; do
    sleep 2
    for c in $(podman ps -q --filter "label=com.docker.compose.project=$project"); do
      podman healthcheck run "$c" >/dev/null 2>&1 || true
    done
  done
) &
ticker_pid=$!

log "compose up (project $project, aggregator on 127.0.0.1:$port)"
compose up -d --scale listings=2 >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; die "compose up failed"; }

# containers SERVICE [podman ps flags]: the ids of the service's containers.
containers() {
  local svc=$1
  shift
  podman ps -q "$@" --filter "label=com.docker.compose.project=$project" \
    --filter "label=com.docker.compose.service=$svc"
}

# wait_healthy SERVICE...: each service's containers all report healthy (120 s at most). Asks
# podman by compose's labels: much quicker than a docker-compose process per question.
wait_healthy() {
  local svc ids deadline=$(($(date +%s) + 120))
  for svc in "$@"; do
    while (($(date +%s) < deadline)); do
      ids=$(containers "$svc")
      # shellcheck disable=SC2086 # one id per word
      [[ -n "$ids" && $(podman inspect --format '{{.State.Health.Status}}' $ids 2>/dev/null | sort -u) == healthy ]] &&
        continue 2
      sleep 1
    done
    compose logs --tail 20 "$svc" >&2 || true
    die "$svc did not become healthy"
  done
}
features=(listings searches saved-searches tours offers messages documents collections campaigns
          open-houses valuations leads)
wait_healthy "${features[@]}" aggregator
log "all 14 containers healthy (listings has 2 replicas)"

# query [fanout-cli flags]: the aggregated reply as JSON, from the host through the published port.
query() { "$cli" query --addr "127.0.0.1:$port" --customer "$customer" --timeout 10s "$@"; }

# --- 5. a real aggregated query ---------------------------------------------------------
"$cli" health --addr "127.0.0.1:$port" >/dev/null || die "aggregator health is not SERVING"
"$cli" query --addr "127.0.0.1:$port" --customer "$customer" --format summary
reply=$(query)
jq -e '.succeeded == 12 and (.failed // 0) == 0 and (.results | length) == 12' <<<"$reply" >/dev/null ||
  die "expected 12 features to succeed, got: $(jq -c '{succeeded, failed}' <<<"$reply")"
log "query OK: 12 of 12 features answered"
# The aggregator's admin port (metrics), published on the host: ready, and counting that query.
curl -fsS "http://127.0.0.1:$metrics_port/readyz" >/dev/null || die "aggregator /readyz is not 200"
# The whole body first: grep -q stops at its match, and curl, cut off, would fail the pipeline.
metrics=$(curl -fsS "http://127.0.0.1:$metrics_port/metrics") || die "aggregator /metrics is not 200"
grep -q '^fanout_feature_calls_total{feature="tours",kind="OK"} [1-9]' <<<"$metrics" ||
  die "aggregator /metrics does not count the tours calls"
log "metrics OK: /readyz 200, fanout_feature_calls_total counts the calls"
# The HTTP/JSON face through its published port: the same twelve features.
http_reply=$(curl -sSf --max-time 10 "http://127.0.0.1:$http_port/v1/customers/$customer/analytics") ||
  die "the HTTP/JSON face did not answer on port $http_port"
jq -e '.succeeded == 12' <<<"$http_reply" >/dev/null || die "HTTP/JSON face: expected 12 features to succeed"
log "HTTP/JSON query OK: 12 of 12 features answered"

# --- 6. one feature down, then back ------------------------------------------------------
log "stopping the $victim container"
compose stop -t 5 "$victim" >/dev/null 2>&1
ok=0
for _ in $(seq 30); do
  reply=$(query) || true
  if jq -e --arg f "$victim" '.succeeded == 11 and .failed == 1 and .partial == true and
        ([.results[] | select(.error)] | length == 1 and .[0].feature == $f and
         (.[0].error.kind == "UNAVAILABLE" or .[0].error.kind == "DEADLINE"))' <<<"$reply" >/dev/null; then
    ok=1; break
  fi
  sleep 1
done
((ok)) || die "with $victim stopped, expected it alone to fail: $(jq -c '{succeeded, failed, errors}' <<<"$reply")"
outcome=$(jq -c --arg f "$victim" '.results[] | select(.feature == $f) | {feature, kind: .error.kind}' <<<"$reply")
log "partial failure OK: $outcome, 11 others answered"

log "starting the $victim container again"
compose start "$victim" >/dev/null 2>&1
wait_healthy "$victim"
recover_started=$(date +%s)
ok=0
for _ in $(seq 90); do
  reply=$(query) || true
  if jq -e '.succeeded == 12 and (.failed // 0) == 0' <<<"$reply" >/dev/null; then ok=1; break; fi
  sleep 1
done
((ok)) || die "$victim did not recover: $(jq -c '{succeeded, failed, errors}' <<<"$reply")"
log "recovery OK: 12 of 12 again, $(($(date +%s) - recover_started)) s after $victim was healthy"

# --- 6b. a third listings replica, found and used ---------------------------------------
log "scaling listings from 2 to 3 replicas"
compose up -d --no-recreate --scale listings=3 >"$work/scale.log" 2>&1 ||
  { cat "$work/scale.log" >&2; die "compose scale failed"; }
wait_healthy listings
newest=${project}_listings_3
podman container exists "$newest" || die "no container $newest after scaling"
# Over 40 s: the features end each connection after 30 s, so the aggregator re-resolves
# listings within that and round_robin brings the new replica in. No call may fail meanwhile.
for _ in $(seq 40); do
  reply=$(query --features listings) || true
  jq -e '.succeeded == 1' <<<"$reply" >/dev/null ||
    die "listings failed while scaling: $(jq -c '{succeeded, failed, errors}' <<<"$reply")"
  sleep 1
done
compose stop -t 5 listings >/dev/null 2>&1
# Each mock prints {"event":"stats",...,"ok":N} when stopped: the calls it answered.
counts=""
for id in $(containers listings -a); do
  name=$(podman inspect --format '{{.Name}}' "$id")
  ok=$(podman logs "$id" 2>/dev/null | grep '"event":"stats"' | tail -n 1 | jq -r .ok)
  counts+=" ${name##*_listings_}:$ok"
  [[ "$name" == "$newest" ]] && newest_ok=$ok
done
if ! [[ ${newest_ok:-0} =~ ^[1-9][0-9]*$ ]]; then
  die "the new listings replica answered no call (replica:calls$counts)"
fi
log "scaling OK: calls per listings replica (replica:calls)$counts"

# --- 7. the fault-injection overlay ------------------------------------------------------
log "layering compose.faults.yaml"
compose_files=(-f compose.yaml -f compose.faults.yaml)
compose up -d >"$work/up-faults.log" 2>&1 || { cat "$work/up-faults.log" >&2; die "compose up (faults) failed"; }
wait_healthy listings tours offers leads aggregator
reply=$(query --metadata x-mock-fault=documents=error:INTERNAL)
jq -e '.partial == true and
       ([.results[] | select(.feature == "tours") | .error.kind] == ["UNAVAILABLE"]) and
       ([.results[] | select(.feature == "offers") | .error.kind] == ["DEADLINE"]) and
       ([.results[] | select(.feature == "documents") | .error.kind] == ["BACKEND_ERROR"]) and
       ([.results[] | select(.usage)] | length) >= 8' <<<"$reply" >/dev/null ||
  die "faults overlay: unexpected reply: $(jq -c '{succeeded, failed, errors}' <<<"$reply")"
log "faults overlay OK: $(jq -c '[.results[] | select(.error) | {(.feature): .error.kind}] | add' <<<"$reply")"

log "duration so far $(($(date +%s) - started)) s; image $image $((size / 1000000)) MB"
