// The report's arithmetic on records whose answers are known.

#include <gtest/gtest.h>

#include "pynference/pipeline/report.hpp"

namespace pyn {
namespace {

// A perfectly overlapped pipeline: one frame every `period` ms, each stage taking its own time.
RunReport overlapped(int frames, double period, double h2d, double compute, double d2h) {
  RunReport report;
  for (int i = 0; i < frames; ++i) {
    const double t = i * period;
    FrameRecord r;
    r.frame = i;
    r.source_begin = t;
    r.source_end = t + 0.01;
    r.h2d_begin = t + 0.1;
    r.h2d_end = r.h2d_begin + h2d;
    r.compute_begin = r.h2d_end;
    r.compute_end = r.compute_begin + compute;
    r.d2h_begin = r.compute_end;
    r.d2h_end = r.d2h_begin + d2h;
    r.sink_begin = r.d2h_end;
    r.sink_end = r.d2h_end + 0.01;
    report.records.push_back(r);
  }
  return report;
}

TEST(Summarize, BoundEfficiencyAndGap) {
  RunReport report = overlapped(101, 2.0, 1.0, 1.5, 0.5);
  report.stages = {1.0, 1.5, 0.5, 1.2};
  summarize(report, 1, 6'000'000, 3'000'000);
  EXPECT_EQ(report.measured_frames, 100);
  EXPECT_NEAR(report.fps, 500.0, 1e-6);             // 100 frames in 200 ms
  EXPECT_NEAR(report.in_run.compute_ms, 1.5, 1e-9);
  EXPECT_NEAR(report.in_run.h2d_ms, 1.0, 1e-9);
  EXPECT_NEAR(report.bound_fps, 1000.0 / 1.5, 1e-6);
  EXPECT_NEAR(report.efficiency, 0.75, 1e-9);
  EXPECT_NEAR(report.compute_gap_ms, 0.5, 1e-9);    // 2.0 period - 1.5 compute
  EXPECT_NEAR(report.h2d_gbps, 6.0, 1e-9);          // 6 MB in 1 ms
  EXPECT_NEAR(report.d2h_gbps, 6.0, 1e-9);
  EXPECT_NEAR(report.latency_p50_ms, 3.11, 1e-9);
}

TEST(Summarize, DuplexCopiesCanSetTheBound) {
  RunReport report = overlapped(11, 1.0, 0.4, 0.3, 0.4);
  report.stages = {0.4, 0.3, 0.4, 0.5};
  summarize(report, 0, 1, 1);
  EXPECT_NEAR(report.bound_fps, 2000.0, 1e-6);
}

TEST(Summarize, OverlappingLanesLeaveNoGap) {
  RunReport report = overlapped(50, 1.0, 0.2, 2.0, 0.2);  // compute spans overlap (two lanes)
  summarize(report, 0, 1, 1);
  EXPECT_NEAR(report.compute_gap_ms, 0.0, 1e-12);
}

TEST(Summarize, EmptyRunIsAllZero) {
  RunReport report;
  summarize(report, 10, 1, 1);
  EXPECT_EQ(report.frames, 0);
  EXPECT_EQ(report.fps, 0.0);
}

}  // namespace
}  // namespace pyn
