#!/usr/bin/env bash
# Times the default host scan (not --full) of this machine, warm cache, and
# reports its peak memory and what it covered. IMDS is not queried.
# usage: benches/host_scan.sh [THREADS]   (default 2, the default of rolecall)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
command -v hyperfine >/dev/null || apt-get install -y hyperfine >/dev/null
cargo build --release --quiet
bin=target/release/rolecall
hyperfine --warmup 1 --runs 5 --ignore-failure -n "host scan (-j $threads)" "$bin scan --no-imds -j $threads --format json"
/usr/bin/time -f "peak RSS: %M KiB, wall %e s, user %U s, sys %S s" "$bin" scan --no-imds -j "$threads" --format json >/tmp/rolecall-host.json
python3 - <<'PY'
import json
d = json.load(open('/tmp/rolecall-host.json'))
c = d['coverage']
print(f"files {c['files_scanned']}, processes {c['processes_scanned']}, {c['bytes_scanned']/2**20:.0f} MiB, "
      f"chains {len(d['chains'])}, findings {len(d['findings'])}, gaps {sum(c['gap_counts'].values())}")
PY
