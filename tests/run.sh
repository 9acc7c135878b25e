#!/usr/bin/env bash
# The test command: installs what the tests need beyond cargo, then runs them.
#   - a Python virtualenv under target/pyenv with botocore (the credential
#     chain oracle) and moto (an IMDS stub and an STS server on 127.0.0.1)
# Safe to run again; needs network access to PyPI the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/pyenv
if ! "$venv/bin/python" -c 'import botocore, moto' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'botocore==1.44.5' 'moto[server]==5.2.5'
fi
export ROLECALL_TEST_PYTHON="$PWD/$venv/bin/python"
# The oracle tests fail instead of skipping when their tools are missing.
export ROLECALL_REQUIRE_ORACLES=1

# Nothing here may reach the real instance metadata service.
export AWS_EC2_METADATA_DISABLED=true

cargo test --all-targets --locked "$@"
