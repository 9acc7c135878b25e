#!/usr/bin/env bash
# What a hostile local user can cost the root scan: peak RSS and wall time of
# a process scan (`scan --sources processes`) with 0, 300 and 3,000 forked
# children sharing one 4 MiB environment, and with one user's 1 MB and 10 MB
# ~/.aws/config read by that user's processes. IMDS is not queried.
# usage: benches/hostile.sh [BINARY]   (default: a release build of this checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-}
if [ -z "$bin" ]; then
  cargo build --release --quiet
  bin=$PWD/target/release/rolecall
fi
python3 - "$bin" <<'PY'
import os, resource, subprocess, sys, tempfile, time
bin = sys.argv[1]

def measure(label):
    t = time.time()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", bin, "scan", "--no-imds", "--sources", "processes",
                        "--format", "json", "--max-seconds", "300"], capture_output=True, text=True)
    rss = r.stderr.strip().splitlines()[-1]
    print(f"{label:<40} peak RSS {int(rss) / 1024:7.1f} MiB, wall {time.time() - t:6.2f} s, exit {r.returncode}")

def family(children):
    env = {f"PAD_{i}": "p" * (128 * 1024 - 16) for i in range(32)}
    env["AWS_ACCESS_KEY_ID"] = "AKIA2OGYBAH6STMMNXNN"
    env["AWS_SECRET_ACCESS_KEY"] = "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"
    prog = (f"import os, time\nfor _ in range({children}):\n    if os.fork() == 0:\n        time.sleep(600)\n"
            "        os._exit(0)\ntime.sleep(600)\n")
    def pre():
        resource.setrlimit(resource.RLIMIT_STACK, (64 << 20, 64 << 20))
        os.setpgrp()
    p = subprocess.Popen([sys.executable, "-c", prog], env=env, preexec_fn=pre)
    while len([d for d in os.listdir("/proc") if d.isdigit() and pgid_of(d) == p.pid]) < children + 1:
        time.sleep(0.2)
    return p

def pgid_of(pid):
    try:
        return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[2])
    except Exception:
        return -1

measure("no extra processes")
for n in (300, 3000):
    p = family(n)
    try:
        measure(f"{n} forks sharing a 4 MiB environment")
    finally:
        os.killpg(p.pid, 9)
        p.wait()

for mib in (1, 10):
    home = tempfile.mkdtemp()
    os.makedirs(f"{home}/.aws")
    with open(f"{home}/.aws/config", "w") as f:
        i, size = 0, 0
        while size < mib << 20:
            s = f"[profile p{i}]\nregion = us-east-1\noutput = json\ncli_pager =\n"
            f.write(s)
            size += len(s)
            i += 1
    procs = [subprocess.Popen(["/bin/sleep", "600"], env={"HOME": home}) for _ in range(5)]
    try:
        measure(f"5 processes reading a {mib} MB ~/.aws/config")
    finally:
        for p in procs:
            p.kill()
PY
