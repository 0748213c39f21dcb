#include "pynference/io/video_stream.hpp"

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

void FrameTimes::put(std::int64_t index, FrameTime time) {
  const std::lock_guard lock(mutex_);
  if (index != first_ + static_cast<std::int64_t>(times_.size())) {
    throw Error("frame " + std::to_string(index) + " read out of order");
  }
  times_.push_back(time);
}

FrameTime FrameTimes::take(std::int64_t index) {
  const std::lock_guard lock(mutex_);
  if (times_.empty() || index != first_) {
    throw Error("no time was recorded for frame " + std::to_string(index));
  }
  const FrameTime time = times_.front();
  times_.pop_front();
  ++first_;
  return time;
}

VideoSource::VideoSource(const VideoInputOptions& options) : reader_(options) {}

bool VideoSource::read(std::span<std::byte> slot, std::int64_t index) {
  FrameTime time;
  if (!reader_.read_frame(slot.subspan(0, bytes_of(reader_.info().format)), &time)) {
    return false;
  }
  times_->put(index, time);
  return true;
}

VideoSink::VideoSink(VideoOutputOptions options, VideoInfo input, std::shared_ptr<FrameTimes> times)
    : options_(std::move(options)), input_(std::move(input)), times_(std::move(times)) {}

void VideoSink::open(const FrameFormat& format) {
  VideoInfo input = input_;
  if (const auto* yuv = std::get_if<YuvDesc>(&format); yuv != nullptr && input.color.matrix == kMatrixUnspecified) {
    // The frames' matrix was a guess from the input's size; the output's size may lead a player to
    // another guess, so say it.
    input.color.matrix = matrix_tag(yuv->matrix);
  }
  writer_ = std::make_unique<VideoWriter>(options_, format, input);
}

void VideoSink::write(std::span<const std::byte> frame, std::int64_t index) {
  const FrameTime time = times_ ? times_->take(index) : FrameTime{index, 1};
  writer_->write_frame(frame, time);
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
