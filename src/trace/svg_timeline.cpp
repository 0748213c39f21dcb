// The timeline drawn like the study's Nsight pictures: a row per GPU stream and per host thread,
// names on the left, boxes in the study's colours labelled with their frame, a ruler in ms.
// Plain SVG 1.1 with no scripts or styles, so any viewer, browser or converter draws it the same.

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "axis.hpp"
#include "pynference/trace/timeline.hpp"
#include "pynference/trace/text.hpp"

namespace pyn {

namespace {

using trace::fixed;
using trace::xml_escape;

constexpr double kMargin = 12;
constexpr double kLabelColumn = 150;
constexpr double kTitleY = 24;
constexpr double kSubtitleY = 44;
constexpr double kLegendY = 66;
constexpr double kLanesTop = 84;
constexpr double kGroupRow = 20;
constexpr double kLaneRow = 26;
constexpr double kBox = 18;
constexpr double kAxisHeight = 52;
constexpr double kTickSpacing = 90;  // px between ticks, about
constexpr double kDigitWidth = 6.2;  // of the 10 px frame labels, to decide whether one fits

constexpr std::array kLegendKinds = {SpanKind::h2d,    SpanKind::compute, SpanKind::d2h,
                                     SpanKind::source, SpanKind::sink,    SpanKind::issue};

std::string_view legend_text(SpanKind kind) {
  switch (kind) {
    case SpanKind::h2d:
      return "H2D copy";
    case SpanKind::compute:
      return "compute (pre, network, post)";
    case SpanKind::d2h:
      return "D2H copy";
    case SpanKind::source:
      return "source (read, decode)";
    case SpanKind::sink:
      return "sink (write, encode)";
    case SpanKind::issue:
      return "issue (host enqueues a stage)";
  }
  return "";
}

bool on_gpu(SpanKind kind) {
  return kind == SpanKind::h2d || kind == SpanKind::compute || kind == SpanKind::d2h;
}

// Maps ms in the window to x in the plot area.
struct Scale {
  double begin_ms;
  double end_ms;
  double left;
  double right;
  [[nodiscard]] double x(double ms) const {
    return left + (ms - begin_ms) / (end_ms - begin_ms) * (right - left);
  }
};

std::string attr(const char* name, double value) {
  return std::string(" ") + name + "=\"" + fixed(value, 1) + "\"";
}

std::string text_element(double x, double y, std::string_view attributes, std::string_view text) {
  return "<text" + attr("x", x) + attr("y", y) + " " + std::string(attributes) + ">" +
         xml_escape(text) + "</text>\n";
}

// Where each lane's row starts; GPU and host lanes each under a heading, as Nsight groups them.
struct Rows {
  std::vector<double> lane_top;
  std::vector<std::pair<double, std::string>> headings;
  double bottom = kLanesTop;
};

Rows layout_rows(const Timeline& timeline) {
  Rows rows;
  double y = kLanesTop;
  for (std::size_t i = 0; i < timeline.lanes.size(); ++i) {
    const bool gpu = timeline.lanes[i].gpu;
    if (i == 0 || timeline.lanes[i - 1].gpu != gpu) {
      rows.headings.emplace_back(y, gpu ? "GPU streams" : "host threads");
      y += kGroupRow;
    }
    rows.lane_top.push_back(y);
    y += kLaneRow;
  }
  rows.bottom = y;
  return rows;
}

void draw_legend(const Timeline& timeline, const TimeWindow& window, double width,
                 std::string& svg) {
  double x = kMargin;
  for (const SpanKind kind : kLegendKinds) {
    const bool present = std::any_of(timeline.spans.begin(), timeline.spans.end(),
                                     [kind](const Span& span) { return span.kind == kind; });
    if (!present) {
      continue;
    }
    svg += "<rect class=\"legend\"" + attr("x", x) + attr("y", kLegendY - 10) +
           " width=\"12\" height=\"12\" rx=\"2\" fill=\"" + std::string(span_colour(kind)) +
           "\"/>\n";
    const std::string_view text = legend_text(kind);
    svg += text_element(x + 17, kLegendY, "font-size=\"11\" fill=\"#333333\"", text);
    x += 17 + 6.2 * static_cast<double>(text.size()) + 16;
  }
  if (window.frames > 0) {
    const std::string shown = "frames " + std::to_string(window.first_frame) + " to " +
                              std::to_string(window.first_frame + window.frames - 1) + ", " +
                              fixed(window.end_ms - window.begin_ms, 2) + " ms shown";
    svg += text_element(width - kMargin, kLegendY,
                        "font-size=\"11\" fill=\"#555555\" text-anchor=\"end\"", shown);
  }
}

void draw_lanes(const Timeline& timeline, const Rows& rows, double width, std::string& svg) {
  for (const auto& [top, heading] : rows.headings) {
    svg += "<rect class=\"heading\" x=\"0\"" + attr("y", top) + attr("width", width) +
           attr("height", kGroupRow) + " fill=\"#e4e7ec\"/>\n";
    svg += text_element(kMargin, top + 14, "font-size=\"11\" font-weight=\"bold\" fill=\"#333333\"",
                        heading);
  }
  for (std::size_t i = 0; i < timeline.lanes.size(); ++i) {
    const double top = rows.lane_top[i];
    const char* fill = i % 2 == 0 ? "#ffffff" : "#f6f7f9";
    svg += "<rect class=\"lane\" x=\"0\"" + attr("y", top) + attr("width", width) +
           attr("height", kLaneRow) + " fill=\"" + fill + "\"/>\n";
    svg += text_element(kMargin + 8, top + kLaneRow / 2 + 4, "font-size=\"12\" fill=\"#222222\"",
                        timeline.lanes[i].name);
  }
  // The name column ends where the plot begins, as in a profiler's timeline view.
  svg += "<line" + attr("x1", kLabelColumn) + attr("y1", kLanesTop) + attr("x2", kLabelColumn) +
         attr("y2", rows.bottom) + " stroke=\"#b8bec8\" stroke-width=\"1\"/>\n";
}

void draw_grid(const trace::Ticks& ticks, const Scale& scale, double top, double bottom,
               std::string& svg) {
  for (const double ms : ticks.values_ms) {
    const double x = scale.x(ms);
    svg += "<line class=\"grid\"" + attr("x1", x) + attr("y1", top) + attr("x2", x) +
           attr("y2", bottom) + " stroke=\"#dde1e7\" stroke-width=\"1\"/>\n";
  }
}

void draw_span(const Span& span, const Scale& scale, const Rows& rows, std::string& svg) {
  const double begin = std::max(span.begin_ms, scale.begin_ms);
  const double end = std::min(span.end_ms, scale.end_ms);
  const double x = scale.x(begin);
  // A span shorter than a pixel (an issue call, a tiny copy) still shows as a hairline.
  const double w = std::max(scale.x(end) - x, 1.0);
  const double y = rows.lane_top[static_cast<std::size_t>(span.lane)] + (kLaneRow - kBox) / 2;
  svg += "<rect class=\"span " + std::string(to_string(span.kind)) + "\"" + attr("x", x) +
         attr("y", y) + attr("width", w) + attr("height", kBox) + " rx=\"2.5\" fill=\"" +
         std::string(span_colour(span.kind)) +
         "\" stroke=\"#000000\" stroke-opacity=\"0.3\" stroke-width=\"0.6\"><title>" +
         xml_escape(span.label) + ", frame " + std::to_string(span.frame) + ": " +
         fixed(span.begin_ms, 3) + " to " + fixed(span.end_ms, 3) + " ms (" +
         fixed(span.end_ms - span.begin_ms, 3) + " ms)</title></rect>\n";
  const std::string number = std::to_string(span.frame);
  if (w >= kDigitWidth * static_cast<double>(number.size()) + 4) {
    // White reads best on the saturated GPU colours, dark on the muted host ones.
    const std::string colour = on_gpu(span.kind) ? "#ffffff" : "#222222";
    svg += text_element(
        x + w / 2, y + kBox / 2 + 3.5,
        "class=\"frame\" font-size=\"10\" text-anchor=\"middle\" fill=\"" + colour + "\"", number);
  }
}

void draw_axis(const trace::Ticks& ticks, const Scale& scale, double top, std::string& svg) {
  svg += "<line" + attr("x1", scale.left) + attr("y1", top) + attr("x2", scale.right) +
         attr("y2", top) + " stroke=\"#555555\" stroke-width=\"1\"/>\n";
  for (const double ms : ticks.values_ms) {
    const double x = scale.x(ms);
    svg += "<line" + attr("x1", x) + attr("y1", top) + attr("x2", x) + attr("y2", top + 5) +
           " stroke=\"#555555\" stroke-width=\"1\"/>\n";
    svg += text_element(x, top + 18, "font-size=\"11\" text-anchor=\"middle\" fill=\"#333333\"",
                        fixed(ms, ticks.decimals) + " ms");
  }
  svg += text_element((scale.left + scale.right) / 2, top + 38,
                      "font-size=\"11\" text-anchor=\"middle\" fill=\"#555555\"",
                      "time since the start of the run");
}

}  // namespace

std::string timeline_svg(const Timeline& timeline, const SvgOptions& options) {
  const double width = std::max(options.width_px, 400);
  const Rows rows = layout_rows(timeline);
  const double height = rows.bottom + kAxisHeight;
  const TimeWindow window = svg_window(timeline, options);
  // An empty or instant window still needs a scale that does not divide by zero.
  const double end_ms = window.end_ms > window.begin_ms ? window.end_ms : window.begin_ms + 1.0;
  const Scale scale{window.begin_ms, end_ms, kLabelColumn + 8, width - kMargin - 8};

  std::string svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\"" + attr("width", width) +
         attr("height", height) + " viewBox=\"0 0 " + fixed(width, 1) + " " + fixed(height, 1) +
         "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n";
  svg += "<rect class=\"background\" x=\"0\" y=\"0\"" + attr("width", width) +
         attr("height", height) + " fill=\"#ffffff\"/>\n";
  svg += text_element(kMargin, kTitleY, "font-size=\"16\" font-weight=\"bold\" fill=\"#111111\"",
                      timeline.title);
  svg += text_element(kMargin, kSubtitleY, "font-size=\"11\" fill=\"#555555\"", timeline.subtitle);
  draw_legend(timeline, window, width, svg);
  draw_lanes(timeline, rows, width, svg);

  const trace::Ticks ticks =
      trace::nice_ticks(scale.begin_ms, scale.end_ms, scale.right - scale.left, kTickSpacing);
  draw_grid(ticks, scale, kLanesTop, rows.bottom, svg);
  for (const Span& span : timeline.spans) {
    if (span.end_ms >= scale.begin_ms && span.begin_ms <= scale.end_ms && window.frames > 0) {
      draw_span(span, scale, rows, svg);
    }
  }
  draw_axis(ticks, scale, rows.bottom + 6, svg);
  svg += "</svg>\n";
  return svg;
}

}  // namespace pyn
