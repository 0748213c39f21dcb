// Which slice of a run the SVG shows. A few frames are what the study's pictures show: enough to
// see the pattern repeat, few enough to read every box.

#include <algorithm>
#include <limits>
#include <vector>

#include "pynference/trace/timeline.hpp"

namespace pyn {

TimeWindow svg_window(const Timeline& timeline, const SvgOptions& options) {
  std::vector<std::int64_t> frames;
  frames.reserve(timeline.spans.size());
  for (const Span& span : timeline.spans) {
    frames.push_back(span.frame);
  }
  std::sort(frames.begin(), frames.end());
  frames.erase(std::unique(frames.begin(), frames.end()), frames.end());
  TimeWindow window;
  if (frames.empty()) {
    return window;
  }
  const std::size_t count =
      std::min(static_cast<std::size_t>(std::max(options.frames, 1)), frames.size());
  const std::size_t last_start = frames.size() - count;
  // The middle of the run: past warm-up (slow first frames, empty queues) and before the drain.
  std::size_t first = last_start / 2;
  if (options.first_frame >= 0) {
    const auto at = std::lower_bound(frames.begin(), frames.end(), options.first_frame);
    first = std::min(static_cast<std::size_t>(at - frames.begin()), last_start);
  }
  window.first_frame = frames[first];
  window.frames = static_cast<int>(count);
  const std::int64_t last_frame = frames[first + count - 1];

  // Their compute spans set the interval (the header says why); all their spans without any.
  const auto in_frames = [&](const Span& span) {
    return span.frame >= window.first_frame && span.frame <= last_frame;
  };
  const bool any_compute = std::any_of(
      timeline.spans.begin(), timeline.spans.end(),
      [&](const Span& span) { return in_frames(span) && span.kind == SpanKind::compute; });
  window.begin_ms = std::numeric_limits<double>::max();
  window.end_ms = std::numeric_limits<double>::lowest();
  for (const Span& span : timeline.spans) {
    if (in_frames(span) && (span.kind == SpanKind::compute || !any_compute)) {
      window.begin_ms = std::min(window.begin_ms, span.begin_ms);
      window.end_ms = std::max(window.end_ms, span.end_ms);
    }
  }
  // A little room either side, so the first and last boxes do not sit on the plot's edges.
  const double margin = 0.02 * (window.end_ms - window.begin_ms);
  window.begin_ms -= margin;
  window.end_ms += margin;
  return window;
}

}  // namespace pyn
