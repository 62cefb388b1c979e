# leftovers.sh: which processes a script under test left running.
#
#   leftovers_init PATTERN   remembers the processes matching PATTERN (pgrep -f) that run now
#   leftovers                prints "pid args" of those matching now that did not run then
#
# Only new ones count, so processes that another checkout left running fail nothing.

leftovers_matching() { pgrep -f "$leftovers_pattern" | sort || true; }

leftovers_init() {
  leftovers_pattern=$1
  leftovers_before=$(leftovers_matching)
}

leftovers() {
  local pids
  pids=$(comm -13 <(echo "$leftovers_before") <(leftovers_matching) | paste -sd, -)
  [[ -z "$pids" ]] || ps -o pid=,args= -p "$pids" || true
}
