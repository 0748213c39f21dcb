// make_timeline puts each span on the stream or thread that ran it, for every layout.

#include "pynference/trace/timeline.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "hand_built.hpp"

namespace pyn {
namespace {

using test::hand_built;
using test::lane_name;

struct LayoutCase {
  const char* name;
  Strategy strategy;
  int lanes;
  bool traced;
  std::vector<std::string> gpu_lanes;
  std::vector<std::string> host_lanes;
};

const LayoutCase kLayouts[] = {
    {"serial", Strategy::serial_pageable, 1, true, {"stream 0"}, {"main thread"}},
    {"serial_untraced", Strategy::serial_pinned, 1, false, {"stream 0"}, {"main thread"}},
    {"worker_streams",
     Strategy::worker_streams,
     2,
     true,
     {"stream 0", "stream 1"},
     {"source thread", "worker 0", "worker 1", "sink thread"}},
    {"worker_streams_untraced",
     Strategy::worker_streams,
     2,
     false,
     {"stream 0", "stream 1"},
     {"source thread", "sink thread"}},
    {"split_streams",
     Strategy::split_streams,
     1,
     true,
     {"H2D stream", "compute stream 0", "D2H stream"},
     {"source thread", "H2D thread", "compute thread 0", "D2H thread", "sink thread"}},
    {"split_streams_untraced",
     Strategy::split_streams,
     1,
     false,
     {"H2D stream", "compute stream 0", "D2H stream"},
     {"source thread", "sink thread"}},
    {"multi_compute",
     Strategy::multi_compute,
     2,
     true,
     {"H2D stream", "compute stream 0", "compute stream 1", "D2H stream"},
     {"source thread", "H2D thread", "compute thread 0", "compute thread 1", "D2H thread",
      "sink thread"}},
};

class EveryLayout : public ::testing::TestWithParam<LayoutCase> {};

TEST_P(EveryLayout, HasTheLanesOfItsStreamsAndThreadsInPipelineOrder) {
  const LayoutCase& c = GetParam();
  const Timeline timeline = make_timeline(hand_built(c.strategy, c.lanes, 6, c.traced), "t");
  std::vector<std::string> gpu;
  std::vector<std::string> host;
  for (const TimelineLane& lane : timeline.lanes) {
    (lane.gpu ? gpu : host).push_back(lane.name);
  }
  EXPECT_EQ(gpu, c.gpu_lanes);
  EXPECT_EQ(host, c.host_lanes);
  // GPU lanes come first.
  ASSERT_FALSE(timeline.lanes.empty());
  EXPECT_TRUE(timeline.lanes.front().gpu);
  EXPECT_FALSE(timeline.lanes.back().gpu);
}

TEST_P(EveryLayout, HoldsEverySpanOfEveryFrameOnce) {
  const LayoutCase& c = GetParam();
  const int frames = 7;
  const Timeline timeline = make_timeline(hand_built(c.strategy, c.lanes, frames, c.traced), "t");
  const std::size_t per_frame = c.traced ? 8 : 5;
  EXPECT_EQ(timeline.spans.size(), per_frame * frames);
  for (const SpanKind kind :
       {SpanKind::h2d, SpanKind::compute, SpanKind::d2h, SpanKind::source, SpanKind::sink}) {
    EXPECT_EQ(std::count_if(timeline.spans.begin(), timeline.spans.end(),
                            [kind](const Span& s) { return s.kind == kind; }),
              frames)
        << to_string(kind);
  }
  EXPECT_EQ(std::count_if(timeline.spans.begin(), timeline.spans.end(),
                          [](const Span& s) { return s.kind == SpanKind::issue; }),
            c.traced ? 3 * frames : 0);
}

TEST_P(EveryLayout, PutsGpuKindsOnGpuLanesAndHostKindsOnHostLanes) {
  const LayoutCase& c = GetParam();
  const Timeline timeline = make_timeline(hand_built(c.strategy, c.lanes, 6, c.traced), "t");
  for (const Span& span : timeline.spans) {
    const bool gpu_kind =
        span.kind == SpanKind::h2d || span.kind == SpanKind::compute || span.kind == SpanKind::d2h;
    ASSERT_GE(span.lane, 0);
    ASSERT_LT(span.lane, static_cast<int>(timeline.lanes.size()));
    EXPECT_EQ(timeline.lanes[static_cast<std::size_t>(span.lane)].gpu, gpu_kind)
        << span.label << " of frame " << span.frame << " on " << lane_name(timeline, span);
  }
}

TEST_P(EveryLayout, SortsSpansByBegin) {
  const LayoutCase& c = GetParam();
  const Timeline timeline = make_timeline(hand_built(c.strategy, c.lanes, 9, c.traced), "t");
  EXPECT_TRUE(std::is_sorted(timeline.spans.begin(), timeline.spans.end(),
                             [](const Span& a, const Span& b) { return a.begin_ms < b.begin_ms; }));
}

INSTANTIATE_TEST_SUITE_P(Layouts, EveryLayout, ::testing::ValuesIn(kLayouts),
                         [](const auto& p) { return std::string(p.param.name); });

// The lane a span of `frame` and `kind` landed on.
std::string lane_of(const Timeline& timeline, std::int64_t frame, const std::string& label) {
  for (const Span& span : timeline.spans) {
    if (span.frame == frame && span.label == label) {
      return lane_name(timeline, span);
    }
  }
  return "(none)";
}

TEST(Serial, PutsEverythingOnOneStreamAndTheMainThread) {
  const Timeline timeline = make_timeline(hand_built(Strategy::serial_pageable, 1, 3, true), "t");
  for (const char* label : {"H2D", "compute", "D2H"}) {
    EXPECT_EQ(lane_of(timeline, 2, label), "stream 0") << label;
  }
  for (const char* label : {"source", "issue H2D", "issue compute", "issue D2H", "sink"}) {
    EXPECT_EQ(lane_of(timeline, 2, label), "main thread") << label;
  }
}

TEST(WorkerStreams, PutsAFrameOnItsWorkersStreamAndThread) {
  const Timeline timeline = make_timeline(hand_built(Strategy::worker_streams, 2, 4, true), "t");
  for (std::int64_t frame = 0; frame < 4; ++frame) {
    const std::string k = std::to_string(frame % 2);
    for (const char* label : {"H2D", "compute", "D2H"}) {
      EXPECT_EQ(lane_of(timeline, frame, label), "stream " + k) << label << " of " << frame;
    }
    for (const char* label : {"issue H2D", "issue compute", "issue D2H"}) {
      EXPECT_EQ(lane_of(timeline, frame, label), "worker " + k) << label << " of " << frame;
    }
    EXPECT_EQ(lane_of(timeline, frame, "source"), "source thread");
    EXPECT_EQ(lane_of(timeline, frame, "sink"), "sink thread");
  }
}

TEST(MultiCompute, PutsCopiesOnTheCopyStreamsAndComputeOnItsLane) {
  const Timeline timeline = make_timeline(hand_built(Strategy::multi_compute, 2, 4, true), "t");
  for (std::int64_t frame = 0; frame < 4; ++frame) {
    const std::string k = std::to_string(frame % 2);
    EXPECT_EQ(lane_of(timeline, frame, "H2D"), "H2D stream");
    EXPECT_EQ(lane_of(timeline, frame, "compute"), "compute stream " + k);
    EXPECT_EQ(lane_of(timeline, frame, "D2H"), "D2H stream");
    EXPECT_EQ(lane_of(timeline, frame, "issue H2D"), "H2D thread");
    EXPECT_EQ(lane_of(timeline, frame, "issue compute"), "compute thread " + k);
    EXPECT_EQ(lane_of(timeline, frame, "issue D2H"), "D2H thread");
  }
}

TEST(Spans, KeepTheRecordsTimesAndFrames) {
  const RunReport report = hand_built(Strategy::split_streams, 1, 3, true);
  const Timeline timeline = make_timeline(report, "t");
  const FrameRecord& r = report.records[1];
  for (const Span& span : timeline.spans) {
    if (span.frame == 1 && span.kind == SpanKind::compute) {
      EXPECT_EQ(span.begin_ms, r.compute_begin);
      EXPECT_EQ(span.end_ms, r.compute_end);
    }
    if (span.frame == 1 && span.label == "issue D2H") {
      EXPECT_EQ(span.kind, SpanKind::issue);
      EXPECT_EQ(span.begin_ms, r.issue_d2h_begin);
      EXPECT_EQ(span.end_ms, r.issue_d2h_end);
    }
  }
}

TEST(Spans, KeepAnIssueThatStartsAtTheOrigin) {
  // Only 0..0 means "not recorded"; a span from 0 to somewhere was recorded.
  RunReport report = hand_built(Strategy::split_streams, 1, 1, false);
  report.records[0].issue_h2d_begin = 0.0;
  report.records[0].issue_h2d_end = 0.25;
  const Timeline timeline = make_timeline(report, "t");
  EXPECT_EQ(lane_of(timeline, 0, "issue H2D"), "H2D thread");
  EXPECT_EQ(lane_of(timeline, 0, "issue compute"), "(none)");
}

TEST(Lanes, CountComputeLanesFromTheRecordsWhenTheReportDoesNot) {
  RunReport report = hand_built(Strategy::multi_compute, 3, 6, false);
  report.compute_lanes = 0;
  const Timeline timeline = make_timeline(report, "t");
  EXPECT_EQ(lane_of(timeline, 5, "compute"), "compute stream 2");
}

TEST(Lanes, StayForAnEmptyRunOnTheGpuOnly) {
  RunReport report = hand_built(Strategy::split_streams, 1, 0, false);
  const Timeline timeline = make_timeline(report, "empty");
  EXPECT_TRUE(timeline.spans.empty());
  ASSERT_EQ(timeline.lanes.size(), 3U);
  EXPECT_TRUE(std::all_of(timeline.lanes.begin(), timeline.lanes.end(),
                          [](const TimelineLane& lane) { return lane.gpu; }));
}

TEST(Timeline, CarriesTheTitleAndTheRunsFiguresInItsSubtitle) {
  RunReport report = hand_built(Strategy::split_streams, 1, 2, false);
  report.fps = 123.45;
  const Timeline timeline = make_timeline(report, "split-streams, 960x540 x4");
  EXPECT_EQ(timeline.title, "split-streams, 960x540 x4");
  EXPECT_NE(timeline.subtitle.find("split-streams"), std::string::npos);
  EXPECT_NE(timeline.subtitle.find("123.5 fps"), std::string::npos) << timeline.subtitle;
}

TEST(SpanKinds, HaveNamesAndTheStudysColours) {
  EXPECT_EQ(to_string(SpanKind::h2d), "h2d");
  EXPECT_EQ(to_string(SpanKind::issue), "issue");
  const auto rgb = [](std::string_view hex) {
    EXPECT_EQ(hex.size(), 7U);
    EXPECT_EQ(hex[0], '#');
    const auto channel = [&](std::size_t at) {
      return std::stoi(std::string(hex.substr(at, 2)), nullptr, 16);
    };
    return std::array<int, 3>{channel(1), channel(3), channel(5)};
  };
  const auto h2d = rgb(span_colour(SpanKind::h2d));
  const auto compute = rgb(span_colour(SpanKind::compute));
  const auto d2h = rgb(span_colour(SpanKind::d2h));
  EXPECT_GT(h2d[1], std::max(h2d[0], h2d[2])) << "H2D is green";
  EXPECT_GT(compute[2], std::max(compute[0], compute[1])) << "compute is blue";
  EXPECT_GT(d2h[0], d2h[1]) << "D2H is red or purple";
  EXPECT_GT(d2h[0] + d2h[2], 2 * d2h[1]) << "D2H is red or purple";
}

}  // namespace
}  // namespace pyn
