#!/usr/bin/env bash
# rolecall against the read ceiling on the same tree, warm cache: the reader
# (benches/read_ceiling.rs: the same walker settings, 256 KiB reads, no
# matching), the matching floor (the same reader with rolecall's matcher run
# on every buffer, and nothing else) and `rolecall scan --fast -j THREADS`,
# in alternating runs, with rg -uuu of the key-ID regex beside them. Prints
# each one's median wall, user and sys time and peak RSS, and the ratios of
# medians.
#
# usage: benches/vs_ceiling.sh [TREE] [THREADS] [RUNS]   (default: /usr, 2, 5)
set -euo pipefail
cd "$(dirname "$0")/.."
tree=${1:-/usr}
threads=${2:-2}
runs=${3:-5}
cargo build --release --quiet
cargo build --release --quiet --bench read_ceiling
reader=$(ls -t target/release/deps/read_ceiling-* | grep -v '\.d$' | head -n 1)
bin=target/release/rolecall
export AWS_EC2_METADATA_DISABLED=true
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
measure() { # measure NAME COMMAND...: one run, appended to $out/NAME as "wall user sys rss_kib"
  local name=$1
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$out/one" "$@" >/dev/null 2>&1 || true
  cat "$out/one" >> "$out/$name"
}
"$reader" --bench "$tree" "$threads" >/dev/null  # warm the cache
for _ in $(seq "$runs"); do
  measure ceiling "$reader" --bench "$tree" "$threads"
  measure floor "$reader" --bench --match "$tree" "$threads"
  measure rolecall "$bin" scan --fast -j "$threads" --format json --fail-on never "$tree"
  if command -v rg >/dev/null; then
    measure rg-regex rg -uuu -j "$threads" -c '(AKIA|ASIA)[A-Z2-7]{16}' "$tree"
  fi
done
echo "tree $tree, $threads threads, $runs paired runs; $("$reader" --bench "$tree" "$threads")"
python3 - "$out" <<'PY'
import os, statistics, sys
out = sys.argv[1]
med = {}
for name in ("ceiling", "floor", "rolecall", "rg-regex"):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        continue
    rows = [list(map(float, l.split())) for l in open(path) if l.strip()]
    m = [statistics.median(c) for c in zip(*rows)]
    med[name] = m
    print(f"{name:<10} wall {m[0]:6.2f} s   user {m[1]:6.2f} s   sys {m[2]:6.2f} s   peak RSS {m[3] / 1024:6.1f} MiB")
c, f, r = med["ceiling"], med["floor"], med["rolecall"]
print(f"rolecall at {c[0] / r[0]:.2f}x the read ceiling (wall), user time {r[1] / max(c[1], 0.01):.1f}x the reader's")
print(f"the matching floor (read + matcher only) at {c[0] / f[0]:.2f}x the read ceiling; rolecall at {f[0] / r[0]:.2f}x the floor")
if "rg-regex" in med:
    print(f"rolecall {med['rg-regex'][0] / r[0]:.2f}x faster than rg -uuu with the key-ID regex")
PY
