#pragma once
// What travels with a frame from its source to its sink besides its samples: its number and its
// time. The pipeline carries it in the frame's slot, so a sink on another thread gets the time its
// source read, however many frames are in flight: no side channel between the two.

#include <cstdint>
#include <optional>

namespace pyn {

// Where a frame's bytes lie: host memory, or the memory of the device the pipeline runs on.
enum class Memory : std::uint8_t { host, device };

// In the source's time base (a container stream's; VideoInfo::time_base for FFmpeg inputs).
struct FrameTime {
  std::int64_t pts = 0;       // on the input's timeline
  std::int64_t duration = 0;  // from the frame rate where the stream has none
  friend constexpr bool operator==(const FrameTime&, const FrameTime&) = default;
};

struct FrameInfo {
  std::int64_t index = 0;         // 0, 1, 2, ... in the order the source gives frames
  std::optional<FrameTime> time;  // where the source has times (containers); else none
};

}  // namespace pyn
