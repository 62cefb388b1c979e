# procs.sh: what the scripts share to start processes and stop them all at the end.
# Source it after `set -euo pipefail`; it sets traps on EXIT, INT and TERM.
#
#   procs_init NAME        a work directory in $work; NAME prefixes messages
#   procs_add PID          stopped at the end (SIGTERM, then SIGKILL after 10 s)
#   wait_first_line FILE PID [SECONDS]
#                          prints the first stdout line (a JSON object) of a starting process
#   procs_start NAME CMD...  starts CMD with stdout and stderr in $work/NAME.log and waits for
#                          its first line, then in $first; its pid is then in $last_pid
#                          (not in a $(...): the pid must be recorded in this shell)

procs_init() {
  procs_name=$1
  work=$(mktemp -d "/tmp/fanout-$1.XXXXXX")
  pids=()
  trap procs_stop_all EXIT
  trap 'exit 130' INT TERM
  trap 'exit 141' PIPE
  trap 'exit 129' HUP
}

procs_add() { pids+=("$1"); }

procs_stop_all() {
  local pid alive
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 100); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}

wait_first_line() {
  local seconds=${3:-60}
  for _ in $(seq $((seconds * 10))); do
    if [[ -s "$1" ]] && head -n 1 "$1" | grep -q '}$'; then head -n 1 "$1"; return 0; fi
    kill -0 "$2" 2>/dev/null || { echo "$procs_name: process $2 died; its output:" >&2; cat "$1" >&2; return 1; }
    sleep 0.1
  done
  echo "$procs_name: process $2 did not start in $seconds s" >&2
  return 1
}

procs_start() {
  local name=$1
  shift
  "$@" >"$work/$name.log" 2>&1 &
  last_pid=$!
  procs_add "$last_pid"
  first=$(wait_first_line "$work/$name.log" "$last_pid")
}
