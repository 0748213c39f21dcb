#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <system_error>
#include <utility>

#include "pynference/device/error.hpp"
#include "pynference/io/y4m.hpp"
#include "pipe.hpp"

namespace pyn {

namespace {

constexpr std::array kColorspaces{
    Y4mColorspace{"420jpeg", ChromaLayout::yuv420, 8},
    Y4mColorspace{"420paldv", ChromaLayout::yuv420, 8},
    Y4mColorspace{"420mpeg2", ChromaLayout::yuv420, 8},
    Y4mColorspace{"420", ChromaLayout::yuv420, 8},
    Y4mColorspace{"444", ChromaLayout::yuv444, 8},
    Y4mColorspace{"420p10", ChromaLayout::yuv420, 10},
    Y4mColorspace{"444p10", ChromaLayout::yuv444, 10},
};

// Twice the longest line: a line never straddles more than one refill. Frame data bypasses it.
constexpr std::size_t kBufferBytes = 2 * kY4mMaxLineBytes;
constexpr std::string_view kMagic = "YUV4MPEG2";
constexpr std::string_view kMarker = "FRAME";

std::string error_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// At most `max` bytes of `text`, with anything unprintable escaped, for messages about garbage.
std::string printable(std::string_view text, std::size_t max = 16) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  for (const char c : text.substr(0, max)) {
    if (c >= ' ' && c <= '~') {
      out += c;
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += "\\x";
      out += kHex[u >> 4U];
      out += kHex[u & 15U];
    }
  }
  return text.size() > max ? out + "..." : out;
}

bool parse_int(std::string_view text, int& value) {
  const char* last = text.data() + text.size();
  const auto [end, error] = std::from_chars(text.data(), last, value);
  return error == std::errc{} && end == last && !text.empty();
}

// "num:den", both zero (unknown) or both positive.
bool parse_ratio(std::string_view text, Rational& ratio) {
  const std::size_t colon = text.find(':');
  Rational r;
  if (colon == std::string_view::npos || !parse_int(text.substr(0, colon), r.num) ||
      !parse_int(text.substr(colon + 1), r.den) || r.num < 0 || r.den < 0 ||
      (r.num == 0) != (r.den == 0)) {
    return false;
  }
  ratio = r;
  return true;
}

bool parse_interlace(std::string_view text, Interlace& interlace) {
  if (text.size() != 1) {
    return false;
  }
  switch (text[0]) {
    case 'p':
      interlace = Interlace::progressive;
      return true;
    case 't':
      interlace = Interlace::top_first;
      return true;
    case 'b':
      interlace = Interlace::bottom_first;
      return true;
    case 'm':
      interlace = Interlace::mixed;
      return true;
    case '?':
      interlace = Interlace::unknown;
      return true;
    default:
      return false;
  }
}

std::string supported_list() {
  std::string list;
  for (const Y4mColorspace& c : kColorspaces) {
    list += list.empty() ? "" : ", ";
    list += c.name;
  }
  return list;
}

const Y4mColorspace& find_colorspace(std::string_view name) {
  for (const Y4mColorspace& c : kColorspaces) {
    if (c.name == name) {
      return c;
    }
  }
  const std::string what = name.starts_with("mono") ? " (grey frames have no chroma planes)" : "";
  throw UsageError("unsupported Y4M colour space '" + printable(name) + "'" + what +
                   " (supported: " + supported_list() + ")");
}

void wait_readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
}

}  // namespace

std::span<const Y4mColorspace> y4m_colorspaces() noexcept { return kColorspaces; }

int y4m_chroma_location(std::string_view colorspace) noexcept {
  constexpr int kLeft = 1;
  constexpr int kCenter = 2;
  constexpr int kTopLeft = 3;
  if (colorspace == "420mpeg2") {
    return kLeft;
  }
  if (colorspace == "420paldv") {
    return kTopLeft;
  }
  return colorspace == "420jpeg" || colorspace == "420" ? kCenter : 0;
}

std::string_view y4m_420_colorspace(int chroma_location) noexcept {
  constexpr int kLeft = 1;
  constexpr int kTopLeft = 3;
  return chroma_location == kLeft      ? "420mpeg2"
         : chroma_location == kTopLeft ? "420paldv"
                                       : "420jpeg";
}

Y4mReader::Y4mReader(const std::string& path)
    : name_(path == "-" ? "stdin" : path), buffer_(kBufferBytes) {
  open_path(path);
  try {
    read_header();
  } catch (...) {
    if (owns_fd_) {
      ::close(fd_);
    }
    throw;
  }
}

Y4mReader::Y4mReader(const std::string& path, const Y4mHeader& raw)
    : name_(path == "-" ? "stdin" : path), buffer_(kBufferBytes), header_(raw) {
  const YuvDesc& d = raw.desc;
  if (raw.framing != Framing::raw) {
    throw UsageError("a Y4M stream's header comes from the stream, not from the caller");
  }
  if (d.width < 1 || d.height < 1 || d.width > kY4mMaxSide || d.height > kY4mMaxSide ||
      d.bytes() > kY4mMaxFrameBytes || (d.bits != 8 && d.bits != 10)) {
    // Spelt out rather than with to_string(YuvDesc), so the fuzz target needs no kernels.
    throw UsageError("raw frames must be 1x1 to " + std::to_string(kY4mMaxSide) + "x" +
                     std::to_string(kY4mMaxSide) + ", 8 or 10 bit, got " + std::to_string(d.width) +
                     "x" + std::to_string(d.height) + " " + std::to_string(d.bits) + "-bit");
  }
  open_path(path);
}

void Y4mReader::open_path(const std::string& path) {
  if (path == "-") {
    fd_ = STDIN_FILENO;
    detail::widen_pipe(fd_);
    return;
  }
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    throw UsageError("cannot open " + path + ": " + error_text(errno));
  }
  owns_fd_ = true;
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd_);
    throw UsageError("cannot open " + name_ + ": " + error_text(EISDIR));
  }
  if (S_ISREG(st.st_mode)) {
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
}

Y4mReader::Y4mReader(int fd, std::string name)
    : name_(std::move(name)), fd_(fd), buffer_(kBufferBytes) {
  detail::widen_pipe(fd_);
  read_header();
}

Y4mReader::~Y4mReader() {
  if (owns_fd_) {
    ::close(fd_);
  }
}

void Y4mReader::fail_read(int error) const {
  throw Error("cannot read " + name_ + ": " + error_text(error));
}

// One read, into `direct` first and what follows into the buffer's free space, so a frame's
// planes land where the caller wants them and the next FRAME line comes with the same call.
// Returns the bytes read in all; 0 at the end of the stream.
std::size_t Y4mReader::fill(std::span<std::byte> direct) {
  std::array<iovec, 2> iov{iovec{direct.data(), direct.size()},
                           iovec{buffer_.data() + end_, buffer_.size() - end_}};
  for (;;) {
    const ssize_t n = ::readv(fd_, iov.data(), static_cast<int>(iov.size()));
    if (n >= 0) {
      const auto got = static_cast<std::size_t>(n);
      end_ += got - std::min(got, direct.size());
      return got;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      wait_readable(fd_);
    } else if (errno != EINTR) {
      fail_read(errno);
    }
  }
}

// The next line without its '\n'; at the end of the stream (or past the line limit) whatever
// there was. The view lives until the next read.
Y4mReader::LineEnd Y4mReader::next_line(std::string_view& line) {
  std::size_t scanned = begin_;
  for (;;) {
    const std::size_t limit = std::min(end_, begin_ + kY4mMaxLineBytes);
    const std::string_view window(buffer_.data() + begin_, limit - begin_);
    const std::size_t newline = window.find('\n', scanned - begin_);
    if (newline != std::string_view::npos) {
      line = window.substr(0, newline);
      begin_ += newline + 1;
      return LineEnd::newline;
    }
    if (limit - begin_ == kY4mMaxLineBytes) {
      line = std::string_view(buffer_.data() + begin_, kY4mMaxLineBytes);
      return LineEnd::too_long;
    }
    scanned = limit;
    if (begin_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
      scanned -= begin_;
      end_ -= begin_;
      begin_ = 0;
    }
    if (fill({}) == 0) {
      line = std::string_view(buffer_.data() + begin_, end_ - begin_);
      begin_ = end_;
      return LineEnd::eof;
    }
  }
}

void Y4mReader::read_header() {
  std::string_view line;
  const LineEnd end = next_line(line);
  if (line.empty() && end == LineEnd::eof) {
    throw UsageError(name_ + " is empty, not a Y4M stream");
  }
  if (!line.starts_with(kMagic) || (line.size() > kMagic.size() && line[kMagic.size()] != ' ')) {
    throw UsageError(name_ + " is not a Y4M stream: it starts with '" + printable(line, 10) +
                     "', not 'YUV4MPEG2 '");
  }
  if (end == LineEnd::too_long) {
    throw UsageError(name_ + ": the Y4M header is longer than " + std::to_string(kY4mMaxLineBytes) +
                     " bytes");
  }
  if (end == LineEnd::eof) {
    throw UsageError(name_ + ": the Y4M header has no end of line (truncated?)");
  }

  Y4mHeader h;
  h.colorspace = kColorspaces[0].name;
  const auto bad = [this](std::string_view what, std::string_view tag) {
    return UsageError(name_ + ": bad Y4M " + std::string(what) + " '" + printable(tag) + "'");
  };
  bool has_width = false;
  bool has_height = false;
  std::optional<ColorRange> range;
  std::string_view rest = line.substr(kMagic.size());
  while (!rest.empty()) {
    const std::size_t space = rest.find(' ');
    const std::string_view tag = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    if (tag.empty()) {
      continue;
    }
    const std::string_view value = tag.substr(1);
    switch (tag[0]) {
      case 'W':
        if (!parse_int(value, h.desc.width)) {
          throw bad("width", tag);
        }
        has_width = true;
        break;
      case 'H':
        if (!parse_int(value, h.desc.height)) {
          throw bad("height", tag);
        }
        has_height = true;
        break;
      case 'F':
        if (!parse_ratio(value, h.frame_rate)) {
          throw bad("frame rate", tag);
        }
        break;
      case 'A':
        if (!parse_ratio(value, h.aspect)) {
          throw bad("aspect ratio", tag);
        }
        break;
      case 'I':
        if (!parse_interlace(value, h.interlace)) {
          throw bad("interlacing", tag);
        }
        break;
      case 'C':
        h.colorspace = find_colorspace(value).name;
        break;
      case 'X':
        h.extensions.emplace_back(value);
        if (value == "COLORRANGE=FULL") {
          range = ColorRange::full;
        } else if (value == "COLORRANGE=LIMITED") {
          range = ColorRange::limited;
        }
        break;
      default:
        break;  // the format lets readers skip tags they do not know
    }
  }
  if (!has_width || !has_height) {
    throw UsageError(name_ + ": the Y4M header has no " + (has_width ? "height (H" : "width (W") +
                     " tag)");
  }
  const auto check_side = [this](const char* what, int side) {
    if (side < 1 || side > kY4mMaxSide) {
      throw UsageError(name_ + ": Y4M " + what + " " + std::to_string(side) +
                       " is out of range (1 to " + std::to_string(kY4mMaxSide) + ")");
    }
  };
  check_side("width", h.desc.width);
  check_side("height", h.desc.height);
  const Y4mColorspace& cs = find_colorspace(h.colorspace);
  h.desc.chroma = cs.chroma;
  h.desc.bits = cs.bits;
  h.desc.range = range.value_or(ColorRange::limited);
  h.desc.matrix =
      h.desc.width >= 1280 || h.desc.height > 576 ? ColorMatrix::bt709 : ColorMatrix::bt601;
  if (h.desc.bytes() > kY4mMaxFrameBytes) {
    throw UsageError(name_ + ": Y4M frames of " + std::to_string(h.desc.width) + "x" +
                     std::to_string(h.desc.height) + " " + h.colorspace + " take " +
                     std::to_string(h.desc.bytes()) + " bytes, more than the 1 GiB we accept");
  }
  header_ = std::move(h);
}

bool Y4mReader::read_frame(std::span<std::byte> dst) {
  if (dst.size() != frame_bytes()) {
    throw UsageError(name_ + ": a Y4M frame needs a buffer of " + std::to_string(frame_bytes()) +
                     " bytes, not " + std::to_string(dst.size()));
  }
  const auto frame = [this] {
    return name_ + (header_.framing == Framing::raw ? ": raw frame " : ": Y4M frame ") + std::to_string(frames_read_);
  };
  if (header_.framing == Framing::raw) {
    return read_planes(dst, frame);
  }
  std::string_view line;
  const LineEnd end = next_line(line);
  if (end == LineEnd::eof && line.empty()) {
    return false;
  }
  const bool marked =
      line.starts_with(kMarker) && (line.size() == kMarker.size() || line[kMarker.size()] == ' ');
  if (end == LineEnd::eof && (marked || kMarker.starts_with(line))) {
    throw Error(frame() + " is truncated: 0 of " + std::to_string(dst.size()) +
                " bytes (its FRAME line ends early)");
  }
  if (!marked) {
    throw Error(frame() + " does not start with FRAME: found '" + printable(line) + "'");
  }
  if (end == LineEnd::too_long) {
    throw Error(frame() + ": the FRAME line is longer than " + std::to_string(kY4mMaxLineBytes) +
                " bytes");
  }

  return read_planes(dst, frame);
}

template <class Name>
bool Y4mReader::read_planes(std::span<std::byte> dst, const Name& frame) {
  std::size_t got = std::min(end_ - begin_, dst.size());
  std::memcpy(dst.data(), buffer_.data() + begin_, got);
  begin_ += got;
  if (begin_ == end_) {
    begin_ = end_ = 0;
  }
  while (got < dst.size()) {
    const std::size_t n = fill(dst.subspan(got));
    if (n == 0 && got == 0 && header_.framing == Framing::raw) {
      return false;  // raw frames end where a frame would begin
    }
    if (n == 0) {
      throw Error(frame() + " is truncated: " + std::to_string(got) + " of " +
                  std::to_string(dst.size()) + " bytes");
    }
    got += std::min(n, dst.size() - got);
  }
  ++frames_read_;
  return true;
}

}  // namespace pyn
