#!/usr/bin/env bash
# Holes cost nothing: a 10 GB sparse file with one key pair in its last
# bytes, scanned by BINARY (and by BEFORE, when given, for the comparison).
# Prints wall, user and sys time, peak RSS, bytes read and where the key was
# found (its exact line and column). 3 runs each, warm cache.
# usage: benches/sparse.sh [BINARY] [BEFORE]   (default: a release build of this checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-$PWD/target/release/rolecall}
[ -n "${1:-}" ] || cargo build --release --quiet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 - "$dir/huge.log" <<'PY'
import sys
size = 10 * 1024**3
tail = b"\nAWS_ACCESS_KEY_ID=AKIA2OGYBAH6STMMNXNN\nAWS_SECRET_ACCESS_KEY=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\n"
with open(sys.argv[1], "wb") as f:
    f.write(b"one\ntwo\nthree\n")
    f.truncate(size)
    f.seek(size - len(tail))
    f.write(tail)
PY
for b in "$bin" ${2:+"$2"}; do
  for run in 1 2 3; do
    /usr/bin/time -f "%e %U %S %M" -o "$dir/time" env AWS_EC2_METADATA_DISABLED=true "$b" scan --format json --fail-on never "$dir" > "$dir/out.json"
    read -r wall user sys rss < "$dir/time"
    where=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); f=[x for x in r["findings"] if x["key_id"]=="AKIA2OGYBAH6STMMNXNN"][0]; print(f["location"]["line"], f["location"]["column"], f["has_secret"], r["coverage"].get("bytes_scanned"))' "$dir/out.json")
    printf '%-45s run %s: wall %6.2f s, user %5.2f s, sys %5.2f s, peak RSS %5.1f MiB; key at line/column/with secret/bytes read: %s\n' \
      "$b" "$run" "$wall" "$user" "$sys" "$(awk "BEGIN { print $rss / 1024 }")" "$where"
  done
done
