#include "pynference/io/video_stream.hpp"

#include <algorithm>
#include <utility>

#include "pynference/device/error.hpp"

namespace pyn {

namespace {

// FFmpeg's AVColorSpace and AVColorRange values (libavutil/pixfmt.h), so this file needs no FFmpeg.
constexpr int kMatrixBt709 = 1;
constexpr int kMatrixUnspecified = 2;
constexpr int kMatrixSmpte170m = 6;
constexpr int kMatrixSmpte240m = 7;
constexpr int kMatrixBt2020Ncl = 9;
constexpr int kRangeMpeg = 1;
constexpr int kRangeJpeg = 2;

int matrix_tag(ColorMatrix matrix) {
  switch (matrix) {
    case ColorMatrix::bt709:
      return kMatrixBt709;
    case ColorMatrix::bt2020:
      return kMatrixBt2020Ncl;
    case ColorMatrix::smpte240m:
      return kMatrixSmpte240m;
    case ColorMatrix::bt601:
      break;
  }
  return kMatrixSmpte170m;
}

}  // namespace

VideoSource::VideoSource(const VideoInputOptions& options)
    : reader_(options), lend_limit_(std::max(1, options.device_frames)) {}

std::optional<Memory> VideoSource::lends() const {
  if (reader_.info().on_device) {
    return Memory::device;
  }
  return std::nullopt;
}

std::optional<FramePlanes> VideoSource::lend(FrameInfo& info) {
  {
    std::unique_lock lock(lend_mutex_);
    returned_.wait(lock, [&] { return stopped_ || out_ < lend_limit_; });
    if (stopped_) {
      return std::nullopt;
    }
    ++out_;
  }
  FrameTime time;
  std::optional<FramePlanes> planes;
  try {
    planes = reader_.lend_frame(&time);
  } catch (...) {
    const std::lock_guard lock(lend_mutex_);
    --out_;
    throw;
  }
  if (!planes) {
    const std::lock_guard lock(lend_mutex_);
    --out_;
    return std::nullopt;
  }
  info.time = time;
  return planes;
}

void VideoSource::give_back(std::int64_t index) {
  reader_.give_back(index);
  {
    const std::lock_guard lock(lend_mutex_);
    --out_;
  }
  returned_.notify_one();
}

void VideoSource::stop_lending() noexcept {
  {
    const std::lock_guard lock(lend_mutex_);
    stopped_ = true;
  }
  returned_.notify_all();
}

bool VideoSource::read(std::span<std::byte> slot, FrameInfo& info) {
  FrameTime time;
  if (!reader_.read_frame(slot.subspan(0, bytes_of(reader_.info().format)), &time)) {
    return false;
  }
  info.time = time;
  return true;
}

VideoSink::VideoSink(VideoOutputOptions options, VideoInfo input)
    : options_(std::move(options)), input_(std::move(input)) {}

void VideoSink::open(const FrameFormat& format) {
  VideoInfo input = input_;
  if (const auto* yuv = std::get_if<YuvDesc>(&format); yuv != nullptr && input.color.matrix == kMatrixUnspecified) {
    // The frames' matrix was a guess from the input's size; the output's size may lead a player to
    // another guess, so say it.
    input.color.matrix = matrix_tag(yuv->matrix);
  }
  writer_ = std::make_unique<VideoWriter>(options_, format, input);
}

void VideoSink::write(std::span<const std::byte> frame, const FrameInfo& info) {
  // A frame without a time (Y4M, synthetic) is frame i at tick i of the input's time base.
  writer_->write_frame(frame, info.time.value_or(FrameTime{info.index, 1}));
}

void VideoSink::close() {
  if (writer_) {
    writer_->close();
  }
}

VideoInfo video_info_for(const FrameFormat& format, Rational frame_rate, Rational aspect,
                         int chroma_location) {
  VideoInfo info;
  info.format = format;
  info.frame_rate = frame_rate.num > 0 && frame_rate.den > 0 ? frame_rate : Rational{25, 1};
  info.time_base = {info.frame_rate.den, info.frame_rate.num};
  info.sample_aspect = aspect;
  info.color.chroma_location = chroma_location;
  if (const auto* yuv = std::get_if<YuvDesc>(&format)) {
    info.color.matrix = matrix_tag(yuv->matrix);
    info.color.range = yuv->range == ColorRange::full ? kRangeJpeg : kRangeMpeg;
  }
  return info;
}

}  // namespace pyn
