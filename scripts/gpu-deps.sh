# shellcheck shell=bash
# Sourced by the gpu-*.sh scripts, from the repository's root: unpacks the Debian packages carried
# in .deps/ (googletest, where a GPU machine has none) into /opt/deps, or build/deps where /opt
# cannot be written, and sets deps_root to that folder (CMake's prefix is "$deps_root/usr").
#
#   source scripts/gpu-deps.sh && unpack_carried_debs
#
# Returns 1, having said which, where a package did not unpack.
unpack_carried_debs() {
  deps_root=/opt/deps
  if ! mkdir -p "$deps_root" 2>/dev/null || [[ ! -w "$deps_root" ]]; then
    deps_root="$PWD/build/deps"
    mkdir -p "$deps_root" || return 1
  fi
  local f status=0
  for f in .deps/*.deb; do
    [[ -e "$f" ]] || continue
    dpkg -x "$f" "$deps_root" || { printf 'gpu-deps: unpacking %s failed\n' "$f"; status=1; }
  done
  return "$status"
}
