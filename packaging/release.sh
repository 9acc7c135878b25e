#!/usr/bin/env bash
# Builds the release artefacts: static musl binaries for x86_64 and aarch64
# (Graviton) that run on Amazon Linux 2 (glibc 2.26), Amazon Linux 2023 and
# Ubuntu 20.04+, with no OpenSSL; then .deb and .rpm packages of them. Runs
# each binary (--version and a scan of a fixture; aarch64 under qemu-user)
# and prints the sizes. Installs the Rust targets and Debian packages it needs.
#
# usage: packaging/release.sh [OUT_DIR]     (default: dist/)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist}
mkdir -p "$out"

need_apt=()
command -v musl-gcc >/dev/null || need_apt+=(musl-tools)
command -v aarch64-linux-gnu-gcc >/dev/null || need_apt+=(gcc-aarch64-linux-gnu)
command -v qemu-aarch64-static >/dev/null || command -v qemu-aarch64 >/dev/null || need_apt+=(qemu-user-static)
command -v rpmbuild >/dev/null || need_apt+=(rpm)
command -v dpkg-shlibdeps >/dev/null || need_apt+=(dpkg-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get install -y -qq "${need_apt[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null; }
fi
rustup target add x86_64-unknown-linux-musl aarch64-unknown-linux-musl >/dev/null
cargo deb --version >/dev/null 2>&1 || cargo install --locked --quiet cargo-deb

# ring compiles a little C: give each target a C compiler; link aarch64 with rust-lld.
export CC_x86_64_unknown_linux_musl=musl-gcc
export CC_aarch64_unknown_linux_musl=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C target-feature=+crt-static"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C target-feature=+crt-static"

# A fixture host with one key: every binary must find it (exit 1). The pair
# is made up: the key ID encodes account 123456789012 (the documentation
# account), the secret is random, and neither ever leaves this machine.
fixture=$(mktemp -d)
trap 'rm -rf "$fixture"' EXIT
mkdir -p "$fixture/etc" "$fixture/opt/app"
echo 'root:x:0:0:root:/root:/bin/sh' > "$fixture/etc/passwd"
printf 'AWS_ACCESS_KEY_ID=AKIARZPUZDIKJVNFUETZ\nAWS_SECRET_ACCESS_KEY=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\n' > "$fixture/opt/app/.env"

for target in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
  arch=${target%%-*}
  cargo build --release --locked --target "$target" --quiet
  bin="target/$target/release/rolecall"
  cp "$bin" "$out/rolecall-$target"
  run=()
  if [ "$arch" = aarch64 ] && [ "$(uname -m)" != aarch64 ]; then
    run=("$(command -v qemu-aarch64-static || command -v qemu-aarch64)")
  fi
  file "$bin" | grep -q 'statically linked\|static-pie linked' || { echo "$bin is not static" >&2; file "$bin" >&2; exit 1; }
  version=$("${run[@]}" "$bin" --version)
  set +e
  "${run[@]}" "$bin" scan --root "$fixture" --no-imds --summary >"$out/fixture-$target.txt"
  code=$?
  set -e
  [ "$code" = 1 ] && grep -q AKIARZPUZDIKJVNFUETZ "$out/fixture-$target.txt" || { echo "$target: fixture scan exited $code" >&2; cat "$out/fixture-$target.txt" >&2; exit 1; }
  bash packaging/packages.sh --target "$target" "$out"
  printf '%-28s %s, %s bytes, fixture scan exit %s\n' "$target" "$version" "$(stat -c %s "$bin")" "$code"
done
ls -l "$out"
