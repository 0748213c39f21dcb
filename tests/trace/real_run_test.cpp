// Timelines of real runs: every strategy on the host backend (streams are threads there, events
// carry host timestamps), traced. The spans must land on lanes that never run two things at once.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "json_check.hpp"
#include "pynference/io/sinks.hpp"
#include "pynference/engine/synthetic.hpp"
#include "pynference/io/synthetic.hpp"
#include "pynference/pipeline/pipeline.hpp"
#include "pynference/trace/timeline.hpp"
#include "xml_check.hpp"

namespace pyn {
namespace {

using test::JsonParser;
using test::JsonValue;
using test::XmlDocument;

constexpr std::int64_t kFrames = 16;

RunReport traced_run(Strategy strategy) {
  const Device device = Device::open(DeviceSpec::parse("cpu"));
  SyntheticEngine engine(device, {0.3, 2, DType::f16});
  SyntheticSource source(ImageDesc{24, 16, PixelType::u8, ChannelOrder::rgb}, kFrames);
  NullSink sink;
  PipelineOptions options;
  options.strategy = strategy;
  options.trace = true;
  options.workers = 2;
  options.compute_streams = 2;
  options.warmup = 2;
  return run_pipeline(device, engine, source, sink, options);
}

class RealRun : public ::testing::TestWithParam<Strategy> {
 protected:
  static void SetUpTestSuite() {
    for (const Strategy strategy : kAllStrategies) {
      reports_[strategy] = traced_run(strategy);
    }
  }
  static const RunReport& report() { return reports_.at(GetParam()); }
  static std::map<Strategy, RunReport> reports_;
};

std::map<Strategy, RunReport> RealRun::reports_;

TEST_P(RealRun, HasEverySpanOfEveryFrame) {
  const Timeline timeline = make_timeline(report(), "real");
  ASSERT_EQ(report().frames, kFrames);
  // Tracing was on, so every frame has its three issue spans too.
  EXPECT_EQ(timeline.spans.size(), static_cast<std::size_t>(8 * kFrames));
  const std::size_t gpu_lanes =
      static_cast<std::size_t>(std::count_if(timeline.lanes.begin(), timeline.lanes.end(),
                                             [](const TimelineLane& lane) { return lane.gpu; }));
  EXPECT_EQ(gpu_lanes, static_cast<std::size_t>(report().streams));
}

TEST_P(RealRun, NeverRunsTwoSpansAtOnceOnAGpuLane) {
  const Timeline timeline = make_timeline(report(), "real");
  for (std::size_t lane = 0; lane < timeline.lanes.size(); ++lane) {
    if (!timeline.lanes[lane].gpu) {
      continue;
    }
    std::vector<Span> spans;
    std::copy_if(timeline.spans.begin(), timeline.spans.end(), std::back_inserter(spans),
                 [&](const Span& s) { return s.lane == static_cast<int>(lane); });
    std::sort(spans.begin(), spans.end(),
              [](const Span& a, const Span& b) { return a.begin_ms < b.begin_ms; });
    for (std::size_t i = 0; i + 1 < spans.size(); ++i) {
      EXPECT_LE(spans[i].end_ms, spans[i + 1].begin_ms + 1e-6)
          << timeline.lanes[lane].name << ": " << spans[i].label << " of frame " << spans[i].frame
          << " overlaps " << spans[i + 1].label << " of frame " << spans[i + 1].frame;
    }
  }
}

TEST_P(RealRun, GivesAChromeTraceWithOneEventPerSpanAndNoOverlapOnGpuThreads) {
  const Timeline timeline = make_timeline(report(), "real");
  JsonValue trace;
  ASSERT_NO_THROW(trace = JsonParser::parse(chrome_trace_json(timeline)));
  std::map<std::pair<double, double>, std::vector<std::pair<double, double>>> by_thread;
  std::size_t complete = 0;
  double gpu_pid = -1;
  for (const JsonValue& event : trace.at("traceEvents").array) {
    if (event.at("ph").string == "M" && event.at("name").string == "process_name" &&
        event.at("args").at("name").string == "GPU") {
      gpu_pid = event.at("pid").number;
    }
  }
  ASSERT_GE(gpu_pid, 0);
  for (const JsonValue& event : trace.at("traceEvents").array) {
    if (event.at("ph").string != "X") {
      continue;
    }
    ++complete;
    if (event.at("pid").number == gpu_pid) {
      const double ts = event.at("ts").number;
      by_thread[{event.at("pid").number, event.at("tid").number}].emplace_back(
          ts, ts + event.at("dur").number);
    }
  }
  EXPECT_EQ(complete, timeline.spans.size());
  EXPECT_EQ(by_thread.size(), static_cast<std::size_t>(report().streams));
  for (auto& [thread, spans] : by_thread) {
    std::sort(spans.begin(), spans.end());
    for (std::size_t i = 0; i + 1 < spans.size(); ++i) {
      // µs written with 3 decimals: ts and dur each round by up to 0.0005.
      EXPECT_LE(spans[i].second, spans[i + 1].first + 2e-3) << "thread " << thread.second;
    }
  }
}

TEST_P(RealRun, GivesAWellFormedSvgWithEveryLane) {
  const Timeline timeline = make_timeline(report(), std::string(to_string(GetParam())));
  std::unique_ptr<XmlDocument> svg;
  ASSERT_NO_THROW(svg = std::make_unique<XmlDocument>(timeline_svg(timeline, {})));
  std::vector<std::string> texts;
  for (const test::XmlElement* text : svg->all("text")) {
    texts.push_back(text->text);
  }
  for (const TimelineLane& lane : timeline.lanes) {
    EXPECT_NE(std::find(texts.begin(), texts.end(), lane.name), texts.end()) << lane.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Strategies, RealRun, ::testing::ValuesIn(kAllStrategies),
                         [](const auto& p) {
                           std::string name(to_string(p.param));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace pyn
