#!/usr/bin/env bash
# The armv7 (32-bit Raspberry Pi OS) part of `npm run test:arm`: runs test/arm/check.mjs on Debian
# 12's own Node 18 for armhf (nodejs:armhf) under qemu-arm-static. Called by test/arm/run.sh; runs
# alone too: bash test/arm/armhf.sh
#
# Needs qemu-user-static (apt-get install -y qemu-user-static) and the machine's apt sources; it
# changes nothing on the machine. Rather than `dpkg --add-architecture armhf` (which would make every
# later `apt-get update` on the machine fetch armhf indexes, and fail with them), it keeps a private
# armhf-only apt state in .cache/arm/armhf/apt: `apt-get update` into it (at most daily), resolves
# nodejs's Depends recursively (the armhf libraries and the node-* modules Debian's node loads from
# /usr/share/nodejs), fetches them with `apt-get download` and unpacks them with `dpkg -x` into
# .cache/arm/armhf/root, reused while the package versions stay the same.
set -euo pipefail
cd "$(dirname "$0")/../.."

cache=${SQUEEZEWASM_ARM_CACHE:-.cache/arm}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)/armhf
root=$cache/root
apt_state=$cache/apt

fail() {
  echo "test:arm: $1" >&2
  exit 2
}
command -v qemu-arm-static >/dev/null ||
  fail "the armhf check needs qemu-arm-static; install it with: apt-get install -y qemu-user-static"

apt=(-q -o "Dir::State::Lists=$apt_state/lists" -o "Dir::Cache=$apt_state/cache"
  -o APT::Architecture=armhf -o APT::Architectures::=armhf -o APT::Sandbox::User=root)
mkdir -p "$apt_state/lists/partial" "$apt_state/cache/archives/partial"
if [[ -z $(find "$apt_state/lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 -print -quit) ]]; then
  echo "== armhf: apt-get update of a private armhf package list in $apt_state"
  # One failed index (e.g. a mirror caught mid-sync) is not fatal: what matters is that nodejs is known.
  apt-get "${apt[@]}" update >"$apt_state/update.log" 2>&1 || sed -n 's/^\(E\|W\): /  apt-get update: /p' "$apt_state/update.log" >&2
fi
apt-cache "${apt[@]}" show --no-all-versions nodejs >/dev/null 2>&1 ||
  fail "apt-get update found no armhf nodejs package (log: $apt_state/update.log); are the machine's Debian apt sources reachable?"

# nodejs and everything it Depends on, recursively ("<virtual>" names are followed by their providers).
mapfile -t pkgs < <(apt-cache "${apt[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
  --no-breaks --no-replaces --no-enhances nodejs | grep -v -e '^ ' -e '^<' | sort -u)
manifest=$(apt-cache "${apt[@]}" show --no-all-versions "${pkgs[@]}" |
  awk '/^Package:/ { p = $2 } /^Architecture:/ { a = $2 } /^Version:/ { v = $2 }
       /^$/ { if (p) print p ":" a "=" v; p = "" } END { if (p) print p ":" a "=" v }' | sort)

if [[ -x $root/usr/bin/node && -f $cache/manifest.txt && $(cat "$cache/manifest.txt") == "$manifest" ]]; then
  echo "== armhf root: reusing $root ($(wc -l <<<"$manifest") packages)"
else
  echo "== armhf root: apt-get download + dpkg -x of $(wc -l <<<"$manifest") packages into $root"
  rm -rf "$root" "$cache/debs" "$cache/manifest.txt"
  mkdir -p "$cache/debs" "$root"
  # Exact versions, so that the manifest describes what was unpacked.
  mapfile -t want < <(sed 's/:\(armhf\|all\)=/=/' <<<"$manifest")
  (cd "$cache/debs" && apt-get "${apt[@]}" download "${want[@]}")
  for deb in "$cache"/debs/*.deb; do dpkg -x "$deb" "$root"; done
  rm -rf "$cache/debs"
  echo "$manifest" >"$cache/manifest.txt"
fi
sed 's/^/     /' "$cache/manifest.txt"

# -L makes qemu look up the guest's absolute paths (ld.so, /usr/share/nodejs/...) in $root first.
# The library path is given as host paths because qemu 7.2 does not redirect the stat calls with
# which ld.so checks its search directories.
exec qemu-arm-static -L "$root" -E "LD_LIBRARY_PATH=$root/lib/arm-linux-gnueabihf:$root/usr/lib/arm-linux-gnueabihf" \
  "$root/usr/bin/node" test/arm/check.mjs
