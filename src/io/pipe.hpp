#pragma once
// Pipes between pynference and an encoder or decoder process carry whole frames (megabytes); the
// default pipe buffer makes that a ping-pong of small transfers.

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>

namespace pyn::detail {

// A pipe holds 64 KiB by default: a 4K frame then crosses it in some 200 rounds of writer and
// reader waking each other. Ask for the largest size an unprivileged process may set (1 MiB by
// default; at most 8 MiB where the system allows more); where that fails, the pipe stays as it was.
inline void widen_pipe(int fd) noexcept {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
    return;
  }
  int size = 1 << 20;
  if (FILE* limit = std::fopen("/proc/sys/fs/pipe-max-size", "r")) {
    if (std::fscanf(limit, "%d", &size) != 1 || size <= 0) {
      size = 1 << 20;
    }
    std::fclose(limit);
  }
  size = size < (8 << 20) ? size : (8 << 20);
  (void)::fcntl(fd, F_SETPIPE_SZ, size);
}

}  // namespace pyn::detail
