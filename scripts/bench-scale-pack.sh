#!/usr/bin/env bash
# bench-scale-pack.sh: everything bench-scale.py needs on a machine without this project's Debian
# packages (a lent benchmark machine), in one folder: the Release binaries, every library they
# load, the dynamic loader, the script and the fleet file.
#
#   scripts/bench-scale-pack.sh OUT_DIR [BUILD_DIR]     (BUILD_DIR: build, a Release build)
#
# There, from OUT_DIR's parent:
#   OUT_DIR/run.sh [bench-scale.py options]     e.g. OUT_DIR/run.sh --workers 1,4,8 --engines default,poll
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1
build=${2:-build}
bins=("$build/aggregator/aggregator" "$build/mock_services/mock_services" "$build/bench/fanout-bench")
for b in "${bins[@]}"; do [[ -x "$b" ]] || { echo "bench-scale-pack: $b is missing: build first" >&2; exit 2; }; done
rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/scripts" "$out/mock_services"
cp "${bins[@]}" "$out/bin/"
cp scripts/bench-scale.py "$out/scripts/"
cp mock_services/fleet.json "$out/mock_services/"
# Every library any binary loads, by the path the loader here resolved, and the loader itself.
ldd "${bins[@]}" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\/.*ld-linux/ {print $1}' | sort -u |
  while read -r lib; do cp -L "$lib" "$out/lib/"; done
loader=$(basename "$(ldd "${bins[0]}" | awk '$1 ~ /ld-linux/ {print $1}')")
cat >"$out/run.sh" <<EOF
#!/bin/sh
# bench-scale.py with the binaries and libraries of this folder (made by scripts/bench-scale-pack.sh).
here=\$(cd "\$(dirname "\$0")" && pwd)
exec python3 "\$here/scripts/bench-scale.py" --bin "\$here/bin" --loader "\$here/lib/$loader" --libs "\$here/lib" "\$@"
EOF
chmod +x "$out/run.sh"
echo "bench-scale-pack: $(du -sh "$out" | cut -f1) in $out ($(ls "$out/lib" | wc -l) libraries)"
