#!/usr/bin/env bash
# Times `rolecall scan` against ripgrep on the same tree, warm cache:
#   rg -uuu with the same key-ID regex, and
#   rg -uuu -F of a literal that never occurs (the read-and-scan ceiling).
# Prints hyperfine's table and rolecall's peak memory.
#
# usage: benches/vs_rg.sh [TREE] [THREADS]    (default: /usr, 2)
# needs: rg and hyperfine (Debian packages ripgrep, hyperfine; installed if missing and apt works)
set -euo pipefail
cd "$(dirname "$0")/.."
tree=${1:-/usr}
threads=${2:-2}
for tool in rg hyperfine; do
  command -v "$tool" >/dev/null || { apt-get install -y ripgrep hyperfine >/dev/null; }
done
cargo build --release --quiet
bin=target/release/rolecall
export AWS_EC2_METADATA_DISABLED=true
echo "tree: $tree ($(du -sh "$tree" 2>/dev/null | cut -f1), $(find "$tree" -xdev -type f 2>/dev/null | wc -l) files), threads: $threads"
hyperfine --warmup 1 --runs 5 --ignore-failure \
  -n rolecall "$bin scan -j $threads --format json $tree" \
  -n "rg-regex" "rg -uuu -j $threads -c '(AKIA|ASIA)[A-Z2-7]{16}' $tree" \
  -n "rg-ceiling" "rg -uuu -j $threads -c -F ZQXJNEVERPRESENTQZX $tree"
/usr/bin/time -f "rolecall peak RSS: %M KiB, %e s" "$bin" scan -j "$threads" --format json "$tree" >/tmp/rolecall-bench.json
python3 -c "import json; c=json.load(open('/tmp/rolecall-bench.json'))['coverage']; print('rolecall read', c['files_scanned'], 'files,', round(c['bytes_scanned']/2**20), 'MiB')"
