#!/usr/bin/env bash
# Peak memory against tree size: the bound is threads × (chunk + 2 × overlap)
# plus the program, whatever the files. Builds a tree of large files (sparse
# 4 GiB files and 256 MiB of real data each), then scans it at several thread
# counts and two tree sizes, printing peak RSS and time.
# usage: benches/memory.sh [DIR]   (default: a temporary directory, removed after)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/rolecall
dir=${1:-$(mktemp -d)}
cleanup() { [ -z "${1:-}" ] && rm -rf "$dir"; }
trap cleanup EXIT
export AWS_EC2_METADATA_DISABLED=true
make_tree() {  # make_tree NAME FILES
  mkdir -p "$dir/$1"
  for i in $(seq 1 "$2"); do
    truncate -s 4G "$dir/$1/sparse-$i.img"
    head -c 256M /dev/urandom > "$dir/$1/random-$i.bin"
  done
  echo "AWS_ACCESS_KEY_ID=AKIA2OGYBAH6STMMNXNN" >> "$dir/$1/random-1.bin"
}
make_tree small 2
make_tree large 8
printf '%-8s %-8s %12s %10s\n' tree threads "peak RSS" seconds
for tree in small large; do
  for j in 1 2 4 8; do
    /usr/bin/time -f "%M %e" -o /tmp/rolecall-mem.txt "$bin" scan --fast -j "$j" --format summary "$dir/$tree" >/dev/null || true
    read -r kib secs < /tmp/rolecall-mem.txt
    printf '%-8s %-8s %9s KiB %10s\n' "$tree ($(du -sh --apparent-size "$dir/$tree" | cut -f1))" "$j" "$kib" "$secs"
  done
done
