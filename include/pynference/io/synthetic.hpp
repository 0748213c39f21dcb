#pragma once
// Synthetic frames for benchmarks, demos and tests: deterministic from the frame index, cheap to
// produce (so the source never limits a benchmark), and easy to check at the other end.
//
// Frame i is a fixed pseudo-random pattern whose first row (of luma, for YUV) is replaced by a stamp
// derived from i; the pattern is laid into each slot once (prime), and read() writes only the stamp
// row. 10-bit YUV samples have their top six bits clear.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "pynference/core/source.hpp"

namespace pyn {

class SyntheticSource final : public Source {
 public:
  SyntheticSource(FrameFormat format, std::int64_t frames);

  [[nodiscard]] FrameFormat format() const override { return format_; }
  [[nodiscard]] std::optional<std::int64_t> frame_count() const override { return frames_; }
  void prime(std::span<std::byte> slot) override;
  bool read(std::span<std::byte> slot, FrameInfo& info) override;

  // The whole of frame `index`, for checking.
  void render(std::span<std::byte> frame, std::int64_t index) const;

 private:
  FrameFormat format_;
  std::int64_t frames_;
};

}  // namespace pyn
