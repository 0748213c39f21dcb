// Which lane holds which span follows the strategies (src/pipeline/strategies.cpp): the Layout
// says whether copies share the compute lane's stream and thread, and whether one thread does all.

#include "pynference/trace/timeline.hpp"

#include <algorithm>
#include <string>
#include <tuple>
#include <utility>

#include "pynference/trace/text.hpp"

namespace pyn {

namespace {

// Every lane the layout can have, in drawing order, and where each stage of a frame goes.
class LaneMap {
 public:
  LaneMap(const Layout& layout, int compute_lanes) : layout_(layout) {
    if (layout.copies_on_lane_streams) {
      for (int k = 0; k < compute_lanes; ++k) {
        lane_streams_.push_back(add("stream " + std::to_string(k), true));
      }
    } else {
      h2d_stream_ = add("H2D stream", true);
      for (int k = 0; k < compute_lanes; ++k) {
        compute_streams_.push_back(add("compute stream " + std::to_string(k), true));
      }
      d2h_stream_ = add("D2H stream", true);
    }
    if (layout.single_thread) {
      source_thread_ = add("main thread", false);
      sink_thread_ = source_thread_;
      h2d_thread_ = source_thread_;
      d2h_thread_ = source_thread_;
      compute_threads_.assign(static_cast<std::size_t>(compute_lanes), source_thread_);
      return;
    }
    source_thread_ = add("source thread", false);
    if (layout.copies_on_lane_streams) {
      for (int k = 0; k < compute_lanes; ++k) {
        compute_threads_.push_back(add("worker " + std::to_string(k), false));
      }
      h2d_thread_ = -1;  // a worker issues its own copies
      d2h_thread_ = -1;
    } else {
      h2d_thread_ = add("H2D thread", false);
      for (int k = 0; k < compute_lanes; ++k) {
        compute_threads_.push_back(add("compute thread " + std::to_string(k), false));
      }
      d2h_thread_ = add("D2H thread", false);
    }
    sink_thread_ = add("sink thread", false);
  }

  [[nodiscard]] int gpu(SpanKind kind, int lane) const {
    const auto k = static_cast<std::size_t>(lane);
    if (layout_.copies_on_lane_streams) {
      return lane_streams_[k];
    }
    switch (kind) {
      case SpanKind::h2d:
        return h2d_stream_;
      case SpanKind::d2h:
        return d2h_stream_;
      default:
        return compute_streams_[k];
    }
  }

  // The thread that issued `stage` (h2d, compute or d2h) of a frame on compute lane `lane`.
  [[nodiscard]] int issuer(SpanKind stage, int lane) const {
    const int worker = compute_threads_[static_cast<std::size_t>(lane)];
    switch (stage) {
      case SpanKind::h2d:
        return h2d_thread_ >= 0 ? h2d_thread_ : worker;
      case SpanKind::d2h:
        return d2h_thread_ >= 0 ? d2h_thread_ : worker;
      default:
        return worker;
    }
  }

  [[nodiscard]] int source() const { return source_thread_; }
  [[nodiscard]] int sink() const { return sink_thread_; }
  [[nodiscard]] std::vector<TimelineLane>& lanes() { return lanes_; }

 private:
  int add(std::string name, bool gpu) {
    lanes_.push_back({std::move(name), gpu});
    return static_cast<int>(lanes_.size()) - 1;
  }

  Layout layout_;
  std::vector<TimelineLane> lanes_;
  std::vector<int> lane_streams_;
  std::vector<int> compute_streams_;
  int h2d_stream_ = -1;
  int d2h_stream_ = -1;
  int source_thread_ = -1;
  int sink_thread_ = -1;
  int h2d_thread_ = -1;
  int d2h_thread_ = -1;
  std::vector<int> compute_threads_;
};

int compute_lanes_of(const RunReport& report) {
  int lanes = std::max(report.compute_lanes, 1);
  for (const FrameRecord& record : report.records) {
    lanes = std::max(lanes, record.lane + 1);
  }
  return lanes;
}

// Host lanes that hold nothing (issue lanes when tracing was off) are dropped; GPU lanes stay,
// since an idle stream is itself worth seeing.
void drop_empty_host_lanes(Timeline& timeline) {
  std::vector<bool> used(timeline.lanes.size(), false);
  for (const Span& span : timeline.spans) {
    used[static_cast<std::size_t>(span.lane)] = true;
  }
  std::vector<int> renumbered(timeline.lanes.size(), -1);
  std::vector<TimelineLane> kept;
  for (std::size_t i = 0; i < timeline.lanes.size(); ++i) {
    if (used[i] || timeline.lanes[i].gpu) {
      renumbered[i] = static_cast<int>(kept.size());
      kept.push_back(std::move(timeline.lanes[i]));
    }
  }
  timeline.lanes = std::move(kept);
  for (Span& span : timeline.spans) {
    span.lane = renumbered[static_cast<std::size_t>(span.lane)];
  }
}

std::string count(int n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

// The figures a reader compares between strategies, in the terms of report.hpp.
std::string describe(const RunReport& report) {
  using trace::fixed;
  return std::string(to_string(report.strategy)) + ": " + count(report.streams, "stream") + ", " +
         count(report.slots, "slot") + "; " + fixed(report.fps, 1) + " fps of a " +
         fixed(report.bound_fps, 1) + " fps bound (efficiency " + fixed(report.efficiency, 2) +
         "); compute gap " + fixed(report.compute_gap_ms, 3) + " ms; alone: H2D " +
         fixed(report.stages.h2d_ms, 3) + " ms, compute " + fixed(report.stages.compute_ms, 3) +
         " ms, D2H " + fixed(report.stages.d2h_ms, 3) + " ms";
}

}  // namespace

Timeline make_timeline(const RunReport& report, std::string title) {
  LaneMap map(report.layout, compute_lanes_of(report));
  Timeline timeline;
  timeline.title = std::move(title);
  timeline.subtitle = describe(report);

  for (const FrameRecord& r : report.records) {
    const int lane = std::max(r.lane, 0);
    auto add = [&](int where, SpanKind kind, double begin, double end, std::string label) {
      timeline.spans.push_back({where, kind, r.frame, begin, end, std::move(label)});
    };
    // Issue spans are only there when the run traced; 0..0 means not recorded.
    auto add_issue = [&](SpanKind stage, double begin, double end, const char* label) {
      if (begin != 0.0 || end != 0.0) {
        add(map.issuer(stage, lane), SpanKind::issue, begin, end, label);
      }
    };
    add(map.source(), SpanKind::source, r.source_begin, r.source_end, "source");
    add_issue(SpanKind::h2d, r.issue_h2d_begin, r.issue_h2d_end, "issue H2D");
    add(map.gpu(SpanKind::h2d, lane), SpanKind::h2d, r.h2d_begin, r.h2d_end, "H2D");
    add_issue(SpanKind::compute, r.issue_compute_begin, r.issue_compute_end, "issue compute");
    add(map.gpu(SpanKind::compute, lane), SpanKind::compute, r.compute_begin, r.compute_end,
        "compute");
    add_issue(SpanKind::d2h, r.issue_d2h_begin, r.issue_d2h_end, "issue D2H");
    add(map.gpu(SpanKind::d2h, lane), SpanKind::d2h, r.d2h_begin, r.d2h_end, "D2H");
    add(map.sink(), SpanKind::sink, r.sink_begin, r.sink_end, "sink");
  }
  timeline.lanes = std::move(map.lanes());
  drop_empty_host_lanes(timeline);
  std::stable_sort(timeline.spans.begin(), timeline.spans.end(), [](const Span& a, const Span& b) {
    return std::tie(a.begin_ms, a.lane, a.frame) < std::tie(b.begin_ms, b.lane, b.frame);
  });
  return timeline;
}

}  // namespace pyn
