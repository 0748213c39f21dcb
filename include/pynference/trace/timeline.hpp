#pragma once
// A run's per-frame spans laid out on lanes (one per GPU stream, one per host thread), and two
// views of them: a Chrome/Perfetto trace to explore, and an SVG drawn like the study's pictures
// (blue compute, green H2D, red/purple D2H) to put next to them.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pynference/pipeline/report.hpp"

namespace pyn {

// source, sink and issue run on host threads; the rest on GPU streams. issue is a host thread
// enqueueing one stage (its label says which).
enum class SpanKind { h2d, compute, d2h, source, sink, issue };

[[nodiscard]] std::string_view to_string(SpanKind kind) noexcept;
// The fill colour of a kind in the SVG ("#rrggbb"), from the study's legend for the GPU kinds.
[[nodiscard]] std::string_view span_colour(SpanKind kind) noexcept;

struct TimelineLane {
  std::string name;
  bool gpu = false;
};

// begin/end in ms from the start of the run; `lane` indexes Timeline::lanes.
struct Span {
  int lane = 0;
  SpanKind kind = SpanKind::compute;
  std::int64_t frame = 0;
  double begin_ms = 0;
  double end_ms = 0;
  std::string label;  // "H2D", "compute", "D2H", "source", "sink", "issue H2D", ...
};

// Lanes: GPU lanes first (in the order a frame meets them), then host lanes. Spans sorted by
// begin, then lane.
struct Timeline {
  std::string title;
  std::string subtitle;  // the run's figures in one line (make_timeline fills it)
  std::vector<TimelineLane> lanes;
  std::vector<Span> spans;
};

// Puts every record's spans on the lanes the report's Layout says ran them. Issue spans that were
// not recorded (tracing off: both ends 0) are left out, and so are host lanes left empty.
[[nodiscard]] Timeline make_timeline(const RunReport& report, std::string title);

// {"traceEvents":[...]}: a complete event ("ph":"X", ts/dur in µs) per span, sorted by time, after
// name and order metadata; GPU lanes are threads of a process "GPU", host lanes of a process
// "host". Overlapping spans on a lane are written as they are.
[[nodiscard]] std::string chrome_trace_json(const Timeline& timeline);

struct SvgOptions {
  std::int64_t first_frame = -1;  // -1: a window in the middle of the run (past warm-up)
  int frames = 6;                 // how many frames' inferences the window spans
  int width_px = 1200;
};

// The time interval an SVG shows: from the first compute begin to the last compute end of frames
// [first_frame, first_frame + frames), with 2% room either side (all their spans where none is a
// compute span). Their copies and host work, and every other frame's spans, are drawn where they
// overlap it, clipped. Compute anchors it because the study's pictures are read inference by
// inference, and a frame's H2D runs as many frames ahead of its compute as the queues hold.
struct TimeWindow {
  std::int64_t first_frame = 0;
  int frames = 0;  // fewer than asked where the run has fewer
  double begin_ms = 0;
  double end_ms = 0;
};

[[nodiscard]] TimeWindow svg_window(const Timeline& timeline, const SvgOptions& options);

// A self-contained SVG document: title, subtitle, legend, one row per lane, a time axis in ms.
[[nodiscard]] std::string timeline_svg(const Timeline& timeline, const SvgOptions& options);

}  // namespace pyn
