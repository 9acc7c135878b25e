#!/usr/bin/env bash
# Builds the .deb and the .rpm of an already built rolecall binary, with its
# manual pages (generated from the command-line definitions), changelogs and
# copyright: cargo-deb for the .deb, rpmbuild and packaging/rpm/rolecall.spec
# for the .rpm (gzip payload: Amazon Linux 2's rpm cannot read zstd).
#
# usage: packaging/packages.sh [--target TRIPLE] OUT_DIR
#   ROLECALL_MAINTAINER overrides the maintainer/packager (a real address for
#   your own builds; the default is the project's).
set -euo pipefail
cd "$(dirname "$0")/.."
target=()
bin=target/release/rolecall
if [ "${1:-}" = --target ]; then
  target=(--target "$2")
  bin="target/$2/release/rolecall"
  shift 2
fi
out=$(mkdir -p "$1" && cd "$1" && pwd)
maintainer=${ROLECALL_MAINTAINER:-"rolecall maintainers <rolecall-maintainers@users.noreply.github.com>"}
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[ -x "$bin" ] || { echo "packaging/packages.sh: build $bin first" >&2; exit 2; }

# Manual pages, as the packaged binary itself writes them.
man=target/packaging/man
rm -rf "$man" && mkdir -p "$man"
# (The pages are the same for every architecture: a binary this machine cannot
# run, aarch64 on x86_64, has them written by the x86_64 one built before it.)
"$bin" man "$man" 2>/dev/null || target/x86_64-unknown-linux-musl/release/rolecall man "$man"
gzip -9n "$man"/*.1

cargo deb "${target[@]}" --no-build --quiet --maintainer "$maintainer" --output "$out/"

arch=$(file -b "$bin" | grep -q aarch64 && echo aarch64 || echo x86_64)
top=$(mktemp -d)
trap 'rm -rf "$top"' EXIT
rpmbuild -bb --quiet --target "$arch" \
  --define "_topdir $top" \
  --define "_binary_payload w9.gzdio" \
  --define "rolecall_binary $PWD/$bin" \
  --define "rolecall_src $PWD" \
  --define "rolecall_man $PWD/$man" \
  --define "rolecall_version $version" \
  --define "rolecall_packager $maintainer" \
  packaging/rpm/rolecall.spec
cp "$top"/RPMS/*/rolecall-*.rpm "$out/"
