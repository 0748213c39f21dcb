#pragma once
// Where `pynference run` reads and writes: the -i and -o arguments turned into a pipeline source
// and sink.
//
//   -i synthetic:WxH:N[:PIXFMT]   N synthetic frames (PIXFMT yuv420p by default, see
//   pixel_format()) -i -  | -i FILE.y4m           Y4M from standard input or a file -i
//   raw:WxH:PIXFMT:PATH        raw planar frames (yuv420p, yuv444p, yuv420p10le, yuv444p10le) from
//                                 a file or - (25 fps)
//   -i anything else              a container or image sequence, through FFmpeg (where built)
//   -o -  | -o FILE.y4m           Y4M to standard output or a file (-o - --format F: container F)
//   -o raw:PATH                   raw planar frames to a file or - (standard output)
//   -o null                       frames are dropped (measuring)
//   -o anything else              a container or image sequence, through FFmpeg (where built)

#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hwdec_flags.hpp"
#include "pynference/io/video.hpp"
#include "pynference/io/y4m.hpp"
#include "pynference/pipeline/source.hpp"

namespace pyn::cli {

// -ss / -t / -to, in seconds.
struct TimeWindow {
  double start_s = 0;
  std::optional<double> duration_s;
  std::optional<double> end_s;
  [[nodiscard]] bool any() const { return start_s > 0 || duration_s || end_s; }
};

// "12.5", "1:05", "0:01:05.5" -> seconds; throws UsageError.
[[nodiscard]] double parse_time(const std::string& text);

// --pix-fmt names the pipeline can produce on the GPU: yuv420p, yuv444p, yuv420p10le, yuv444p10le,
// rgb24, bgr24, rgb48le, bgr48le. YUV takes `like`'s matrix and range where it is YUV, else BT.709
// limited. Other names: nullopt (left to the encoder).
[[nodiscard]] std::optional<FrameFormat> pixel_format(const std::string& name,
                                                      const FrameFormat& like);

class Input {
 public:
  virtual ~Input() = default;
  [[nodiscard]] virtual Source& source() = 0;
  [[nodiscard]] virtual std::string description() const = 0;
  // Frame rate and pixel aspect ratio (0:0 where unknown), for the output.
  [[nodiscard]] virtual Rational frame_rate() const = 0;
  [[nodiscard]] virtual Rational aspect() const { return {}; }
  // --on-error skip: frames concealed or dropped for damage; keep: the error that ended the input.
  [[nodiscard]] virtual std::int64_t frames_damaged() const { return 0; }
  [[nodiscard]] virtual std::string error_kept() const { return {}; }
};

struct OutputOptions {
  std::string path;
  std::string encoder;
  std::optional<int> crf;
  std::string preset;
  std::string pix_fmt;
  bool copy_audio = true;
  std::string audio_codec = "copy";
  std::int64_t audio_bitrate = 0;  // 0: the encoder's default
  std::string format;              // --format: a container by name; "-" with it is FFmpeg, not Y4M
  std::vector<std::string> maps;   // --map, as VideoOutputOptions::maps
};

// An image-sequence pattern: a %d or %0Nd in the name.
[[nodiscard]] bool is_pattern(const std::string& path);

// Throws UsageError where `out_file` is the input (the same file, or the same sequence pattern),
// or where it exists (a file, or any frame of a sequence pattern) and `overwrite` (-y) is false.
void check_output_name(const std::string& in_file, const std::string& out_file, bool overwrite);

// True where the input is a pipe (standard input, raw:...:-, a FIFO): it may stall.
[[nodiscard]] bool input_may_stall(const std::string& spec);

// Reads `inner` on a thread of its own, so that a stop is not held up by a read that never returns
// (a producer that stalls): read() gives up when `stop` is set, as at the end of the input, and
// the frame it waited for is lost. Each frame is read into a buffer of this class and copied into
// the slot, which is why only inputs that may stall get this. After abandoned(), the inner source
// may still be in a read: it must outlive the process (the caller keeps it).
class StoppableSource final : public Source {
 public:
  StoppableSource(Source& inner, const std::atomic<bool>& stop);
  StoppableSource(const StoppableSource&) = delete;
  StoppableSource& operator=(const StoppableSource&) = delete;
  ~StoppableSource() override;

  [[nodiscard]] FrameFormat format() const override { return inner_.format(); }
  [[nodiscard]] std::optional<std::int64_t> frame_count() const override {
    return inner_.frame_count();
  }
  bool read(std::span<std::byte> slot, FrameInfo& info) override;
  [[nodiscard]] bool abandoned() const;

 private:
  struct Shared;
  Source& inner_;
  const std::atomic<bool>& stop_;
  std::shared_ptr<Shared> shared_;
  std::thread thread_;
};

// --on-error stop|skip|keep; throws UsageError for other names.
[[nodiscard]] VideoInputOptions::OnError parse_on_error(const std::string& name);

// `on_error` other than stop applies to inputs read through FFmpeg: UsageError for the others.
// `-` is Y4M where standard input starts "YUV4MPEG2" (or cannot be looked at without reading it:
// a terminal), else a container through FFmpeg; `input_format` (--input-format) names FFmpeg's
// demuxer instead of probing ("yuv4mpegpipe" keeps our Y4M reader).
[[nodiscard]] std::unique_ptr<Input> open_input(
    const std::string& spec, const TimeWindow& window,
    VideoInputOptions::OnError on_error = VideoInputOptions::OnError::stop,
    const std::string& input_format = "", std::optional<std::int64_t> start_number = {},
    const std::string& input_rate = "", const HwDecodeFlags& hwdec = {});
[[nodiscard]] std::unique_ptr<Sink> open_output(const OutputOptions& options, Input& input);

}  // namespace pyn::cli
