// timeline_svg draws a well-formed SVG like the study's pictures: a row per lane with its name,
// boxes in the legend's colours for the spans in the window, frame labels, a legend and a ruler.

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "hand_built.hpp"
#include "pynference/trace/timeline.hpp"
#include "xml_check.hpp"

namespace pyn {
namespace {

using test::hand_built;
using test::XmlDocument;
using test::XmlElement;

std::vector<const XmlElement*> span_rects(const XmlDocument& svg) {
  std::vector<const XmlElement*> rects;
  for (const XmlElement* rect : svg.all("rect")) {
    const auto found = rect->attributes.find("class");
    if (found != rect->attributes.end() && found->second.rfind("span ", 0) == 0) {
      rects.push_back(rect);
    }
  }
  return rects;
}

std::set<std::string> texts(const XmlDocument& svg) {
  std::set<std::string> all;
  for (const XmlElement* text : svg.all("text")) {
    all.insert(text->text);
  }
  return all;
}

std::size_t spans_in(const Timeline& timeline, const TimeWindow& window) {
  return static_cast<std::size_t>(std::count_if(
      timeline.spans.begin(), timeline.spans.end(),
      [&](const Span& s) { return s.end_ms >= window.begin_ms && s.begin_ms <= window.end_ms; }));
}

class SvgOfEveryLayout : public ::testing::TestWithParam<Strategy> {};

TEST_P(SvgOfEveryLayout, IsWellFormedWithEveryLaneNamed) {
  const Timeline timeline = make_timeline(hand_built(GetParam(), 2, 20, true), "a title");
  const std::string svg = timeline_svg(timeline, {});
  std::unique_ptr<XmlDocument> doc;
  ASSERT_NO_THROW(doc = std::make_unique<XmlDocument>(svg)) << svg;
  EXPECT_EQ(doc->elements().front().name, "svg");
  const auto all = texts(*doc);
  for (const TimelineLane& lane : timeline.lanes) {
    EXPECT_EQ(all.count(lane.name), 1U) << lane.name;
  }
  EXPECT_EQ(all.count("a title"), 1U);
  EXPECT_EQ(all.count(timeline.subtitle), 1U);
}

TEST_P(SvgOfEveryLayout, DrawsABoxForEverySpanInTheWindow) {
  const Timeline timeline = make_timeline(hand_built(GetParam(), 2, 20, true), "t");
  const SvgOptions options{.first_frame = 6, .frames = 4, .width_px = 900};
  const XmlDocument svg(timeline_svg(timeline, options));
  const TimeWindow window = svg_window(timeline, options);
  const auto rects = span_rects(svg);
  EXPECT_EQ(rects.size(), spans_in(timeline, window));
  EXPECT_LT(rects.size(), timeline.spans.size());
  // Boxes stay inside the plot, however far their spans reach.
  for (const XmlElement* rect : rects) {
    const double x = std::stod(rect->attributes.at("x"));
    const double w = std::stod(rect->attributes.at("width"));
    EXPECT_GE(x, 0.0);
    EXPECT_LE(x + w, 900.0);
    EXPECT_GT(w, 0.0);
  }
}

TEST_P(SvgOfEveryLayout, ColoursEachBoxByItsKind) {
  const Timeline timeline = make_timeline(hand_built(GetParam(), 2, 20, true), "t");
  const XmlDocument svg(timeline_svg(timeline, {}));
  std::set<std::string> kinds;
  for (const XmlElement* rect : span_rects(svg)) {
    const std::string kind = rect->attributes.at("class").substr(5);
    kinds.insert(kind);
    for (const SpanKind k : {SpanKind::h2d, SpanKind::compute, SpanKind::d2h, SpanKind::source,
                             SpanKind::sink, SpanKind::issue}) {
      if (kind == to_string(k)) {
        EXPECT_EQ(rect->attributes.at("fill"), span_colour(k)) << kind;
      }
    }
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"h2d", "compute", "d2h", "source", "sink", "issue"}));
}

INSTANTIATE_TEST_SUITE_P(Layouts, SvgOfEveryLayout, ::testing::ValuesIn(kAllStrategies),
                         [](const auto& p) {
                           std::string name(to_string(p.param));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(SvgWindow, DefaultsToTheMiddleOfTheRun) {
  const Timeline timeline = make_timeline(hand_built(Strategy::split_streams, 1, 30, false), "t");
  const TimeWindow window = svg_window(timeline, {});
  EXPECT_EQ(window.frames, 6);
  EXPECT_EQ(window.first_frame, 12);  // 30 frames, 6 shown: 12 before, 12 after
  // From the first inference's start to the last one's end, with a little room.
  EXPECT_LT(window.begin_ms, 10.0 * 12 + 2);
  EXPECT_GT(window.begin_ms, 10.0 * 12);
  EXPECT_GT(window.end_ms, 10.0 * 17 + 8);
  EXPECT_LT(window.end_ms, 10.0 * 17 + 10);
}

TEST(SvgWindow, StartsAtTheFrameAskedForAndStaysInsideTheRun) {
  const Timeline timeline = make_timeline(hand_built(Strategy::serial_pinned, 1, 10, false), "t");
  EXPECT_EQ(svg_window(timeline, {.first_frame = 2, .frames = 3}).first_frame, 2);
  const TimeWindow late = svg_window(timeline, {.first_frame = 9, .frames = 3});
  EXPECT_EQ(late.first_frame, 7);
  EXPECT_EQ(late.frames, 3);
  const TimeWindow all = svg_window(timeline, {.first_frame = -1, .frames = 50});
  EXPECT_EQ(all.first_frame, 0);
  EXPECT_EQ(all.frames, 10);
}

TEST(Svg, LabelsWideBoxesWithTheirFrame) {
  const Timeline timeline = make_timeline(hand_built(Strategy::serial_pageable, 1, 12, false), "t");
  const XmlDocument svg(timeline_svg(timeline, {.first_frame = 4, .frames = 3, .width_px = 1200}));
  std::set<std::string> labels;
  for (const XmlElement* text : svg.all("text")) {
    if (text->attributes.count("class") != 0 && text->attributes.at("class") == "frame") {
      labels.insert(text->text);
    }
  }
  EXPECT_EQ(labels.count("4"), 1U);
  EXPECT_EQ(labels.count("5"), 1U);
  EXPECT_EQ(labels.count("6"), 1U);
  EXPECT_EQ(labels.count("9"), 0U);
}

TEST(Svg, HasALegendAndATimeAxisInMs) {
  const Timeline timeline = make_timeline(hand_built(Strategy::split_streams, 1, 12, true), "t");
  const XmlDocument svg(timeline_svg(timeline, {}));
  const auto all = texts(svg);
  EXPECT_EQ(all.count("H2D copy"), 1U);
  EXPECT_EQ(all.count("D2H copy"), 1U);
  const auto ticks = std::count_if(all.begin(), all.end(), [](const std::string& t) {
    return t.size() > 3 && t.compare(t.size() - 3, 3, " ms") == 0;
  });
  EXPECT_GE(ticks, 3);
}

TEST(Svg, TakesItsWidthFromTheOptionsAndItsHeightFromTheLanes) {
  const Timeline serial = make_timeline(hand_built(Strategy::serial_pinned, 1, 8, true), "t");
  const Timeline multi = make_timeline(hand_built(Strategy::multi_compute, 2, 8, true), "t");
  const XmlDocument a(timeline_svg(serial, {.width_px = 800}));
  const XmlDocument b(timeline_svg(multi, {.width_px = 800}));
  const XmlElement& root_a = a.elements().front();
  const XmlElement& root_b = b.elements().front();
  EXPECT_EQ(std::stod(root_a.attributes.at("width")), 800.0);
  EXPECT_LT(std::stod(root_a.attributes.at("height")), std::stod(root_b.attributes.at("height")));
}

TEST(Svg, EscapesText) {
  Timeline timeline =
      make_timeline(hand_built(Strategy::split_streams, 1, 8, true), "<run> & 'more' \"x\"");
  timeline.lanes[0].name = "a<b>&c";
  const std::string svg = timeline_svg(timeline, {});
  std::unique_ptr<XmlDocument> doc;
  ASSERT_NO_THROW(doc = std::make_unique<XmlDocument>(svg)) << svg;
  const auto all = texts(*doc);
  EXPECT_EQ(all.count("<run> & 'more' \"x\""), 1U);
  EXPECT_EQ(all.count("a<b>&c"), 1U);
}

TEST(Svg, OfAnEmptyTimelineIsWellFormed) {
  EXPECT_NO_THROW(XmlDocument(timeline_svg(Timeline{}, {})));
  const Timeline empty = make_timeline(hand_built(Strategy::split_streams, 1, 0, false), "none");
  EXPECT_NO_THROW(XmlDocument(timeline_svg(empty, {})));
}

TEST(Svg, IsTheSameEveryTime) {
  const Timeline timeline = make_timeline(hand_built(Strategy::worker_streams, 2, 12, true), "t");
  EXPECT_EQ(timeline_svg(timeline, {}), timeline_svg(timeline, {}));
}

}  // namespace
}  // namespace pyn
