// The Trace Event Format that chrome://tracing and ui.perfetto.dev open: metadata naming and
// ordering the processes and threads, then one complete event per span. Lanes become threads, so
// each GPU stream and each host thread gets its own track, as in the study's Nsight pictures.

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "pynference/trace/timeline.hpp"
#include "pynference/trace/text.hpp"

namespace pyn {

namespace {

constexpr int kGpuPid = 1;
constexpr int kHostPid = 2;

int pid_of(const TimelineLane& lane) { return lane.gpu ? kGpuPid : kHostPid; }
// Thread ids are unique across both processes, and never 0, which some viewers treat as unnamed.
int tid_of(int lane) { return lane + 1; }

std::string metadata(int pid, int tid, const char* name, const std::string& args) {
  std::string event = "{\"ph\":\"M\",\"pid\":" + std::to_string(pid);
  if (tid > 0) {
    event += ",\"tid\":" + std::to_string(tid);
  }
  return event + ",\"name\":\"" + name + "\",\"args\":{" + args + "}}";
}

void add_metadata(const Timeline& timeline, std::vector<std::string>& events) {
  for (const int pid : {kGpuPid, kHostPid}) {
    const bool present =
        std::any_of(timeline.lanes.begin(), timeline.lanes.end(),
                    [pid](const TimelineLane& lane) { return pid_of(lane) == pid; });
    if (present) {
      const char* name = pid == kGpuPid ? "\"GPU\"" : "\"host\"";
      events.push_back(metadata(pid, 0, "process_name", std::string("\"name\":") + name));
      events.push_back(
          metadata(pid, 0, "process_sort_index", "\"sort_index\":" + std::to_string(pid)));
    }
  }
  // Viewers sort threads by id or name unless told; the timeline's order is the pipeline's.
  for (std::size_t i = 0; i < timeline.lanes.size(); ++i) {
    const TimelineLane& lane = timeline.lanes[i];
    const int lane_index = static_cast<int>(i);
    events.push_back(metadata(pid_of(lane), tid_of(lane_index), "thread_name",
                              "\"name\":" + trace::json_string(lane.name)));
    events.push_back(metadata(pid_of(lane), tid_of(lane_index), "thread_sort_index",
                              "\"sort_index\":" + std::to_string(lane_index)));
  }
}

std::string complete_event(const Timeline& timeline, const Span& span) {
  const TimelineLane& lane = timeline.lanes.at(static_cast<std::size_t>(span.lane));
  // µs with ns resolution: the finest a GPU event reports.
  return "{\"ph\":\"X\",\"pid\":" + std::to_string(pid_of(lane)) +
         ",\"tid\":" + std::to_string(tid_of(span.lane)) +
         ",\"name\":" + trace::json_string(span.label) + ",\"cat\":\"" +
         std::string(to_string(span.kind)) +
         "\",\"ts\":" + trace::fixed(span.begin_ms * 1000.0, 3) +
         ",\"dur\":" + trace::fixed((span.end_ms - span.begin_ms) * 1000.0, 3) +
         ",\"args\":{\"frame\":" + std::to_string(span.frame) + "}}";
}

}  // namespace

std::string chrome_trace_json(const Timeline& timeline) {
  std::vector<std::string> events;
  add_metadata(timeline, events);
  // A hand-made timeline need not be sorted; the trace always is.
  std::vector<std::size_t> order(timeline.spans.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return timeline.spans[a].begin_ms < timeline.spans[b].begin_ms;
  });
  for (const std::size_t i : order) {
    events.push_back(complete_event(timeline, timeline.spans[i]));
  }

  std::string json = "{\"traceEvents\":[\n";
  for (std::size_t i = 0; i < events.size(); ++i) {
    json += events[i];
    json += i + 1 < events.size() ? ",\n" : "\n";
  }
  json += "],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":{\"title\":" +
          trace::json_string(timeline.title) +
          ",\"subtitle\":" + trace::json_string(timeline.subtitle) + "}}\n";
  return json;
}

}  // namespace pyn
