#!/usr/bin/env bash
# Builds a fixture host with every way a static key hides that rolecall's
# soundness tests cover (tests/cli/soundness.rs), runs the AMI gate on it
# (scan --root DIR --no-imds --fail-on credentials) with the binary given,
# and prints how many pairs are live, which planted keys are not, and the
# exit code: the before/after figure for a change to pairing or loading.
# usage: benches/fixture_host.sh [BINARY]   (default: a release build of this checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-}
if [ -z "$bin" ]; then
  cargo build --release --quiet
  bin=target/release/rolecall
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
S=5dkLVuqpZhD6V3Zym1hivdSHOzh6FGPjwplXD+5f
w() { mkdir -p "$(dirname "$dir/$1")"; printf '%b' "$2" > "$dir/$1"; }
w etc/passwd 'root:x:0:0:root:/root:/bin/bash\napp:x:1000:1000::/home/app:/bin/bash\nsvc:x:998:998::/var/lib/svc:/usr/sbin/nologin\n'
w root/.aws/credentials "[default]\naws_access_key_id          = AKIA454ML6LG4TJFCZ4K\naws_secret_access_key      = $S\n[ci]\nAWS_Access_Key_ID = AKIAAEDCMPB5U4MOS7AF\nAWS_Secret_Access_Key = $S\n"
w home/app/.pam_environment "AWS_ACCESS_KEY_ID DEFAULT=AKIA5R2FQUOSBEGZGSYE\nAWS_SECRET_ACCESS_KEY DEFAULT=$S\n"
w etc/security/pam_env.conf "AWS_ACCESS_KEY_ID\tOVERRIDE=AKIABANND6YZ2EMRVFTV\nAWS_SECRET_ACCESS_KEY\tOVERRIDE=\"$S\"\n"
w opt/infra/terraform.tfstate "{\"resources\": [{\"instances\": [{\"attributes\": {\n  \"id\": \"AKIAA2HIPGAD57LM4MI2\",\n  \"pgp_key\": null,\n  \"secret\": \"$S\",\n  \"user\": \"ci\"\n}}]}]}\n"
w home/app/accessKeys.csv "Access key ID,Secret access key\r\nAKIAYHZ2NARTBNLZGCJN,$S\r\n"
w var/lib/svc/.s3cfg "[default]\naccess_key = AKIA4QAVSYEEFNPAXX5I\n$(for i in $(seq 40); do printf 'option_%s = x\\n' "$i"; done)secret_key = $S\n"
w srv/app/config.properties "# Cl\xe9s\ncl\xe9_acc\xe8s=AKIA6IYLJTOPMKMY6F2D\ncl\xe9_secr\xe8te=$S\n"
w usr/local/bin/uploader "\x7fELF\x02\x01\x01\x00\x00\x00AKIAGGCQPZQ27SLEIO6E\x00\x00\x00\x00$S\x00\x00"
w var/tmp/x "[default]\naws_access_key_id = AKIARNNBER24PDCLSXIF\naws_secret_access_key = $S\n"
mkdir -p "$dir/var/lib/svc/.aws" && ln -s /var/tmp/x "$dir/var/lib/svc/.aws/credentials"
{ for i in $(seq 10000); do echo "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE"; done; printf 'AWS_ACCESS_KEY_ID=AKIAXI4VICB6WTCBE6ET\nAWS_SECRET_ACCESS_KEY=%s\n' "$S"; } > "$dir/opt/app.env"
mkdir -p "$dir/var/log/app" && printf 'start AWS_ACCESS_KEY_ID=AKIAUIEE4XCIVWF6E2B7 AWS_SECRET_ACCESS_KEY=%s\n' "$S" | gzip > "$dir/var/log/app/app.log.1.gz"
python3 -c "import sys; open(sys.argv[1],'wb').write(b'\xff\xfe'+('AccessKeyId : AKIAAYYAEFFHQ2VY545F\r\nSecretAccessKey : $S\r\n').encode('utf-16-le'))" "$dir/root/export.ps1"
w var/lib/docker/overlay2/f00d/diff/app/.env "AWS_ACCESS_KEY_ID=AKIABTF6BOH77QAXTJMK\nAWS_SECRET_ACCESS_KEY=$S\n"
planted="AKIA454ML6LG4TJFCZ4K AKIAAEDCMPB5U4MOS7AF AKIA5R2FQUOSBEGZGSYE AKIABANND6YZ2EMRVFTV AKIAA2HIPGAD57LM4MI2 AKIAYHZ2NARTBNLZGCJN AKIA4QAVSYEEFNPAXX5I AKIA6IYLJTOPMKMY6F2D AKIAGGCQPZQ27SLEIO6E AKIARNNBER24PDCLSXIF AKIAXI4VICB6WTCBE6ET AKIAUIEE4XCIVWF6E2B7 AKIAAYYAEFFHQ2VY545F AKIABTF6BOH77QAXTJMK"
set +e
"$bin" scan --root "$dir" --no-imds --fail-on credentials --format json > "$dir/report.json"
code=$?
set -e
python3 - "$dir/report.json" "$code" "$planted" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
live = {f["key_id"] for f in d["findings"] if f["live"] and f["key_id"]}
planted = set(sys.argv[3].split())
print(f"live pairs: {len(live & planted)} of {len(planted)} planted; exit code {sys.argv[2]}; verdict {d['verdict']['verdict']}")
for k in sorted(planted - live):
    seen = [f["location"].get("path") for f in d["findings"] if f["key_id"] == k]
    print(f"  not live: {k} {'found as a key ID alone in ' + ', '.join(seen) if seen else 'not found'}")
PY
