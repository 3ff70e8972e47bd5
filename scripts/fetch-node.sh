#!/usr/bin/env bash
# Prints the path of the official Node.js binary for <platform> (linux-arm64, linux-x64, ...) at
# <version>, fetching it once from the npm registry (package node-<platform>, which holds the
# nodejs.org build) into <cache dir>/node-<platform>-<version>/bin/node. npm pack of a registry
# spec, outside the project, runs no scripts. Used by test/arm/run.sh and bench/pi-estimate/.
#
# Usage: bash scripts/fetch-node.sh <platform> <version> <cache dir>
set -euo pipefail
if (($# != 3)); then
  echo "usage: bash scripts/fetch-node.sh <platform> <version> <cache dir>" >&2
  exit 2
fi
platform=$1 version=$2
mkdir -p "$3"
cache=$(cd "$3" && pwd)
node=$cache/node-$platform-$version/bin/node
if [[ ! -x $node ]]; then
  echo "== fetching node-$platform@$version from the npm registry" >&2
  tmp=$(mktemp -d "$cache/tmp.XXXXXX")
  (cd "$tmp" && npm pack --ignore-scripts --loglevel=warn "node-$platform@$version" >/dev/null)
  tar -xzf "$tmp"/node-"$platform"-*.tgz -C "$tmp" package/bin/node
  mkdir -p "$(dirname "$node")"
  mv "$tmp/package/bin/node" "$node"
  rm -rf "$tmp"
fi
echo "$node"
