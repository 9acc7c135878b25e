#!/usr/bin/env bash
# The test command: installs what the tests need beyond cargo, then runs them.
#   - a Python virtualenv under target/pyenv with botocore (the credential
#     chain oracle) and moto (an IMDS stub and an STS server on 127.0.0.1);
#   - the AWS SDKs for Rust (built from crates.io) and JavaScript v3 (from
#     npm, run with the machine's Node.js), the other two chain oracles;
#   - cargo-deb and cargo-generate-rpm, and Debian's rpm and dpkg tools, to
#     build the .deb and .rpm that the packaging tests then inspect;
#   - cargo-fuzz, to build the fuzz targets.
# Safe to run again; needs network access to PyPI, crates.io, npm and Debian's
# archive the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/pyenv
if ! "$venv/bin/python" -c 'import botocore, moto' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'botocore==1.44.5' 'moto[server]==5.2.5'
fi
export ROLECALL_TEST_PYTHON="$PWD/$venv/bin/python"

# The AWS SDKs for Rust and JavaScript v3, as oracles for rolecall's models of
# their credential chains (tests/cli/chain_oracle.rs).
cargo build --quiet --release --locked --manifest-path tests/oracles/rust-sdk/Cargo.toml --target-dir target/oracles
export ROLECALL_TEST_RUST_ORACLE="$PWD/target/oracles/release/rust-sdk-oracle"
if [ ! -d tests/oracles/js-sdk/node_modules/@aws-sdk/credential-provider-node ]; then
  (cd tests/oracles/js-sdk && npm ci --no-audit --no-fund --loglevel=error)
fi
export ROLECALL_TEST_NODE="$(command -v node)"
export ROLECALL_TEST_JS_ORACLE="$PWD/tests/oracles/js-sdk/oracle.js"

# Packages: build them as a release would, for tests/cli/packaging.rs.
if ! command -v rpm >/dev/null || ! command -v dpkg-deb >/dev/null; then
  (apt-get install -y -qq rpm dpkg >/dev/null 2>&1) || { apt-get update -qq && apt-get install -y -qq rpm dpkg >/dev/null; }
fi
cargo deb --version >/dev/null 2>&1 || cargo install --locked --quiet cargo-deb
cargo generate-rpm --version >/dev/null 2>&1 || cargo install --locked --quiet cargo-generate-rpm
cargo deb --quiet >/dev/null
cargo generate-rpm --payload-compress gzip
export ROLECALL_DEB="$(ls -t "$PWD"/target/debian/rolecall_*.deb | head -n 1)"
export ROLECALL_RPM="$(ls -t "$PWD"/target/generate-rpm/rolecall-*.rpm | head -n 1)"

# The fuzz targets must build (stable toolchain, no sanitizer: `-s none`).
cargo fuzz --version >/dev/null 2>&1 || cargo install --locked --quiet cargo-fuzz
(cd fuzz && cargo fuzz build -s none)

# The oracle and packaging tests fail instead of skipping when their tools are missing.
export ROLECALL_REQUIRE_ORACLES=1

# Nothing here may reach the real instance metadata service.
export AWS_EC2_METADATA_DISABLED=true

cargo test --all-targets --locked "$@"
