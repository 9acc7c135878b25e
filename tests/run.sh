#!/usr/bin/env bash
# The test command: installs what the tests need beyond cargo, then runs them.
# Safe to run again; needs network access to PyPI the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

# Nothing here may reach the real instance metadata service.
export AWS_EC2_METADATA_DISABLED=true

cargo test --all-targets --locked "$@"
