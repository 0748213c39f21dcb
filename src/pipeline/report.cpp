#include <algorithm>
#include <cmath>
#include <vector>

#include "pynference/pipeline/report.hpp"

namespace pyn {

namespace {

double percentile(std::vector<double> values, double q) {
  if (values.empty()) {
    return 0.0;
  }
  const auto rank = static_cast<std::size_t>(std::lround(q * static_cast<double>(values.size() - 1)));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank), values.end());
  return values[rank];
}

template <class Field>
double median_of(const std::vector<FrameRecord>& records, std::size_t first, Field field) {
  std::vector<double> values;
  values.reserve(records.size() - first);
  for (std::size_t i = first; i < records.size(); ++i) {
    values.push_back(field(records[i]));
  }
  return percentile(std::move(values), 0.5);
}

// Idle time of the compute streams taken together: the gaps between the union of compute spans.
double mean_compute_gap(const std::vector<FrameRecord>& records, std::size_t first) {
  std::vector<std::pair<double, double>> spans;
  for (std::size_t i = first; i < records.size(); ++i) {
    spans.emplace_back(records[i].compute_begin, records[i].compute_end);
  }
  if (spans.size() < 2) {
    return 0.0;
  }
  std::sort(spans.begin(), spans.end());
  double idle = 0.0;
  double covered_to = spans.front().second;
  for (std::size_t i = 1; i < spans.size(); ++i) {
    idle += std::max(0.0, spans[i].first - covered_to);
    covered_to = std::max(covered_to, spans[i].second);
  }
  return idle / static_cast<double>(spans.size() - 1);
}

}  // namespace

double StageTimes::slowest_ms() const noexcept { return std::max({h2d_ms, compute_ms, d2h_ms, duplex_ms}); }

void summarize(RunReport& report, std::int64_t warmup, std::size_t in_bytes, std::size_t out_bytes) {
  const auto& records = report.records;
  report.frames = static_cast<std::int64_t>(records.size());
  if (records.empty()) {
    return;
  }
  // Keep at least two frames measured, however short the run.
  const auto first = static_cast<std::size_t>(
      std::clamp<std::int64_t>(warmup, 0, std::max<std::int64_t>(0, report.frames - 2)));
  report.measured_frames = report.frames - static_cast<std::int64_t>(first);
  report.wall_s = (records.back().sink_end - records.front().source_begin) / 1000.0;
  const double start = first > 0 ? records[first - 1].sink_end : records.front().source_begin;
  const double span_ms = records.back().sink_end - start;
  report.fps = span_ms > 0 ? 1000.0 * static_cast<double>(report.measured_frames) / span_ms : 0.0;

  report.in_run.h2d_ms = median_of(records, first, [](const FrameRecord& r) { return r.h2d_end - r.h2d_begin; });
  report.in_run.compute_ms =
      median_of(records, first, [](const FrameRecord& r) { return r.compute_end - r.compute_begin; });
  report.in_run.d2h_ms = median_of(records, first, [](const FrameRecord& r) { return r.d2h_end - r.d2h_begin; });
  const double slowest = report.stages.slowest_ms();
  report.bound_fps = slowest > 0 ? 1000.0 / slowest : 0.0;
  report.efficiency = report.bound_fps > 0 ? report.fps / report.bound_fps : 0.0;
  report.compute_gap_ms = mean_compute_gap(records, first);

  std::vector<double> latency;
  latency.reserve(records.size() - first);
  for (std::size_t i = first; i < records.size(); ++i) {
    latency.push_back(records[i].sink_end - records[i].source_begin);
  }
  report.latency_p50_ms = percentile(latency, 0.5);
  report.latency_p99_ms = percentile(std::move(latency), 0.99);
  auto gbps = [](std::size_t bytes, double ms) { return ms > 0 ? static_cast<double>(bytes) / (ms * 1e6) : 0.0; };
  report.h2d_gbps = gbps(in_bytes, report.in_run.h2d_ms);
  report.d2h_gbps = gbps(out_bytes, report.in_run.d2h_ms);
}

}  // namespace pyn
