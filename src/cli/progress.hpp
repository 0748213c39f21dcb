#pragma once
// The `run` command's progress: a sink wrapper that counts frames, and a line on stderr redrawn a
// few times a second (frames, fps, elapsed, ETA) while a run lasts, only where stderr is a
// terminal.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "common.hpp"
#include "pynference/pipeline/source.hpp"

namespace pyn::cli {

// Passes frames on to `inner` and counts them (telling `on_frame`, where given, the count).
class CountingSink final : public Sink {
 public:
  explicit CountingSink(Sink& inner, std::function<void(std::int64_t)> on_frame = {})
      : inner_(inner), on_frame_(std::move(on_frame)) {}
  void open(const FrameFormat& format) override { inner_.open(format); }
  void write(std::span<const std::byte> frame, const FrameInfo& info) override {
    inner_.write(frame, info);
    const std::int64_t written = written_.fetch_add(1, std::memory_order_relaxed) + 1;
    note_frame_written();
    if (on_frame_) {
      on_frame_(written);
    }
  }
  void close() override { inner_.close(); }
  [[nodiscard]] std::int64_t written() const noexcept {
    return written_.load(std::memory_order_relaxed);
  }

 private:
  Sink& inner_;
  std::function<void(std::int64_t)> on_frame_;
  std::atomic<std::int64_t> written_{0};
};

// "frame 1200/5000  57.3 fps  elapsed 0:21  ETA 1:06": fps over the last few seconds, ETA where
// the total is known.
[[nodiscard]] std::string progress_text(std::int64_t frames, std::optional<std::int64_t> total,
                                        double fps, double elapsed_s);
// "1:05", "1:02:03".
[[nodiscard]] std::string clock_text(double seconds);

// Redraws the progress line from its own thread until destroyed; does nothing when `enabled` is
// false (stderr not a terminal, or --quiet).
class ProgressLine {
 public:
  ProgressLine(const CountingSink& sink, std::optional<std::int64_t> total, bool enabled);
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ~ProgressLine();
  // Stops redrawing and clears the line.
  void finish();

 private:
  void loop();

  const CountingSink& sink_;
  std::optional<std::int64_t> total_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace pyn::cli
