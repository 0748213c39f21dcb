#pragma once
// The libav* headers and what the video reader and writer share: owning handles, messages, the
// input window, and the mapping between FrameFormat and FFmpeg's pixel formats. Only the FFmpeg
// build of pyn_io includes this.

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pynference/io/video.hpp"

namespace pyn::av {

struct InputDeleter {
  void operator()(AVFormatContext* c) const noexcept { avformat_close_input(&c); }
};
struct CodecDeleter {
  void operator()(AVCodecContext* c) const noexcept { avcodec_free_context(&c); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const noexcept { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const noexcept { av_packet_free(&p); }
};
struct SwsDeleter {
  void operator()(SwsContext* s) const noexcept { sws_freeContext(s); }
};
using Input = std::unique_ptr<AVFormatContext, InputDeleter>;
using Codec = std::unique_ptr<AVCodecContext, CodecDeleter>;
using Frame = std::unique_ptr<AVFrame, FrameDeleter>;
using Packet = std::unique_ptr<AVPacket, PacketDeleter>;
using Sws = std::unique_ptr<SwsContext, SwsDeleter>;

[[nodiscard]] Frame make_frame();
[[nodiscard]] Packet make_packet();

// Damage a decoder logs but conceals: ffv1 (FFmpeg 5.1) logs a slice CRC mismatch, repairs the
// slice from the frame before and returns the frame as good. The reader sets each packet's
// reordered_opaque to tag(n) for its n-th packet; the error-level messages a decoder logs while
// decoding that packet (in any of its frame threads) are kept here under that tag, and the frame
// that comes out of the packet carries the same tag.
class DamageLog {
 public:
  static constexpr int kIdShift = 40;

  DamageLog();
  DamageLog(const DamageLog&) = delete;
  DamageLog& operator=(const DamageLog&) = delete;
  ~DamageLog();

  [[nodiscard]] std::int64_t tag(std::int64_t packet) const noexcept {
    return (id_ << kIdShift) | (packet & ((std::int64_t{1} << kIdShift) - 1));
  }
  // The message logged while decoding the packet of `tag`, or "" if none.
  [[nodiscard]] std::string take(std::int64_t tag);
  void add(std::int64_t tag, std::string message);

 private:
  std::int64_t id_ = 0;
  std::mutex mutex_;
  std::vector<std::pair<std::int64_t, std::string>> entries_;
};

// Error-level messages a demuxer logs while it carries on: Matroska skips a damaged element or a
// block cut short ("File ended prematurely") and reads on as if nothing were missing. Collects
// the messages logged with `context` as their object while this lives.
class DemuxLog {
 public:
  explicit DemuxLog(const AVFormatContext* context);
  DemuxLog(const DemuxLog&) = delete;
  DemuxLog& operator=(const DemuxLog&) = delete;
  ~DemuxLog();

  // The first message logged since the last take(), or "".
  [[nodiscard]] std::string take();
  void add(std::string message);

 private:
  const AVFormatContext* context_;
  std::mutex mutex_;
  std::vector<std::string> messages_;
};

// av_strerror's text: "Invalid data found when processing input".
[[nodiscard]] std::string error_text(int code);
// FFmpeg's log at AV_LOG_ERROR, once per process, through a callback that feeds DamageLogs and
// prints nothing, unless set_ffmpeg_verbose(true) asked for FFmpeg's lines (warnings too).
void quiet_log();

[[nodiscard]] inline AVRational to_av(Rational r) noexcept { return AVRational{r.num, r.den}; }
[[nodiscard]] inline Rational from_av(AVRational r) noexcept { return Rational{r.num, r.den}; }

// The -ss/-t/-to window in seconds on the input's timeline (0 = the file's start time).
struct Window {
  double start = 0;
  double end = std::numeric_limits<double>::infinity();
};
// Checks the options (UsageError for negative times, -t with -to, an empty window).
[[nodiscard]] Window window_of(const VideoInputOptions& options);

// A path with a %d (%04d...) that names no file: an image sequence for image2.
[[nodiscard]] bool is_sequence(const std::string& path);

// "-" as "pipe:0"; the image2 demuxer for patterns with a %d.
struct OpenedInput {
  Input context;
  std::unique_ptr<DemuxLog> log;  // of `context`, from before it opened
  std::string name;               // for messages: the path, or "stdin"
  bool seekable = false;
};
[[nodiscard]] OpenedInput open_input(const std::string& path);
// With what `options` says of the demuxer (format: UsageError where FFmpeg has no such demuxer).
[[nodiscard]] OpenedInput open_input(const VideoInputOptions& options);
// Seconds on the input's timeline of `ts` in `time_base`.
[[nodiscard]] double seconds_of(const AVFormatContext& context, std::int64_t ts,
                                AVRational time_base) noexcept;
// Seeks to the key frame at or before `start`; false where the input cannot seek.
bool seek_to(AVFormatContext& context, double start);

// A FrameFormat's planes inside one packed buffer, as pointers and line sizes for libav*.
struct Planes {
  std::array<std::uint8_t*, 4> data{};
  std::array<int, 4> linesize{};
  std::array<int, 3> rows{};
  int count = 0;
};
[[nodiscard]] Planes planes_of(const FrameFormat& format, std::byte* base) noexcept;

// yuv420p, yuv444p, yuv420p10le, yuv444p10le, rgb24/bgr24, rgb48/bgr48 (host order).
[[nodiscard]] AVPixelFormat pix_fmt_of(const FrameFormat& format) noexcept;
[[nodiscard]] int sws_colorspace_of(ColorMatrix matrix) noexcept;
// The pipeline's matrix for an FFmpeg colour space tag (BT.2020 constant luminance as its
// non-constant matrix: the reader warns); unspecified and others by the primaries where they are
// BT.2020 or SMPTE 240M, else by frame size.
[[nodiscard]] ColorMatrix matrix_of(int colorspace, int width, int height,
                                    int primaries = AVCOL_PRI_UNSPECIFIED) noexcept;
// The colour space tag that names a matrix: bt709, bt2020nc, smpte240m, smpte170m for BT.601.
[[nodiscard]] int colorspace_tag_of(ColorMatrix matrix) noexcept;
[[nodiscard]] bool is_rgb(AVPixelFormat format) noexcept;
[[nodiscard]] std::string name_of(AVPixelFormat format);

// A converter between two pixel formats of the same size, with the matrix and ranges given
// (swscale would otherwise assume limited range for yuv* and full for yuvj*).
[[nodiscard]] Sws make_converter(int width, int height, AVPixelFormat from, AVPixelFormat to,
                                 ColorMatrix matrix, bool from_full, bool to_full);

}  // namespace pyn::av
