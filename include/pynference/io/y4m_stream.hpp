#pragma once
// Y4M files and pipes as a pipeline source and sink: frames go between the stream and the
// pipeline's host slots with no copy in between (see y4m.hpp). Raw planar frames (Framing::raw)
// go the same way.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "pynference/io/y4m.hpp"
#include "pynference/core/source.hpp"

namespace pyn {

// Which frames of an input to take: `first` frames are skipped, then at most `count` (-1: all).
struct FrameWindow {
  std::int64_t first = 0;
  std::int64_t count = -1;
};

class Y4mSource final : public Source {
 public:
  // A path, or "-" for standard input. Reads the header; errors as Y4mReader's.
  explicit Y4mSource(const std::string& path, FrameWindow window = {});
  // Raw frames of raw.desc (raw.framing == Framing::raw), from a path or "-".
  Y4mSource(const std::string& path, const Y4mHeader& raw);
  // Chooses the frames to take, e.g. once the header's frame rate is known; before the run.
  void select(FrameWindow window);

  [[nodiscard]] FrameFormat format() const override { return reader_.header().desc; }
  // The window's count, or for a regular file the frames it holds (from its size), else unknown.
  [[nodiscard]] std::optional<std::int64_t> frame_count() const override { return frames_; }
  bool read(std::span<std::byte> slot, FrameInfo& info) override;

  [[nodiscard]] const Y4mHeader& header() const noexcept { return reader_.header(); }

 private:
  Y4mReader reader_;
  std::optional<std::int64_t> file_frames_;
  FrameWindow window_;
  std::optional<std::int64_t> frames_;
  bool skipped_ = false;
};

// Writes the frames it gets as Y4M with `header`'s rate, aspect, interlacing and extensions; the
// frame layout comes from open(), which must be planar YUV. Files are written through "<path>.part"
// and renamed by close(); a run that fails leaves nothing behind.
class Y4mSink final : public Sink {
 public:
  Y4mSink(std::string path, Y4mHeader header);

  void open(const FrameFormat& format) override;
  void write(std::span<const std::byte> frame, const FrameInfo& info) override;
  // Throws Error where no frame was written: a file is then removed, not renamed into place.
  void close() override;

 private:
  std::string path_;
  Y4mHeader header_;
  std::unique_ptr<Y4mWriter> writer_;
  std::int64_t frames_ = 0;
};

}  // namespace pyn
