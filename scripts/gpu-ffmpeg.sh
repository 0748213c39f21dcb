# Sourced by the gpu-*.sh scripts: unpacks .ffmpeg/ffmpeg.tar.xz (scripts/fetch-ffmpeg.sh made it
# where there is network) and points pkg-config, CMake, the linker and the loader at it, so that a
# build on a GPU machine without FFmpeg gets the video reader and writer. Does nothing, and says
# so, where no .ffmpeg/ffmpeg.tar.xz came along.
#
#   source scripts/gpu-ffmpeg.sh && use_carried_ffmpeg ROOT
#
# The libraries go on LD_LIBRARY_PATH for everything the calling script starts after this: the
# FFmpeg libraries need them, and their own paths say /usr. They are Debian 12's builds, for an
# older C library than such a machine's, which runs them.
use_carried_ffmpeg() {
  local root="$1" tarball=.ffmpeg/ffmpeg.tar.xz lib
  if [[ ! -f "$tarball" ]]; then
    printf 'gpu-ffmpeg: no %s: building without FFmpeg (scripts/fetch-ffmpeg.sh makes it)\n' "$tarball"
    return 0
  fi
  mkdir -p "$root" && tar -C "$root" -xJf "$tarball" || {
    printf 'gpu-ffmpeg: unpacking %s into %s failed\n' "$tarball" "$root"
    return 1
  }
  lib="$root/usr/lib/x86_64-linux-gnu"
  export PKG_CONFIG="$root/usr/bin/pkgconf"
  export PKG_CONFIG_LIBDIR="$lib/pkgconfig:$root/usr/share/pkgconfig"
  export PKG_CONFIG_SYSROOT_DIR="$root"
  export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  printf 'gpu-ffmpeg: FFmpeg %s from %s\n' "$("$PKG_CONFIG" --modversion libavformat 2>/dev/null || echo '(pkg-config failed)')" "$tarball"
}
