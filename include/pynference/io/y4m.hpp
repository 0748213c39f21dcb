#pragma once
// YUV4MPEG2 (Y4M) streams, as FFmpeg and mjpegtools write them, in files and pipes: the simplest
// way to move raw planar YUV between pynference and an encoder or decoder process.
//
// A stream is one header line, "YUV4MPEG2" and space-separated tags, then frames, each a line that
// starts with "FRAME" followed by the planes Y, U, V exactly as YuvDesc lays them out. Tags:
//   W<width> H<height>   required, 1..16384
//   F<num>:<den>         frame rate; A<num>:<den> pixel aspect ratio; 0:0 (or absent) = unknown
//   I<p|t|b|m|?>         progressive, top or bottom field first, mixed per frame, unknown
//   C<colour space>      see y4m_colorspaces(); absent = 420jpeg
//   X<text>              application extensions, kept as text; FFmpeg's XCOLORRANGE=FULL|LIMITED
//                        gives the range
// Other tags are ignored, as are the parameters of a FRAME line.
//
// Y4M carries no colour matrix. We guess as players do: BT.709 for HD (width >= 1280 or height >
// 576), BT.601 for SD. Without XCOLORRANGE the range is limited, the common case for video.
//
// Frame indices count from 0. Reader and writer move a frame's planes between the file and the
// caller's buffer (a pipeline slot) with one system call and no copy, except that the reader copies
// the few KiB it read ahead with the FRAME line.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pynference/io/rational.hpp"
#include "pynference/core/yuv_format.hpp"

namespace pyn {

enum class Interlace : std::uint8_t { progressive, top_first, bottom_first, mixed, unknown };

// Y4M, or raw planar frames: the same planes back to back with no header and no FRAME lines (what
// FFmpeg calls rawvideo), whose layout the caller must know.
enum class Framing : std::uint8_t { y4m, raw };

struct Y4mHeader {
  YuvDesc desc;
  // The C tag's value. The reader always sets it; for the writer empty means the usual name for
  // desc (420jpeg, 444, 420p10, 444p10), otherwise it must be a name of the same layout and depth.
  std::string colorspace;
  Rational frame_rate;
  Rational aspect;
  Interlace interlace = Interlace::progressive;
  // X tags without their X, in stream order. The writer writes them back, except COLORRANGE=,
  // which it writes from desc.range.
  std::vector<std::string> extensions;
  // Raw frames carry none of the above but desc.
  Framing framing = Framing::y4m;
};

// A C tag value we read and write, and the frames it means.
struct Y4mColorspace {
  std::string_view name;
  ChromaLayout chroma;
  int bits;
};
[[nodiscard]] std::span<const Y4mColorspace> y4m_colorspaces() noexcept;

// Chroma siting, as FFmpeg's AVChromaLocation numbers it: C420mpeg2 is MPEG-2's "left" (1),
// C420paldv PAL DV's "top left" (3), C420jpeg and C420 "center" (2); 0 (unspecified) for the
// other colour spaces, which have no chroma to site or say nothing of it.
[[nodiscard]] int y4m_chroma_location(std::string_view colorspace) noexcept;
// The C tag of 8-bit 4:2:0 frames sited so: 420mpeg2 for left, 420paldv for top left, else
// 420jpeg (as FFmpeg writes it).
[[nodiscard]] std::string_view y4m_420_colorspace(int chroma_location) noexcept;

// The limits the reader enforces before a caller sizes a buffer from the header.
inline constexpr int kY4mMaxSide = 16384;
inline constexpr std::size_t kY4mMaxFrameBytes = std::size_t{1} << 30U;
inline constexpr std::size_t kY4mMaxLineBytes = 4096;

// Reads a Y4M stream. Header errors throw UsageError; I/O errors and bad frames throw Error naming
// the frame.
class Y4mReader {
 public:
  // A path, or "-" for standard input. Reads the header.
  explicit Y4mReader(const std::string& path);
  // An open descriptor (pipe, socket, memfd) that stays the caller's to close; `name` is for
  // messages. Reads the header.
  Y4mReader(int fd, std::string name);
  // Raw frames (raw.framing == Framing::raw) of raw.desc from a path or "-"; nothing is read yet.
  Y4mReader(const std::string& path, const Y4mHeader& raw);
  Y4mReader(const Y4mReader&) = delete;
  Y4mReader& operator=(const Y4mReader&) = delete;
  ~Y4mReader();

  [[nodiscard]] const Y4mHeader& header() const noexcept { return header_; }
  [[nodiscard]] std::size_t frame_bytes() const noexcept { return header_.desc.bytes(); }
  // Fills `dst` (exactly frame_bytes() long) with the next frame; false at the end of the stream,
  // which must fall on a frame boundary.
  bool read_frame(std::span<std::byte> dst);
  [[nodiscard]] std::int64_t frames_read() const noexcept { return frames_read_; }

 private:
  enum class LineEnd : std::uint8_t { newline, eof, too_long };
  LineEnd next_line(std::string_view& line);
  std::size_t fill(std::span<std::byte> direct);
  void read_header();
  void open_path(const std::string& path);
  template <class Name>
  bool read_planes(std::span<std::byte> dst, const Name& frame);
  [[noreturn]] void fail_read(int error) const;

  std::string name_;
  int fd_ = -1;
  bool owns_fd_ = false;
  // Lines are parsed here; frame data goes straight to the caller, this only holds what a read
  // brought beyond the frame.
  std::vector<char> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  Y4mHeader header_;
  std::int64_t frames_read_ = 0;
};

// Writes a Y4M stream. To a path through "<path>.part", renamed by close(): a writer destroyed
// without close(), after an error say, removes its .part file and leaves any file at `path` alone.
class Y4mWriter {
 public:
  // A path, or "-" for standard output. Bad headers throw UsageError before anything is created.
  Y4mWriter(const std::string& path, const Y4mHeader& header);
  // An open descriptor that stays the caller's to close; `name` is for messages.
  Y4mWriter(int fd, std::string name, const Y4mHeader& header);
  Y4mWriter(const Y4mWriter&) = delete;
  Y4mWriter& operator=(const Y4mWriter&) = delete;
  ~Y4mWriter();

  // `frame` must be exactly header.desc.bytes() long. Write errors throw Error ("cannot write
  // out.y4m: Broken pipe"); SIGPIPE is held off while writing, so a closed pipe reaches the caller
  // as this error rather than ending the process.
  void write_frame(std::span<const std::byte> frame);
  // Writes what is pending (the header, for a stream of no frames) and, for a path, closes and
  // renames the file. Throws where that fails; the .part file is then removed.
  void close();
  [[nodiscard]] std::int64_t frames_written() const noexcept { return frames_written_; }

 private:
  void write_all(std::span<const std::byte> frame);
  void discard_part() noexcept;

  std::string name_;
  std::string part_;  // empty unless writing to a path
  int fd_ = -1;
  std::size_t frame_bytes_ = 0;
  // The header, until it goes out with the first frame or close(), then "FRAME\n".
  std::string pending_;
  bool raw_ = false;  // Framing::raw: no header, no FRAME lines
  bool closed_ = false;
  bool failed_ = false;
  std::int64_t frames_written_ = 0;
};

}  // namespace pyn
