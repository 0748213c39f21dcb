// pyn_engine_bench: the torch engine alone, without the pipeline around it, on a GPU.
//
//   pyn_engine_bench -m MODEL [--size WxH] [--fp16|--bf16|--fp32] [--frames N] [--streams K]
//                    [--trace-frames M] [--in-flight F] [--json FILE] [--chrome FILE] [--svg FILE]
//
// 1. Engine alone: N inferences on one stream, each between two CUDA events and waited for, as
//    bench/python/network_time.py times a PyTorch module — the figure docs/torch.md compares with
//    torch.compile. It includes the engine's copy of the network's output into the pipeline's
//    tensor, which is part of every frame's work.
// 2. Where the work goes: M inferences handed out in turn to K streams, at most F in flight (as the
//    pipeline's slots allow; the bench waits for the oldest outside run()), recorded with CUPTI.
//    Every kernel, copy and fill those calls launch must run on the stream that run() was given —
//    none on the default stream or a stream of torch's own — and no call made inside run() may
//    wait for the GPU (stream, event or context synchronize, or a blocking allocation, free or
//    copy). The recorded work is written as a timeline (Chrome trace, SVG).
// With --cold C, before all that and before any prepare(): where a run's first frame goes. The
//    load's wall time, then C inferences in a row on the loading thread (a new stream), then C on a
//    new thread and a new stream, then C more on a second new thread: each one's host wall time,
//    waited for. The slow ones say what is cold the first time: the package's model instances
//    (slow for the first instances on any thread) or per-thread state (slow again on a new thread).
//
// Exit status: 0, 3 where any work left its stream or any call waited, 1 on an error, 2 on bad use.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "cupti_activity.hpp"
#include "pynference/device/device.hpp"
#include "pynference/device/error.hpp"
#include "pynference/engine/torch_engine.hpp"
#include "pynference/kernels/float16.hpp"
#include "pynference/trace/timeline.hpp"

#ifndef PYN_GIT_COMMIT
#define PYN_GIT_COMMIT "unknown"
#endif

namespace {

using pyn::bench::Activity;
using pyn::bench::ApiCall;
using pyn::bench::GpuActivity;

struct Options {
  std::string model;
  int width = 960;
  int height = 540;
  pyn::DType dtype = pyn::DType::f16;
  int frames = 200;
  int streams = 2;
  int trace_frames = 24;
  int in_flight = 6;  // split-streams' slots
  int cold = 0;       // --cold C: first inferences per thread, timed one by one
  std::string json;
  std::string chrome;
  std::string svg;
};

constexpr const char* kUsage =
    "usage: pyn_engine_bench -m MODEL [--size WxH] [--fp16|--bf16|--fp32] [--frames N] [--streams K]\n"
    "                        [--trace-frames M] [--in-flight F] [--cold C] [--json FILE] [--chrome FILE] [--svg FILE]\n";

int positive(const std::string& text, const char* what) {
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || value < 1 || value > 1'000'000) {
    throw pyn::UsageError(std::string(what) + " takes a positive whole number, not '" + text + "'");
  }
  return static_cast<int>(value);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        throw pyn::UsageError(std::string(arg) + " needs a value");
      }
      return argv[++i];
    };
    if (arg == "-m") {
      o.model = value();
    } else if (arg == "--size") {
      const std::string size = value();
      const std::size_t x = size.find('x');
      if (x == std::string::npos) {
        throw pyn::UsageError("--size takes WxH, not '" + size + "'");
      }
      o.width = positive(size.substr(0, x), "--size");
      o.height = positive(size.substr(x + 1), "--size");
    } else if (arg == "--fp16") {
      o.dtype = pyn::DType::f16;
    } else if (arg == "--bf16") {
      o.dtype = pyn::DType::bf16;
    } else if (arg == "--fp32") {
      o.dtype = pyn::DType::f32;
    } else if (arg == "--frames") {
      o.frames = positive(value(), "--frames");
    } else if (arg == "--streams") {
      o.streams = positive(value(), "--streams");
    } else if (arg == "--trace-frames") {
      o.trace_frames = positive(value(), "--trace-frames");
    } else if (arg == "--in-flight") {
      o.in_flight = positive(value(), "--in-flight");
    } else if (arg == "--cold") {
      o.cold = positive(value(), "--cold");
    } else if (arg == "--json") {
      o.json = value();
    } else if (arg == "--chrome") {
      o.chrome = value();
    } else if (arg == "--svg") {
      o.svg = value();
    } else {
      throw pyn::UsageError("unknown argument '" + std::string(arg) + "'");
    }
  }
  if (o.model.empty()) {
    throw pyn::UsageError("-m MODEL is required");
  }
  return o;
}

// Values in [0, 1) of the engine's dtype, uploaded once: the network's speed does not depend on them.
void fill_random(pyn::Stream& stream, const pyn::DeviceBuffer& buffer, std::size_t elements, pyn::DType dtype,
                 unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(0.0F, 1.0F);
  std::vector<std::byte> host(elements * pyn::bytes_of(dtype));
  for (std::size_t i = 0; i < elements; ++i) {
    const float v = value(rng);
    if (dtype == pyn::DType::f32) {
      std::memcpy(host.data() + i * 4, &v, 4);
    } else {
      const std::uint16_t bits = dtype == pyn::DType::f16 ? pyn::float_to_half_bits(v) : pyn::float_to_bf16_bits(v);
      std::memcpy(host.data() + i * 2, &bits, 2);
    }
  }
  stream.copy_async(buffer.data(), host.data(), host.size());
  stream.synchronize();
}

struct Spread {
  double median = 0;
  double p10 = 0;
  double p90 = 0;
};

Spread spread_of(std::vector<double> values) {
  if (values.empty()) {
    return {};
  }
  std::sort(values.begin(), values.end());
  return {values[values.size() / 2], values[values.size() / 10], values[(values.size() * 9) / 10]};
}

// A call is waiting for the GPU, or may (blocking allocations, frees and copies do).
bool waits_for_gpu(const std::string& name) {
  const auto starts = [&](std::string_view prefix) { return name.starts_with(prefix); };
  const bool async = name.find("Async") != std::string::npos;
  if (name.find("Synchronize") != std::string::npos) {
    return true;
  }
  if ((starts("cudaMalloc") || starts("cudaFree") || starts("cuMemAlloc") || starts("cuMemFree")) && !async) {
    return true;
  }
  return (starts("cudaMemcpy") || starts("cuMemcpy") || starts("cudaMemset") || starts("cuMemset")) && !async;
}

struct RunCall {
  int stream = 0;
  std::uint64_t begin_ns = 0;
  std::uint64_t end_ns = 0;
};

struct Placement {
  std::int64_t gpu_ops = 0;        // kernels, copies and fills launched by run() calls
  std::int64_t kernels = 0;
  std::int64_t on_given_stream = 0;
  std::map<std::string, std::int64_t> elsewhere;  // "kernel NAME on stream S (what)" -> count
  std::int64_t unattributed = 0;   // GPU work in the window launched by no run() call
  std::vector<std::string> waits;  // waits for the GPU by calls made inside run()
  std::map<std::string, std::int64_t> calls;  // calls made inside run(), by name
  double window_ms = 0;            // first to last GPU work of the traced runs
  double busy_ms = 0;              // some stream busy
  double overlap_ms = 0;           // two or more streams busy at once
  Spread inference_ms;             // first to last GPU work of one run() (under tracing)
};

// Which run() made each call (by correlation id), by time: the run() calls come one after another
// on this thread, so a call that starts inside one was made by it.
std::map<std::uint32_t, std::size_t> runs_by_correlation(const std::vector<ApiCall>& calls,
                                                         const std::vector<RunCall>& runs) {
  std::map<std::uint32_t, std::size_t> run_of;
  for (const ApiCall& call : calls) {
    const auto run = std::find_if(runs.begin(), runs.end(), [&](const RunCall& r) {
      return call.begin_ns >= r.begin_ns && call.begin_ns <= r.end_ns;
    });
    if (run != runs.end()) {
      run_of[call.correlation] = static_cast<std::size_t>(run - runs.begin());
    }
  }
  return run_of;
}

std::string stream_label(std::uint32_t id, const std::vector<std::uint32_t>& ours, std::uint32_t legacy,
                         std::uint32_t per_thread) {
  for (std::size_t k = 0; k < ours.size(); ++k) {
    if (ours[k] == id) {
      return "stream " + std::to_string(k);
    }
  }
  if (id == legacy) {
    return "the legacy default stream";
  }
  if (id == per_thread) {
    return "the per-thread default stream";
  }
  return "stream id " + std::to_string(id) + " (not the pipeline's)";
}

// Time during which at least one / at least two of the streams had work, from per-stream intervals.
void busy_and_overlap(const std::vector<GpuActivity>& gpu, double& busy_ms, double& overlap_ms) {
  std::vector<std::pair<std::uint64_t, int>> edges;  // (time, +1 start of a stream's busy run / -1 end)
  std::map<std::uint32_t, std::vector<std::pair<std::uint64_t, std::uint64_t>>> by_stream;
  for (const GpuActivity& a : gpu) {
    by_stream[a.stream_id].emplace_back(a.begin_ns, a.end_ns);
  }
  for (auto& [id, spans] : by_stream) {
    std::sort(spans.begin(), spans.end());
    std::uint64_t begin = spans.front().first;
    std::uint64_t end = spans.front().second;
    for (const auto& [b, e] : spans) {
      if (b > end) {
        edges.emplace_back(begin, 1);
        edges.emplace_back(end, -1);
        begin = b;
      }
      end = std::max(end, e);
    }
    edges.emplace_back(begin, 1);
    edges.emplace_back(end, -1);
  }
  std::sort(edges.begin(), edges.end());
  int depth = 0;
  std::uint64_t last = 0;
  std::uint64_t busy = 0;
  std::uint64_t overlap = 0;
  for (const auto& [t, step] : edges) {
    if (depth >= 1) {
      busy += t - last;
    }
    if (depth >= 2) {
      overlap += t - last;
    }
    depth += step;
    last = t;
  }
  busy_ms = static_cast<double>(busy) / 1e6;
  overlap_ms = static_cast<double>(overlap) / 1e6;
}

Placement place(const Activity& activity, const std::vector<RunCall>& runs, std::uint64_t window_begin,
                std::uint64_t window_end, const std::vector<std::uint32_t>& ours, std::uint32_t legacy,
                std::uint32_t per_thread) {
  // GPU work in the window that no run() launched is counted apart; calls and waits count only
  // where a run() made them.
  Placement p;
  const std::map<std::uint32_t, std::size_t> run_of_correlation = runs_by_correlation(activity.calls, runs);
  std::map<std::uint32_t, std::string> call_of_correlation;
  for (const ApiCall& call : activity.calls) {
    if (!run_of_correlation.contains(call.correlation)) {
      continue;  // the bench's own calls (its pacing waits) and anything outside the runs
    }
    call_of_correlation[call.correlation] = call.name;
    ++p.calls[call.name];
    if (waits_for_gpu(call.name)) {
      p.waits.push_back(call.name + " (call)");
    }
  }
  for (const pyn::bench::SyncWait& wait : activity.waits) {
    const auto call = call_of_correlation.find(wait.correlation);
    if (call != call_of_correlation.end() && call->second.find("Query") == std::string::npos &&
        !waits_for_gpu(call->second)) {  // (a waiting call is counted above)
      p.waits.push_back(wait.what + " in " + call->second);
    }
  }

  std::vector<GpuActivity> traced;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> per_run(runs.size(), {UINT64_MAX, 0});
  for (const GpuActivity& a : activity.gpu) {
    const auto run = run_of_correlation.find(a.correlation);
    if (run == run_of_correlation.end()) {
      if (a.end_ns >= window_begin && a.begin_ns <= window_end) {
        ++p.unattributed;
      }
      continue;
    }
    ++p.gpu_ops;
    p.kernels += a.kind == GpuActivity::Kind::kernel ? 1 : 0;
    const std::uint32_t given = ours[static_cast<std::size_t>(runs[run->second].stream)];
    if (a.stream_id == given) {
      ++p.on_given_stream;
    } else {
      ++p.elsewhere[a.name + " on " + stream_label(a.stream_id, ours, legacy, per_thread)];
    }
    traced.push_back(a);
    auto& [first, last] = per_run[run->second];
    first = std::min(first, a.begin_ns);
    last = std::max(last, a.end_ns);
  }
  if (!traced.empty()) {
    std::uint64_t begin = UINT64_MAX;
    std::uint64_t end = 0;
    for (const GpuActivity& a : traced) {
      begin = std::min(begin, a.begin_ns);
      end = std::max(end, a.end_ns);
    }
    p.window_ms = static_cast<double>(end - begin) / 1e6;
    busy_and_overlap(traced, p.busy_ms, p.overlap_ms);
  }
  std::vector<double> inference;
  for (const auto& [first, last] : per_run) {
    if (last > first) {
      inference.push_back(static_cast<double>(last - first) / 1e6);
    }
  }
  p.inference_ms = spread_of(inference);
  return p;
}

// The traced runs on the study's timeline: one lane per stream, the run() calls on a host lane.
pyn::Timeline timeline_of(const Activity& activity, const std::vector<RunCall>& runs,
                          const std::vector<std::uint32_t>& ours, const std::string& title) {
  pyn::Timeline t;
  t.title = title;
  for (std::size_t k = 0; k < ours.size(); ++k) {
    t.lanes.push_back({"stream " + std::to_string(k), true});
  }
  const int host_lane = static_cast<int>(t.lanes.size());
  t.lanes.push_back({"run() calls", false});
  if (runs.empty()) {
    return t;
  }
  const std::uint64_t origin = runs.front().begin_ns;
  const auto ms = [&](std::uint64_t ns) { return (static_cast<double>(ns) - static_cast<double>(origin)) / 1e6; };
  const std::map<std::uint32_t, std::size_t> run_of_correlation = runs_by_correlation(activity.calls, runs);
  for (const GpuActivity& a : activity.gpu) {
    const auto run = run_of_correlation.find(a.correlation);
    const auto lane = std::find(ours.begin(), ours.end(), a.stream_id);
    if (run == run_of_correlation.end() || lane == ours.end()) {
      continue;  // reported as misplaced; the timeline shows the pipeline's streams
    }
    t.spans.push_back({static_cast<int>(lane - ours.begin()),
                       a.kind == GpuActivity::Kind::memcpy ? pyn::SpanKind::d2h : pyn::SpanKind::compute,
                       static_cast<std::int64_t>(run->second), ms(a.begin_ns), ms(a.end_ns), a.name});
  }
  for (std::size_t i = 0; i < runs.size(); ++i) {
    t.spans.push_back({host_lane, pyn::SpanKind::issue, static_cast<std::int64_t>(i), ms(runs[i].begin_ns),
                       ms(runs[i].end_ns), "run() on stream " + std::to_string(runs[i].stream)});
  }
  std::sort(t.spans.begin(), t.spans.end(), [](const pyn::Span& a, const pyn::Span& b) {
    return a.begin_ms != b.begin_ms ? a.begin_ms < b.begin_ms : a.lane < b.lane;
  });
  return t;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary);
  file << text;
  if (!file.flush()) {
    throw pyn::Error("cannot write " + path);
  }
}

std::string json_text(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    if (static_cast<unsigned char>(c) >= 0x20) {
      out += c;
    }
  }
  return out + "\"";
}

// --cold: the load, then each of the first inferences on the loading thread and on two new threads
// (each with a stream of its own), host wall time from the call to the end of its work.
void cold_starts(const Options& o) {
  using clock = std::chrono::steady_clock;
  const auto ms_since = [](clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  };
  const pyn::Device device = pyn::Device::open(pyn::DeviceSpec::parse("cuda:0"));
  device.bind_thread();
  const clock::time_point load_begin = clock::now();
  const std::unique_ptr<pyn::Engine> engine = pyn::open_torch_engine(device, o.model, {o.dtype, true});
  const double load_ms = ms_since(load_begin);
  const pyn::TensorShape in_shape{1, 3, o.height, o.width};
  const pyn::TensorShape out_shape = engine->output_shape(in_shape);
  const std::size_t element = pyn::bytes_of(o.dtype);
  const pyn::DeviceBuffer in = device.alloc(in_shape.elements() * element);
  std::vector<pyn::DeviceBuffer> outs;  // one output per thread: the threads run one after another
  for (int t = 0; t < 3; ++t) {
    outs.push_back(device.alloc(out_shape.elements() * element));
  }
  {
    pyn::Stream stream = device.make_stream();
    fill_random(stream, in, in_shape.elements(), o.dtype, 99U);
    stream.synchronize();
  }
  std::printf("cold start: %s loaded in %.1f ms; first %d inferences at %dx%d, host wall each (ms):\n",
              engine->name().c_str(), load_ms, o.cold, o.width, o.height);
  const auto runs = [&](const char* where, const pyn::DeviceBuffer& out) {
    device.bind_thread();
    pyn::Stream stream = device.make_stream();
    std::string line;
    for (int i = 0; i < o.cold; ++i) {
      const clock::time_point t0 = clock::now();
      engine->run(stream, pyn::TensorView{in.data(), in_shape, o.dtype},
                  pyn::TensorView{out.data(), out_shape, o.dtype});
      stream.synchronize();
      char figure[32];
      std::snprintf(figure, sizeof figure, " %.2f", ms_since(t0));
      line += figure;
    }
    std::printf("  %-28s%s\n", where, line.c_str());
  };
  runs("loading thread, new stream:", outs[0]);
  std::thread([&] { runs("new thread, new stream:", outs[1]); }).join();
  std::thread([&] { runs("second new thread:", outs[2]); }).join();
}

int run(const Options& o) {
  if (o.cold > 0) {
    cold_starts(o);
  }
  const pyn::Device device = pyn::Device::open(pyn::DeviceSpec::parse("cuda:0"));
  device.bind_thread();
  const std::unique_ptr<pyn::Engine> engine = pyn::open_torch_engine(device, o.model, {o.dtype, true});
  const pyn::TensorShape in_shape{1, 3, o.height, o.width};
  const pyn::TensorShape out_shape = engine->output_shape(in_shape);
  const std::size_t element = pyn::bytes_of(o.dtype);

  struct Lane {
    pyn::Stream stream;
    pyn::DeviceBuffer in;
    pyn::DeviceBuffer out;
  };
  std::vector<Lane> lanes;
  for (int k = 0; k < o.streams; ++k) {
    Lane lane{device.make_stream(), device.alloc(in_shape.elements() * element),
              device.alloc(out_shape.elements() * element)};
    fill_random(lane.stream, lane.in, in_shape.elements(), o.dtype, 1234U + static_cast<unsigned>(k));
    engine->prepare(lane.stream, in_shape);
    lanes.push_back(std::move(lane));
  }
  const auto view = [&](const pyn::DeviceBuffer& b, const pyn::TensorShape& s) {
    return pyn::TensorView{b.data(), s, o.dtype};
  };

  // 1. The engine alone, one inference at a time.
  Lane& first = lanes.front();
  pyn::Event begin = device.make_event(true);
  pyn::Event end = device.make_event(true);
  std::vector<double> alone;
  constexpr int kWarmup = 10;
  for (int i = 0; i < kWarmup + o.frames; ++i) {
    begin.record(first.stream);
    engine->run(first.stream, view(first.in, in_shape), view(first.out, out_shape));
    end.record(first.stream);
    end.synchronize();
    if (i >= kWarmup) {
      alone.push_back(pyn::Event::elapsed_ms(begin, end));
    }
  }
  const Spread alone_ms = spread_of(alone);

  // 2. Where the work goes: runs handed to the streams in turn, at most in_flight at once.
  std::vector<std::uint32_t> ours;
  for (const Lane& lane : lanes) {
    ours.push_back(pyn::bench::cupti_stream_id(lane.stream.native()));
  }
  const std::uint32_t legacy = pyn::bench::cupti_stream_id(nullptr);
  const std::uint32_t per_thread = pyn::bench::cupti_stream_id(nullptr, true);
  std::vector<pyn::Event> finished;
  for (int i = 0; i < o.in_flight; ++i) {
    finished.push_back(device.make_event(false));
  }
  device.synchronize();
  std::vector<RunCall> runs;
  Activity activity;
  std::uint64_t window_begin = 0;
  std::uint64_t window_end = 0;
  {
    pyn::bench::ActivityRecorder recorder;
    window_begin = pyn::bench::cupti_now();
    for (int i = 0; i < o.trace_frames; ++i) {
      const int k = i % o.streams;
      Lane& lane = lanes[static_cast<std::size_t>(k)];
      pyn::Event& done = finished[static_cast<std::size_t>(i % o.in_flight)];
      if (i >= o.in_flight) {
        done.synchronize();  // the run in_flight back: a slot comes free
      }
      const std::uint64_t t0 = pyn::bench::cupti_now();
      engine->run(lane.stream, view(lane.in, in_shape), view(lane.out, out_shape));
      runs.push_back({k, t0, pyn::bench::cupti_now()});
      done.record(lane.stream);
    }
    window_end = pyn::bench::cupti_now();
    for (Lane& lane : lanes) {
      lane.stream.synchronize();
    }
    activity = recorder.finish();
  }
  const Placement p = place(activity, runs, window_begin, window_end, ours, legacy, per_thread);

  const std::string title = engine->name() + ", " + std::to_string(o.width) + "x" + std::to_string(o.height);
  std::printf("engine: %s on %s (commit %s)\n", engine->name().c_str(), device.info().name.c_str(), PYN_GIT_COMMIT);
  std::printf("engine alone, one inference at a time on one stream (%d): median %.3f ms, p10 %.3f, p90 %.3f\n",
              o.frames, alone_ms.median, alone_ms.p10, alone_ms.p90);
  std::printf("traced: %d runs over %d streams, at most %d in flight: %lld kernels, %lld copies and fills;"
              " on the stream given: %lld of %lld\n",
              o.trace_frames, o.streams, o.in_flight, static_cast<long long>(p.kernels),
              static_cast<long long>(p.gpu_ops - p.kernels), static_cast<long long>(p.on_given_stream),
              static_cast<long long>(p.gpu_ops));
  for (const auto& [what, count] : p.elsewhere) {
    std::printf("  ELSEWHERE: %lld x %s\n", static_cast<long long>(count), what.c_str());
  }
  std::printf("  GPU work launched outside run(): %lld\n", static_cast<long long>(p.unattributed));
  std::printf("  waits for the GPU inside run(): %zu%s\n", p.waits.size(), p.waits.empty() ? " (none)" : ":");
  std::map<std::string, int> wait_counts;
  for (const std::string& w : p.waits) {
    ++wait_counts[w];
  }
  for (const auto& [what, count] : wait_counts) {
    std::printf("    %d x %s\n", count, what.c_str());
  }
  std::printf("  calls made inside run():");
  for (const auto& [name, count] : p.calls) {
    std::printf(" %s x%lld", name.c_str(), static_cast<long long>(count));
  }
  std::printf("\n  GPU time of the traced runs: %.3f ms, a stream busy %.3f ms, two or more at once %.3f ms;"
              " one inference (under tracing) median %.3f ms\n",
              p.window_ms, p.busy_ms, p.overlap_ms, p.inference_ms.median);

  const bool clean = p.elsewhere.empty() && p.waits.empty() && p.gpu_ops > 0 && p.on_given_stream == p.gpu_ops;
  std::printf("%s\n", clean ? "all of the engine's GPU work ran on the streams it was given; no call waited"
                            : "FAILED: work outside the given stream, or a wait for the GPU (above)");

  if (!o.json.empty()) {
    std::ostringstream j;
    j << "{\"bench\":\"engine\",\"commit\":" << json_text(PYN_GIT_COMMIT)
      << ",\"device\":" << json_text(device.info().name) << ",\"engine\":" << json_text(engine->name())
      << ",\"size\":\"" << o.width << "x" << o.height << "\",\"dtype\":\"" << pyn::to_string(o.dtype) << "\""
      << ",\"alone\":{\"frames\":" << o.frames << ",\"median_ms\":" << alone_ms.median << ",\"p10_ms\":"
      << alone_ms.p10 << ",\"p90_ms\":" << alone_ms.p90 << "}"
      << ",\"traced\":{\"runs\":" << o.trace_frames << ",\"streams\":" << o.streams
      << ",\"in_flight\":" << o.in_flight << ",\"kernels\":" << p.kernels
      << ",\"gpu_ops\":" << p.gpu_ops << ",\"on_given_stream\":" << p.on_given_stream
      << ",\"elsewhere\":" << (p.gpu_ops - p.on_given_stream) << ",\"outside_run\":" << p.unattributed
      << ",\"waits\":" << p.waits.size() << ",\"busy_ms\":" << p.busy_ms << ",\"overlap_ms\":" << p.overlap_ms
      << ",\"window_ms\":" << p.window_ms << "},\"clean\":" << (clean ? "true" : "false") << "}\n";
    write_file(o.json, j.str());
  }
  if (!o.chrome.empty() || !o.svg.empty()) {
    const pyn::Timeline t = timeline_of(activity, runs, ours, title);
    if (!o.chrome.empty()) {
      write_file(o.chrome, pyn::chrome_trace_json(t));
    }
    if (!o.svg.empty()) {
      pyn::SvgOptions svg;
      svg.first_frame = std::min<std::int64_t>(2, o.trace_frames - 1);
      svg.frames = std::min(6, o.trace_frames);
      write_file(o.svg, pyn::timeline_svg(t, svg));
    }
  }
  return clean ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const pyn::UsageError& e) {
    std::fprintf(stderr, "pyn_engine_bench: %s\n%s", e.what(), kUsage);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pyn_engine_bench: %s\n", e.what());
    return 1;
  }
}
