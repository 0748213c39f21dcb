#pragma once
// FFmpeg containers (video.hpp) as a pipeline source and sink. The source decodes straight into
// the pipeline's host slots; the sink encodes from them. Each frame's time goes from the source to
// the sink through FrameTimes, since the two run on different threads with frames in flight.

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "pynference/io/video.hpp"
#include "pynference/core/source.hpp"

namespace pyn {

// Frame index -> its time, from the thread that reads to the thread that writes. Both go in frame
// order (the pipeline reads and delivers in order), so this is a queue.
class FrameTimes {
 public:
  // `index` must be the next frame after the last one put.
  void put(std::int64_t index, FrameTime time);
  // Removes and returns the time of `index`, the oldest one held; throws Error where it is not.
  FrameTime take(std::int64_t index);

 private:
  std::mutex mutex_;
  std::deque<FrameTime> times_;
  std::int64_t first_ = 0;  // index of times_.front()
};

class VideoSource final : public Source {
 public:
  explicit VideoSource(const VideoInputOptions& options);

  [[nodiscard]] FrameFormat format() const override { return reader_.info().format; }
  [[nodiscard]] std::optional<std::int64_t> frame_count() const override { return reader_.info().frame_count; }
  bool read(std::span<std::byte> slot, std::int64_t index) override;

  [[nodiscard]] const VideoInfo& info() const noexcept { return reader_.info(); }
  [[nodiscard]] const std::shared_ptr<FrameTimes>& times() const noexcept { return times_; }

 private:
  VideoReader reader_;
  std::shared_ptr<FrameTimes> times_ = std::make_shared<FrameTimes>();
};

// The writer is made by open(), when the frames' format is known. `input` gives the rate, time
// base, aspect and colour tags to carry; `times` the time of each frame (null: frame i at tick i of
// input.time_base, as for Y4M and synthetic inputs).
class VideoSink final : public Sink {
 public:
  VideoSink(VideoOutputOptions options, VideoInfo input, std::shared_ptr<FrameTimes> times);

  void open(const FrameFormat& format) override;
  void write(std::span<const std::byte> frame, std::int64_t index) override;
  void close() override;
  // The encoder and pixel format, once open.
  [[nodiscard]] std::string description() const { return writer_ ? writer_->description() : ""; }

 private:
  VideoOutputOptions options_;
  VideoInfo input_;
  std::shared_ptr<FrameTimes> times_;
  std::unique_ptr<VideoWriter> writer_;
};

// A VideoInfo for frames that come with a rate but no container (Y4M, synthetic): time base
// 1/rate, so frame i is at tick i; colour tags from the format; the chroma siting as given
// (FFmpeg's AVChromaLocation, from the Y4M colour space: y4m_chroma_location()).
[[nodiscard]] VideoInfo video_info_for(const FrameFormat& format, Rational frame_rate,
                                       Rational aspect, int chroma_location = 0);

}  // namespace pyn
