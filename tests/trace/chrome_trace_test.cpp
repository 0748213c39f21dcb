// chrome_trace_json writes valid JSON that Chrome and Perfetto read: named processes and threads,
// one complete event per span, in time order, in µs.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "hand_built.hpp"
#include "json_check.hpp"
#include "pynference/trace/timeline.hpp"

namespace pyn {
namespace {

using test::hand_built;
using test::JsonParser;
using test::JsonValue;

// Pointers into `trace`, which must outlive them.
std::vector<const JsonValue*> events_of(const JsonValue& trace, const std::string& phase) {
  std::vector<const JsonValue*> events;
  for (const JsonValue& event : trace.at("traceEvents").array) {
    if (event.at("ph").string == phase) {
      events.push_back(&event);
    }
  }
  return events;
}

// (pid, tid) -> thread name, from the metadata.
std::map<std::pair<int, int>, std::string> thread_names(const JsonValue& trace) {
  std::map<std::pair<int, int>, std::string> names;
  for (const JsonValue* event : events_of(trace, "M")) {
    if (event->at("name").string == "thread_name") {
      names[{static_cast<int>(event->at("pid").number),
             static_cast<int>(event->at("tid").number)}] = event->at("args").at("name").string;
    }
  }
  return names;
}

std::map<int, std::string> process_names(const JsonValue& trace) {
  std::map<int, std::string> names;
  for (const JsonValue* event : events_of(trace, "M")) {
    if (event->at("name").string == "process_name") {
      names[static_cast<int>(event->at("pid").number)] = event->at("args").at("name").string;
    }
  }
  return names;
}

class TraceOfEveryLayout : public ::testing::TestWithParam<Strategy> {};

TEST_P(TraceOfEveryLayout, IsValidJsonWithOneCompleteEventPerSpan) {
  const Timeline timeline = make_timeline(hand_built(GetParam(), 2, 5, true), "t");
  const std::string json = chrome_trace_json(timeline);
  JsonValue trace;
  ASSERT_NO_THROW(trace = JsonParser::parse(json)) << json;
  ASSERT_EQ(trace.type, JsonValue::Type::object);
  ASSERT_EQ(trace.at("traceEvents").type, JsonValue::Type::array);
  const auto complete = events_of(trace, "X");
  EXPECT_EQ(complete.size(), timeline.spans.size());
  for (const JsonValue* event : complete) {
    EXPECT_EQ(event->at("ts").type, JsonValue::Type::number);
    EXPECT_EQ(event->at("dur").type, JsonValue::Type::number);
    EXPECT_GE(event->at("dur").number, 0.0);
    EXPECT_EQ(event->at("name").type, JsonValue::Type::string);
    EXPECT_EQ(event->at("args").at("frame").type, JsonValue::Type::number);
  }
}

TEST_P(TraceOfEveryLayout, NamesGpuLanesUnderGpuAndHostLanesUnderHost) {
  const Timeline timeline = make_timeline(hand_built(GetParam(), 2, 5, true), "t");
  const JsonValue trace = JsonParser::parse(chrome_trace_json(timeline));
  const auto processes = process_names(trace);
  const auto threads = thread_names(trace);
  ASSERT_EQ(threads.size(), timeline.lanes.size());
  for (const TimelineLane& lane : timeline.lanes) {
    const auto named = std::find_if(threads.begin(), threads.end(),
                                    [&](const auto& entry) { return entry.second == lane.name; });
    ASSERT_NE(named, threads.end()) << lane.name;
    EXPECT_EQ(processes.at(named->first.first), lane.gpu ? "GPU" : "host") << lane.name;
  }
  // Every complete event sits on a named thread whose lane holds that kind.
  for (const JsonValue* event : events_of(trace, "X")) {
    const std::pair<int, int> thread{static_cast<int>(event->at("pid").number),
                                     static_cast<int>(event->at("tid").number)};
    ASSERT_EQ(threads.count(thread), 1U);
    const std::string& category = event->at("cat").string;
    const bool gpu_kind = category == "h2d" || category == "compute" || category == "d2h";
    EXPECT_EQ(processes.at(thread.first), gpu_kind ? "GPU" : "host") << category;
  }
}

TEST_P(TraceOfEveryLayout, SortsCompleteEventsByTime) {
  const Timeline timeline = make_timeline(hand_built(GetParam(), 2, 8, true), "t");
  const JsonValue trace = JsonParser::parse(chrome_trace_json(timeline));
  const auto complete = events_of(trace, "X");
  EXPECT_TRUE(
      std::is_sorted(complete.begin(), complete.end(), [](const JsonValue* a, const JsonValue* b) {
        return a->at("ts").number < b->at("ts").number;
      }));
  // Metadata first: viewers name tracks before they fill them.
  const auto& all = trace.at("traceEvents").array;
  const auto first_complete = std::find_if(
      all.begin(), all.end(), [](const JsonValue& e) { return e.at("ph").string == "X"; });
  EXPECT_TRUE(std::all_of(first_complete, all.end(),
                          [](const JsonValue& e) { return e.at("ph").string == "X"; }));
}

INSTANTIATE_TEST_SUITE_P(Layouts, TraceOfEveryLayout, ::testing::ValuesIn(kAllStrategies),
                         [](const auto& p) {
                           std::string name(to_string(p.param));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

Timeline one_lane(std::vector<Span> spans) {
  Timeline timeline;
  timeline.title = "t";
  timeline.lanes = {{"stream 0", true}};
  timeline.spans = std::move(spans);
  return timeline;
}

TEST(ChromeTrace, WritesTimesInMicroseconds) {
  const Timeline timeline = one_lane({{0, SpanKind::h2d, 7, 1.5, 2.25, "H2D"}});
  const JsonValue trace = JsonParser::parse(chrome_trace_json(timeline));
  const auto complete = events_of(trace, "X");
  ASSERT_EQ(complete.size(), 1U);
  EXPECT_DOUBLE_EQ(complete[0]->at("ts").number, 1500.0);
  EXPECT_DOUBLE_EQ(complete[0]->at("dur").number, 750.0);
  EXPECT_EQ(complete[0]->at("name").string, "H2D");
  EXPECT_EQ(complete[0]->at("cat").string, "h2d");
  EXPECT_EQ(complete[0]->at("args").at("frame").number, 7.0);
}

TEST(ChromeTrace, SortsAHandMadeTimeline) {
  const Timeline timeline = one_lane({{0, SpanKind::compute, 1, 5.0, 6.0, "compute"},
                                      {0, SpanKind::compute, 0, 1.0, 2.0, "compute"}});
  const JsonValue trace = JsonParser::parse(chrome_trace_json(timeline));
  const auto complete = events_of(trace, "X");
  ASSERT_EQ(complete.size(), 2U);
  EXPECT_EQ(complete[0]->at("args").at("frame").number, 0.0);
  EXPECT_EQ(complete[1]->at("args").at("frame").number, 1.0);
}

TEST(ChromeTrace, WritesOverlappingSpansAsTheyAre) {
  // Two inferences at once on one stream would be a bug in the run; the trace must show it.
  const Timeline timeline = one_lane({{0, SpanKind::compute, 0, 1.0, 4.0, "compute"},
                                      {0, SpanKind::compute, 1, 3.0, 6.0, "compute"}});
  const JsonValue trace = JsonParser::parse(chrome_trace_json(timeline));
  const auto complete = events_of(trace, "X");
  ASSERT_EQ(complete.size(), 2U);
  EXPECT_DOUBLE_EQ(complete[0]->at("ts").number + complete[0]->at("dur").number, 4000.0);
  EXPECT_DOUBLE_EQ(complete[1]->at("ts").number, 3000.0);
}

TEST(ChromeTrace, EscapesNamesAndTitle) {
  Timeline timeline = one_lane({{0, SpanKind::h2d, 0, 0.0, 1.0, "say \"hi\"\\\n\t\x01"}});
  timeline.lanes[0].name = "lane \"0\"";
  timeline.title = "a \"quoted\" \\ title";
  const std::string json = chrome_trace_json(timeline);
  JsonValue trace;
  ASSERT_NO_THROW(trace = JsonParser::parse(json)) << json;
  EXPECT_EQ(events_of(trace, "X")[0]->at("name").string, "say \"hi\"\\\n\t\x01");
  EXPECT_EQ(thread_names(trace).begin()->second, "lane \"0\"");
  EXPECT_EQ(trace.at("otherData").at("title").string, "a \"quoted\" \\ title");
}

TEST(ChromeTrace, OfAnEmptyTimelineIsValid) {
  const JsonValue trace = JsonParser::parse(chrome_trace_json(Timeline{}));
  EXPECT_TRUE(trace.at("traceEvents").array.empty());
}

TEST(ChromeTrace, IsTheSameEveryTime) {
  const Timeline timeline = make_timeline(hand_built(Strategy::multi_compute, 2, 6, true), "t");
  EXPECT_EQ(chrome_trace_json(timeline), chrome_trace_json(timeline));
}

}  // namespace
}  // namespace pyn
