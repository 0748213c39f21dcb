#!/usr/bin/env bash
# Here, with network: Debian's FFmpeg libraries (libavformat, libavcodec, libavutil, libswscale,
# libswresample: runtime and headers) and the shared libraries they need, packed into
# .ffmpeg/ffmpeg.tar.xz for a GPU machine that has no FFmpeg and no package manager.
#
#   bash scripts/fetch-ffmpeg.sh         # then carry .ffmpeg; scripts/gpu-ffmpeg.sh unpacks it there
#
# What goes in: the five -dev packages' headers, pkg-config files and .so links, pkgconf (that
# machine may have no pkg-config), and of the runtime packages only the files the FFmpeg libraries
# need, library by library (their NEEDED entries, followed through what was downloaded); static
# libraries, documentation and plug-ins nothing links are left out. The C and C++ runtimes and zlib
# are taken to be on that machine. About 50 MB, within what one call carries beside .deps.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
out=.ffmpeg/ffmpeg.tar.xz
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
say() { printf 'fetch-ffmpeg: %s\n' "$*"; }

ffmpeg=(libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev)
# The dependency closure, library packages only (fonts, tools and the like are never NEEDED).
mapfile -t packages < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
  --no-breaks --no-replaces --no-enhances "${ffmpeg[@]}" 2>/dev/null |
  grep -E '^(lib|pkgconf)' | grep -vE '^(libc6|libgcc-s1|libstdc\+\+6|zlib1g)$' | sort -u)
packages+=(pkgconf pkgconf-bin ocl-icd-libopencl1)
say "downloading ${#packages[@]} packages"
(cd "$work" && apt-get download "${packages[@]}" >/dev/null 2>&1) ||
  { say "apt-get download failed (no network, or a package name changed)"; exit 1; }
mkdir -p "$work/all" "$work/root"
for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/all"; done

lib=usr/lib/x86_64-linux-gnu
python3 - "$work/all" "$work/root" "$lib" <<'EOF'
# Copies into root what the FFmpeg libraries need: each NEEDED soname found among the downloaded
# files, followed until nothing new comes; the development files; pkgconf.
import os, re, shutil, subprocess, sys
src, dst, lib = sys.argv[1:]
present = {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1",
           "ld-linux-x86-64.so.2", "libstdc++.so.6", "libgcc_s.so.1", "libz.so.1",
           "libmvec.so.1", "libresolv.so.2", "libutil.so.1"}
dirs = [os.path.join(src, d) for d in (lib, "lib/x86_64-linux-gnu")]

def find(name):
    for d in dirs:
        path = os.path.join(d, name)
        if os.path.lexists(path):
            return path
    return None

def copy(path):
    rel = os.path.relpath(path, src)
    target = os.path.join(dst, rel)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if not os.path.lexists(target):
        shutil.copy2(path, target, follow_symlinks=False)
    if os.path.islink(path):  # the link and what it names
        copy(os.path.join(os.path.dirname(path), os.readlink(path)))

todo = [find(n) for n in ("libavformat.so.59", "libavcodec.so.59", "libavutil.so.57",
                          "libswscale.so.6", "libswresample.so.4", "libpkgconf.so.3")]
seen, missing = set(), set()
while todo:
    path = todo.pop()
    if path is None or path in seen:
        continue
    seen.add(path)
    copy(path)
    out = subprocess.run(["readelf", "-d", os.path.realpath(path)], capture_output=True,
                         text=True).stdout
    for name in re.findall(r"\(NEEDED\).*\[(.*)\]", out):
        if name in present:
            continue
        found = find(name)
        if found is None:
            missing.add(name)
        todo.append(found)
for root, _, files in os.walk(src):
    for name in files + [d for d in os.listdir(root) if os.path.islink(os.path.join(root, d))]:
        path = os.path.join(root, name)
        rel = os.path.relpath(path, src)
        if (rel.startswith("usr/include/") or rel.endswith(".pc") or rel.startswith("usr/bin/pkg")
                or (re.search(r"/lib(av|sw)[a-z]*\.so$", rel) is not None)):
            copy(path)
if missing:
    print("fetch-ffmpeg: not among the packages (taken to be on that machine):", " ".join(sorted(missing)))
print(f"fetch-ffmpeg: {len(seen)} libraries")
EOF
mkdir -p .ffmpeg
say "packing $out"
tar -C "$work/root" -cJf "$out.tmp" . && mv "$out.tmp" "$out"
say "$out: $(du -h "$out" | cut -f1)"
