#!/usr/bin/env bash
# The test command: installs what the tests need beyond cargo, then runs them.
#   - a Python virtualenv under target/pyenv with botocore (the credential
#     chain oracle and the AWS API model the printed commands are checked
#     against) and moto (an STS server on 127.0.0.1);
#   - ajv-cli and sarif-multitool (npm, under tests/validators), the
#     validators of the report schema and of SARIF;
#   - the AWS SDKs for Rust (built from crates.io, over rustls on ring),
#     JavaScript v3 (from npm, run with the machine's Node.js), Go v2 and v1
#     (Debian's golang-github-aws-aws-sdk-go(-v2)-dev, built with Debian's Go
#     in GOPATH mode) and Ruby (Debian's ruby-aws-sdk-core), the other chain
#     oracles;
#   - cargo-deb and cargo-fuzz (into target/tools when they are not on
#     PATH), the musl target (rustup), and Debian's rpm, dpkg, musl-tools,
#     lintian, rpmlint, gnupg and packer (apt-get, the one step that
#     installs into the system), to build the .deb and .rpm of the static
#     musl binary (packaging/packages.sh) that the packaging tests inspect
#     and validate, and the fuzz targets;
#   - then the tests (dev profile, line tables only, the matcher's engines
#     optimised and the other dependencies not: measured 4 minutes to build
#     where optimising every dependency took 12, with the tests' own run
#     time nearly unchanged).
# Prerequisites: a Rust toolchain (rustup), python3 with venv, Node.js and
# npm, root (or rpm, rpmbuild and dpkg already installed), network access to
# crates.io, PyPI, npm and Debian's archive the first time, and about 4 GB
# of disk. Safe to run again: what is there is reused. Writes only under the
# checkout (target/, tests/*/node_modules, fuzz/target) and
# the system temporary directory. One progress line per phase, with its time.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
# phase NAME COMMAND...: runs COMMAND, then says how long it took.
phase() {
  local phase_name=$1 phase_start=$SECONDS
  shift
  printf 'tests/run.sh: %s ...\n' "$phase_name" >&2
  "$@"
  printf 'tests/run.sh: %s: %d s (%d s in all)\n' "$phase_name" $((SECONDS - phase_start)) $((SECONDS - started)) >&2
}

need() {
  command -v "$1" >/dev/null || { echo "tests/run.sh: $1 is needed: $2" >&2; exit 2; }
}
need cargo "install a Rust toolchain with rustup"
need python3 "install python3 and python3-venv"
need node "install Node.js (with npm)"
need npm "install npm"

mkdir -p target/tools/bin target/cache
export PATH="$PWD/target/tools/bin:$PATH"

venv=target/pyenv
python_oracles() {
  if ! "$venv/bin/python" -c 'import botocore, moto, jsonschema' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --cache-dir target/cache/pip \
      'botocore==1.44.5' 'moto[server]==5.2.5' 'jsonschema==4.26.0'
  fi
}
phase "botocore and moto (PyPI)" python_oracles
export ROLECALL_TEST_PYTHON="$PWD/$venv/bin/python"

js_oracle() {
  if [ ! -d tests/oracles/js-sdk/node_modules/@aws-sdk/credential-provider-node ]; then
    (cd tests/oracles/js-sdk && npm ci --no-audit --no-fund --loglevel=error --cache "$PWD/../../../target/cache/npm")
  fi
}
phase "JavaScript SDK v3 oracle (npm)" js_oracle

# Validators of rolecall's outputs: ajv (JSON Schema, strict) and sarif-multitool.
validators() {
  if [ ! -x tests/validators/node_modules/.bin/ajv ] || [ ! -x tests/validators/node_modules/.bin/sarif-multitool ]; then
    (cd tests/validators && npm ci --no-audit --no-fund --loglevel=error --cache "$PWD/../../target/cache/npm")
  fi
}
phase "ajv and sarif-multitool (npm)" validators
export ROLECALL_TEST_NODE="$(command -v node)"
export ROLECALL_TEST_JS_ORACLE="$PWD/tests/oracles/js-sdk/oracle.js"

# The AWS SDK for Rust, as an oracle for rolecall's model of its chain (tests/cli/chain_oracle.rs).
phase "Rust SDK oracle (crates.io)" \
  cargo build --quiet --release --locked --manifest-path tests/oracles/rust-sdk/Cargo.toml --target-dir target/oracles
export ROLECALL_TEST_RUST_ORACLE="$PWD/target/oracles/release/rust-sdk-oracle"

# The AWS SDKs for Go (v2 and v1) and Ruby, from Debian's packages, as
# oracles for rolecall's models of their chains: the Go ones built offline in
# GOPATH mode (tests/oracles/go-sdk-v*/), the Ruby one a script.
go_ruby_oracles() {
  local pkgs=() wanted
  for wanted in go:golang-go ruby:ruby; do
    command -v "${wanted%%:*}" >/dev/null || pkgs+=("${wanted#*:}")
  done
  [ -d /usr/share/gocode/src/github.com/aws/aws-sdk-go-v2/config ] || pkgs+=(golang-github-aws-aws-sdk-go-v2-dev)
  [ -d /usr/share/gocode/src/github.com/aws/aws-sdk-go/aws/session ] || pkgs+=(golang-github-aws-aws-sdk-go-dev)
  ruby -e 'require "aws-sdk-core"' 2>/dev/null || pkgs+=(ruby-aws-sdk-core)
  if [ ${#pkgs[@]} -gt 0 ]; then
    (apt-get install -y -qq "${pkgs[@]}" >/dev/null 2>&1) || { apt-get update -qq && apt-get install -y -qq "${pkgs[@]}" >/dev/null; }
  fi
  local v
  for v in v2 v1; do
    (cd "tests/oracles/go-sdk-$v" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$OLDPWD/target/cache/go" \
      go build -o "$OLDPWD/target/oracles/go-sdk-$v-oracle" .)
  done
}
phase "Go SDK v2 and v1, Ruby SDK oracles (apt-get, go build)" go_ruby_oracles
export ROLECALL_TEST_GO_V2_ORACLE="$PWD/target/oracles/go-sdk-v2-oracle"
export ROLECALL_TEST_GO_V1_ORACLE="$PWD/target/oracles/go-sdk-v1-oracle"
export ROLECALL_TEST_RUBY="$(command -v ruby)"
export ROLECALL_TEST_RUBY_ORACLE="$PWD/tests/oracles/ruby-sdk/oracle.rb"

debian_tools() {
  local need=() wanted
  for wanted in rpm:rpm rpmbuild:rpm rpmsign:rpm dpkg-deb:dpkg dpkg-shlibdeps:dpkg-dev musl-gcc:musl-tools lintian:lintian rpmlint:rpmlint gpg:gnupg file:file; do
    command -v "${wanted%%:*}" >/dev/null || need+=("${wanted#*:}")
  done
  if [ ${#need[@]} -gt 0 ]; then
    (apt-get install -y -qq "${need[@]}" >/dev/null 2>&1) || { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }
  fi
  # Packer (Debian's 1.6.6) validates the Packer example where the archive has it; its test says when it skips.
  command -v packer >/dev/null || apt-get install -y -qq packer >/dev/null 2>&1 || echo "tests/run.sh: packer is not installable here" >&2
}
phase "rpm, dpkg, lintian, rpmlint and packer (apt-get)" debian_tools

tool() { # tool COMMAND CRATE: the cargo subcommand, installed into target/tools when missing
  # A debug build of a packaging tool does its job as well, and builds in a fraction of the time.
  cargo "$1" --version >/dev/null 2>&1 || cargo install --locked --quiet --debug --root target/tools "$2"
}
cargo_tools() {
  tool deb cargo-deb
  tool fuzz cargo-fuzz
}
phase "cargo-deb and cargo-fuzz" cargo_tools

# Packages of the static musl binary, built as packaging/release.sh builds
# it (no libc dependency at all: it runs on Amazon Linux 2's glibc 2.26), by
# packaging/packages.sh, for tests/cli/packaging.rs.
musl=$(uname -m)-unknown-linux-musl
packages() {
  rustup target list --installed 2>/dev/null | grep -qx "$musl" || rustup target add "$musl" >/dev/null
  local cc_var="CC_${musl//-/_}" flags_var="CARGO_TARGET_$(echo "${musl//-/_}" | tr a-z A-Z)_RUSTFLAGS"
  env "$cc_var=musl-gcc" "$flags_var=-C target-feature=+crt-static" \
    cargo build --release --locked --quiet --target "$musl"
  rm -rf target/packages
  bash packaging/packages.sh --target "$musl" target/packages >/dev/null
}
phase "static musl release build, .deb and .rpm" packages
export ROLECALL_DEB="$(ls "$PWD"/target/packages/rolecall_*.deb)"
export ROLECALL_RPM="$(ls "$PWD"/target/packages/rolecall-*.rpm)"

# The fuzz targets must build (stable toolchain, no sanitizer, dev profile: this proves they compile and link).
phase "fuzz targets (dev profile)" bash -c 'cd fuzz && cargo fuzz build -s none --dev'

# The oracle and packaging tests fail instead of skipping when their tools are missing.
export ROLECALL_REQUIRE_ORACLES=1

# Nothing here may reach the real instance metadata service.
export AWS_EC2_METADATA_DISABLED=true

phase "test build and tests" cargo test --all-targets --locked "$@"
