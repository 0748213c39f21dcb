// The video reader and writer of a build without FFmpeg: they say so.
#include "pynference/device/error.hpp"
#include "pynference/io/video.hpp"

namespace pyn {

namespace {
[[noreturn]] void no_ffmpeg() {
  throw UsageError("this build has no FFmpeg; use Y4M (.y4m or a pipe)");
}
}  // namespace

struct VideoReader::State {};
struct VideoWriter::State {};

bool ffmpeg_available() noexcept { return false; }
void set_ffmpeg_verbose(bool /*verbose*/) {}

VideoReader::VideoReader(const VideoInputOptions& /*options*/) { no_ffmpeg(); }
VideoReader::~VideoReader() = default;
std::int64_t VideoReader::frames_dropped() const noexcept { return 0; }
std::int64_t VideoReader::frames_damaged() const noexcept { return 0; }
const std::string& VideoReader::error_kept() const noexcept {
  static const std::string none;
  return none;
}
bool VideoReader::read_frame(std::span<std::byte> /*dst*/, FrameTime* /*time*/) { no_ffmpeg(); }
std::optional<FramePlanes> VideoReader::lend_frame(FrameTime* /*time*/) { no_ffmpeg(); }
void VideoReader::give_back(std::int64_t /*index*/) {}
void VideoReader::open(const VideoInputOptions& /*options*/, bool /*hardware*/) { no_ffmpeg(); }

VideoWriter::VideoWriter(const VideoOutputOptions& /*options*/, const FrameFormat& /*format*/,
                         const VideoInfo& /*input*/) {
  no_ffmpeg();
}
VideoWriter::~VideoWriter() = default;
void VideoWriter::write_frame(std::span<const std::byte> /*frame*/, const FrameTime& /*time*/) {
  no_ffmpeg();
}
void VideoWriter::close() { no_ffmpeg(); }

}  // namespace pyn
