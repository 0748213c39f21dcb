// A build without FFmpeg: no containers to cut or join.

#include "pynference/core/error.hpp"
#include "pynference/io/segments.hpp"

namespace pyn {

Keyframes list_keyframes(const std::string& /*path*/) {
  throw UsageError("this build has no FFmpeg: key frames cannot be listed");
}

std::vector<Segment> plan_segments(const Keyframes& /*keyframes*/, int /*count*/,
                                   double /*every_s*/) {
  throw UsageError("this build has no FFmpeg: videos cannot be cut into segments");
}

std::int64_t join_segments(const JoinOptions& /*options*/) {
  throw UsageError("this build has no FFmpeg: segments cannot be joined");
}

}  // namespace pyn
