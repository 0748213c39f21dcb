#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <system_error>
#include <utility>

#include "pynference/device/error.hpp"
#include "pynference/io/y4m.hpp"
#include "pipe.hpp"

namespace pyn {

namespace {

std::string error_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// Writing to a pipe whose reader has gone raises SIGPIPE, which ends the process unless someone
// installed a handler. A library must not change the process's signal dispositions, so while this
// is alive SIGPIPE is blocked in the writing thread (the kernel sends it to that thread) and the
// write fails with EPIPE instead; take() then swallows the SIGPIPE the failed write left pending.
class SigpipeBlock {
 public:
  SigpipeBlock() noexcept {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;
  ~SigpipeBlock() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

  void take() noexcept {
    if (was_pending_) {
      return;  // not ours to swallow
    }
    const timespec now{};
    while (sigtimedwait(&pipe_, nullptr, &now) < 0 && errno == EINTR) {
    }
  }

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool was_pending_ = false;
};

void wait_writable(int fd) {
  pollfd p{fd, POLLOUT, 0};
  while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
}

char interlace_letter(Interlace interlace) {
  switch (interlace) {
    case Interlace::progressive:
      return 'p';
    case Interlace::top_first:
      return 't';
    case Interlace::bottom_first:
      return 'b';
    case Interlace::mixed:
      return 'm';
    case Interlace::unknown:
      return '?';
  }
  throw UsageError("bad Y4M interlacing value " + std::to_string(static_cast<int>(interlace)));
}

std::string ratio_text(const char* what, Rational r) {
  if (r.num < 0 || r.den < 0 || (r.num == 0) != (r.den == 0)) {
    throw UsageError(std::string("Y4M ") + what + " " + std::to_string(r.num) + ":" +
                     std::to_string(r.den) + " is neither unknown (0:0) nor positive");
  }
  return std::to_string(r.num) + ":" + std::to_string(r.den);
}

std::string_view colorspace_of(const Y4mHeader& h) {
  const YuvDesc& d = h.desc;
  const auto spaces = y4m_colorspaces();
  const auto match = [&](const Y4mColorspace& c) {
    return c.chroma == d.chroma && c.bits == d.bits &&
           (h.colorspace.empty() || c.name == h.colorspace);
  };
  const auto found = std::ranges::find_if(spaces, match);
  if (found == spaces.end()) {
    // Spelt out here rather than with to_string(YuvDesc), so the fuzz target needs no kernels.
    const char* layout = d.chroma == ChromaLayout::yuv420   ? "4:2:0"
                         : d.chroma == ChromaLayout::yuv444 ? "4:4:4"
                                                            : "unknown";
    throw UsageError("Y4M has no colour space for " + std::string(layout) + " " +
                     std::to_string(d.bits) + "-bit frames" +
                     (h.colorspace.empty() ? "" : " named '" + h.colorspace + "'"));
  }
  return found->name;
}

// The header line, checked so that our reader (and FFmpeg's) takes it back; tags in FFmpeg's
// order.
std::string header_text(const Y4mHeader& h) {
  const YuvDesc& d = h.desc;
  if (d.width < 1 || d.height < 1 || d.width > kY4mMaxSide || d.height > kY4mMaxSide) {
    throw UsageError("Y4M frames must be 1x1 to " + std::to_string(kY4mMaxSide) + "x" +
                     std::to_string(kY4mMaxSide) + ", got " + std::to_string(d.width) + "x" +
                     std::to_string(d.height));
  }
  if (d.bytes() > kY4mMaxFrameBytes) {
    throw UsageError("Y4M frames of " + std::to_string(d.width) + "x" + std::to_string(d.height) +
                     " take " + std::to_string(d.bytes()) +
                     " bytes, more than the 1 GiB a reader accepts");
  }
  if (h.framing == Framing::raw) {
    return {};
  }
  std::string text = "YUV4MPEG2 W" + std::to_string(d.width) + " H" + std::to_string(d.height) +
                     " F" + ratio_text("frame rate", h.frame_rate) + " I" +
                     interlace_letter(h.interlace) + " A" + ratio_text("aspect ratio", h.aspect) +
                     " C" + std::string(colorspace_of(h));
  for (const std::string& x : h.extensions) {
    if (x.find_first_of(std::string_view(" \n\0", 3)) != std::string::npos) {
      throw UsageError("Y4M X tag '" + x + "' holds a space, newline or NUL");
    }
    if (!x.starts_with("COLORRANGE=")) {
      text += " X" + x;
    }
  }
  if (d.range == ColorRange::full) {
    text += " XCOLORRANGE=FULL";
  }
  text += '\n';
  if (text.size() > kY4mMaxLineBytes) {
    throw UsageError("Y4M header of " + std::to_string(text.size()) + " bytes is longer than " +
                     std::to_string(kY4mMaxLineBytes));
  }
  return text;
}

}  // namespace

Y4mWriter::Y4mWriter(const std::string& path, const Y4mHeader& header)
    : name_(path == "-" ? "stdout" : path),
      frame_bytes_(header.desc.bytes()),
      pending_(header_text(header)),
      raw_(header.framing == Framing::raw) {
  if (path == "-") {
    fd_ = STDOUT_FILENO;
    detail::widen_pipe(fd_);
    return;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw UsageError("cannot write " + path + ": " + error_text(EISDIR));
  }
  const std::string part = path + ".part";
  fd_ = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    throw UsageError("cannot create " + part + ": " + error_text(errno));
  }
  part_ = part;
}

Y4mWriter::Y4mWriter(int fd, std::string name, const Y4mHeader& header)
    : name_(std::move(name)),
      fd_(fd),
      frame_bytes_(header.desc.bytes()),
      pending_(header_text(header)),
      raw_(header.framing == Framing::raw) {
  detail::widen_pipe(fd_);
}

Y4mWriter::~Y4mWriter() { discard_part(); }

void Y4mWriter::discard_part() noexcept {
  if (part_.empty()) {
    return;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  ::unlink(part_.c_str());
  part_.clear();
}

// pending_ then `frame` in one gathered write: the FRAME line costs no call and the planes no copy.
void Y4mWriter::write_all(std::span<const std::byte> frame) {
  std::array<iovec, 2> iov{iovec{pending_.data(), pending_.size()},
                           // iovec is shared with readv, hence not const; writev only reads it.
                           iovec{const_cast<std::byte*>(frame.data()), frame.size()}};
  std::size_t first = 0;
  SigpipeBlock sigpipe;
  while (first < iov.size()) {
    if (iov[first].iov_len == 0) {
      ++first;
      continue;
    }
    const ssize_t n = ::writev(fd_, iov.data() + first, static_cast<int>(iov.size() - first));
    if (n < 0) {
      const int error = errno;
      if (error == EINTR) {
        continue;
      }
      if (error == EAGAIN || error == EWOULDBLOCK) {
        wait_writable(fd_);
        continue;
      }
      if (error == EPIPE) {
        sigpipe.take();
      }
      failed_ = true;
      throw Error("cannot write " + name_ + ": " + error_text(error));
    }
    if (n == 0) {
      failed_ = true;
      throw Error("cannot write " + name_ + ": the device takes no more bytes");
    }
    auto left = static_cast<std::size_t>(n);
    for (; first < iov.size() && left >= iov[first].iov_len; ++first) {
      left -= iov[first].iov_len;
      iov[first].iov_len = 0;
    }
    if (left > 0) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  pending_.clear();
}

void Y4mWriter::write_frame(std::span<const std::byte> frame) {
  if (closed_) {
    throw UsageError(name_ + ": Y4M frame written after close()");
  }
  if (frame.size() != frame_bytes_) {
    throw UsageError(name_ + ": a Y4M frame must be " + std::to_string(frame_bytes_) +
                     " bytes, not " + std::to_string(frame.size()));
  }
  if (failed_) {
    throw Error("cannot write " + name_ + ": an earlier write failed");
  }
  if (!raw_) {
    pending_ += "FRAME\n";
  }
  write_all(frame);
  ++frames_written_;
}

void Y4mWriter::close() {
  if (closed_) {
    return;
  }
  closed_ = true;
  try {
    if (failed_) {
      throw Error("cannot finish " + name_ + ": an earlier write failed");
    }
    write_all({});
    if (!part_.empty()) {
      // close() reports what the file system deferred (NFS, quotas); EINTR still closes on Linux.
      if (::close(std::exchange(fd_, -1)) != 0 && errno != EINTR) {
        throw Error("cannot write " + name_ + ": " + error_text(errno));
      }
      if (std::rename(part_.c_str(), name_.c_str()) != 0) {
        throw Error("cannot rename " + part_ + " to " + name_ + ": " + error_text(errno));
      }
      part_.clear();
    }
  } catch (...) {
    discard_part();
    throw;
  }
}

}  // namespace pyn
