#pragma once
// FFmpeg containers (video.hpp) as a pipeline source and sink. The source decodes straight into
// the pipeline's host slots; the sink encodes from them. Each frame's time goes from the source to
// the sink with the frame (FrameInfo), whatever thread each runs on.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "pynference/core/source.hpp"
#include "pynference/io/video.hpp"

namespace pyn {

class VideoSource final : public Source {
 public:
  explicit VideoSource(const VideoInputOptions& options);

  [[nodiscard]] FrameFormat format() const override { return reader_.info().format; }
  [[nodiscard]] std::optional<std::int64_t> frame_count() const override {
    return reader_.info().frame_count;
  }
  bool read(std::span<std::byte> slot, FrameInfo& info) override;
  // NVDEC (info().on_device): device frames lent, at most VideoInputOptions::device_frames at
  // once; lend() waits for one to come back, and stop_lending() ends that wait (nothing more is
  // lent).
  [[nodiscard]] std::optional<Memory> lends() const override;
  std::optional<FramePlanes> lend(FrameInfo& info) override;
  void give_back(std::int64_t index) override;
  void stop_lending() noexcept override;

  [[nodiscard]] const VideoInfo& info() const noexcept { return reader_.info(); }
  [[nodiscard]] std::int64_t frames_damaged() const noexcept { return reader_.frames_damaged(); }
  [[nodiscard]] const std::string& error_kept() const noexcept { return reader_.error_kept(); }

 private:
  VideoReader reader_;
  int lend_limit_;
  std::mutex lend_mutex_;
  std::condition_variable returned_;
  int out_ = 0;  // frames lent and not given back
  bool stopped_ = false;
};

// The writer is made by open(), when the frames' format is known. `input` gives the rate, time
// base, aspect and colour tags to carry; each frame's FrameInfo its time (none: frame i at tick i
// of input.time_base, as for Y4M and synthetic inputs).
class VideoSink final : public Sink {
 public:
  VideoSink(VideoOutputOptions options, VideoInfo input);

  void open(const FrameFormat& format) override;
  void write(std::span<const std::byte> frame, const FrameInfo& info) override;
  void close() override;
  // The encoder and pixel format, once open.
  [[nodiscard]] std::string description() const { return writer_ ? writer_->description() : ""; }

 private:
  VideoOutputOptions options_;
  VideoInfo input_;
  std::unique_ptr<VideoWriter> writer_;
};

// A VideoInfo for frames that come with a rate but no container (Y4M, synthetic): time base
// 1/rate, so frame i is at tick i; colour tags from the format; the chroma siting as given
// (FFmpeg's AVChromaLocation, from the Y4M colour space: y4m_chroma_location()).
[[nodiscard]] VideoInfo video_info_for(const FrameFormat& format, Rational frame_rate,
                                       Rational aspect, int chroma_location = 0);

}  // namespace pyn
