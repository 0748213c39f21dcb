#pragma once
// RunReports made by hand for the trace tests: one per layout of the study's strategies, with a
// simple schedule (frame f starts at 10 f ms) so every span's place and time is known.

#include <string>

#include "pynference/pipeline/report.hpp"
#include "pynference/trace/timeline.hpp"

namespace pyn::test {

inline RunReport hand_built(Strategy strategy, int lanes, int frames, bool traced) {
  RunReport report;
  report.strategy = strategy;
  const bool serial = strategy == Strategy::serial_pageable || strategy == Strategy::serial_pinned;
  report.layout.copies_on_lane_streams = serial || strategy == Strategy::worker_streams;
  report.layout.single_thread = serial;
  report.compute_lanes = lanes;
  report.streams = report.layout.copies_on_lane_streams ? lanes : lanes + 2;
  report.slots = 4;
  for (int f = 0; f < frames; ++f) {
    const double t = 10.0 * f;
    FrameRecord r;
    r.frame = f;
    r.lane = f % lanes;
    r.source_begin = t + 0.5;
    r.source_end = t + 1;
    r.h2d_begin = t + 1;
    r.h2d_end = t + 2;
    r.compute_begin = t + 2;
    r.compute_end = t + 8;
    r.d2h_begin = t + 8;
    r.d2h_end = t + 9;
    r.sink_begin = t + 9;
    r.sink_end = t + 9.5;
    if (traced) {
      r.issue_h2d_begin = t + 1;
      r.issue_h2d_end = t + 1.1;
      r.issue_compute_begin = t + 1.2;
      r.issue_compute_end = t + 1.4;
      r.issue_d2h_begin = t + 1.5;
      r.issue_d2h_end = t + 1.6;
    }
    report.records.push_back(r);
  }
  return report;
}

inline std::string lane_name(const Timeline& timeline, const Span& span) {
  return timeline.lanes.at(static_cast<std::size_t>(span.lane)).name;
}

}  // namespace pyn::test
