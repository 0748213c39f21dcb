#include "run.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <new>
#include <string>
#include <utility>

#include "pynference/device/error.hpp"
#include "pynference/kernels/frame.hpp"
#include "pynference/pipeline/stage.hpp"

namespace pyn::detail {

namespace {

// Runs body as `stage` of `frame`: any exception leaves as a StageError naming both, except a
// UsageError during setup (frame -1), which reaches the caller as it is.
template <class Body>
void guard(Stage stage, std::int64_t frame, Body&& body) {
  try {
    body();
  } catch (const StageError&) {
    throw;
  } catch (const UsageError& e) {
    if (frame < 0) {
      throw;  // a setup the user asked for and cannot have (an odd size for 4:2:0, ...): theirs to fix
    }
    throw StageError(stage, frame, e.what());
  } catch (const std::exception& e) {
    throw StageError(stage, frame, e.what());
  } catch (...) {
    throw StageError(stage, frame, "unknown exception");
  }
}

// Bytes this process may still take: the kernel's MemAvailable, less where an address-space or
// data limit (ulimit -v, -d) says so. 0 where neither is known.
double host_memory_available() {
  double available = 0;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kib = 0;
  while (meminfo >> key >> kib) {
    if (key == "MemAvailable:") {
      available = kib * 1024;
      break;
    }
    meminfo.ignore(256, '\n');
  }
  for (const int resource : {RLIMIT_AS, RLIMIT_DATA}) {
    rlimit limit{};
    if (::getrlimit(resource, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
      const auto cap = static_cast<double>(limit.rlim_cur);
      available = available > 0 ? std::min(available, cap) : cap;
    }
  }
  return available;
}

std::string gib(double bytes) {
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%.1f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return text.data();
}

std::size_t expected_frames(const Source& source, const PipelineOptions& options) {
  std::int64_t frames = source.frame_count().value_or(1 << 14);
  if (options.max_frames >= 0) {
    frames = std::min(frames, options.max_frames);
  }
  return static_cast<std::size_t>(std::max<std::int64_t>(frames, 0));
}

}  // namespace

Run::Run(const Device& device, Engine& engine, Source& source, Sink& sink,
         const PipelineOptions& options, int lanes, HostMemory host_memory)
    : device_(device), engine_(engine), source_(source), sink_(sink), options_(options) {
  guard(Stage::source, -1, [&] { in_format_ = source_.format(); });
  if (width_of(in_format_) < 1 || height_of(in_format_) < 1) {
    throw StageError(Stage::source, -1, "the source gave an empty frame size");
  }
  in_shape_ = tensor_shape_of(in_format_);
  guard(Stage::engine, -1, [&] { out_shape_ = engine_.output_shape(in_shape_); });
  if (out_shape_.n != 1 || out_shape_.c != ImageDesc::channels) {
    throw StageError(Stage::engine, -1, "the engine's output is not a 3-channel image");
  }
  out_format_ = with_size(options_.output_format.value_or(in_format_), out_shape_.w, out_shape_.h);
  in_bytes_ = bytes_of(in_format_);
  out_bytes_ = bytes_of(out_format_);

  device_.bind_thread();
  device_.reset_peak();
  const DType dtype = engine_.dtype();
  const int slot_count = options_.slots > 0 ? options_.slots : default_slots(options_);
  // Refused before anything is taken, rather than growing until the kernel kills the process (a
  // 4 KB Y4M file may claim 16384x16384 frames).
  const double tensors =
      static_cast<double>(lanes) *
      static_cast<double>((in_shape_.elements() + out_shape_.elements()) * bytes_of(dtype));
  const double frames =
      static_cast<double>(slot_count) * static_cast<double>(in_bytes_ + out_bytes_);
  const bool host = device_.info().backend == Backend::host;
  const double host_bytes = frames + (host ? frames + tensors : 0.0);
  const std::string counts = std::to_string(slot_count) + " slots, " + std::to_string(lanes) +
                             (lanes == 1 ? " lane" : " lanes");
  const std::string sizes =
      "frames of " + to_string(in_format_) + " in and " + to_string(out_format_) + " out";
  if (const double available = host_memory_available(); available > 0 && host_bytes > available) {
    throw UsageError(sizes + " need " + gib(host_bytes) + " of host memory (" + counts + "); " +
                     gib(available) + " is available");
  }
  if (const double device_bytes = frames + tensors;
      !host && device_.info().total_memory > 0 &&
      device_bytes > static_cast<double>(device_.info().total_memory)) {
    throw UsageError(sizes + " need " + gib(device_bytes) + " of GPU memory (" + counts +
                     "); the GPU has " + gib(static_cast<double>(device_.info().total_memory)));
  }
  try {
    allocate(lanes, slot_count, host_memory);
  } catch (const std::bad_alloc&) {
    throw Error("out of host memory while allocating " + counts + " for " + sizes + " (" +
                gib(host_bytes) + ")");
  }
  for (Slot& slot : slots_) {
    guard(Stage::source, -1, [&] { source_.prime(slot.in_host.bytes()); });
  }
  for (Lane& lane : lanes_) {
    guard(Stage::engine, -1, [&] { engine_.prepare(lane.stream, in_shape_); });
  }
  if (options_.cuda_graph) {
    guard(Stage::engine, -1, [&] { capture_graphs(); });
  }
  records_.reserve(expected_frames(source_, options_));
  guard(Stage::sink, -1, [&] { sink_.open(out_format_); });

  stages_ = measure_alone();

  origin_ = device_.make_event();
  origin_.record(lanes_.front().stream);
  origin_.synchronize();
  host_origin_ = std::chrono::steady_clock::now();
}

void Run::allocate(int lanes, int slot_count, HostMemory host_memory) {
  const DType dtype = engine_.dtype();
  for (int i = 0; i < lanes; ++i) {
    lanes_.push_back(Lane{i,
                          device_.make_stream(),
                          device_.alloc(in_shape_.elements() * bytes_of(dtype)),
                          device_.alloc(out_shape_.elements() * bytes_of(dtype)),
                          {}});
  }
  slots_.resize(static_cast<std::size_t>(slot_count));
  for (Slot& slot : slots_) {
    slot.index = static_cast<int>(&slot - slots_.data());
    slot.in_host = device_.alloc_host(in_bytes_, host_memory);
    slot.out_host = device_.alloc_host(out_bytes_, host_memory);
    slot.in_device = device_.alloc(in_bytes_);
    slot.out_device = device_.alloc(out_bytes_);
    for (Event* event : {&slot.h2d_begin, &slot.h2d_end, &slot.compute_begin, &slot.compute_end,
                         &slot.d2h_begin, &slot.d2h_end}) {
      *event = device_.make_event();
    }
  }
}

void Run::enqueue_compute(const Slot& slot, Lane& lane) {
  const DType dtype = engine_.dtype();
  const TensorView tensor_in{lane.tensor_in.data(), in_shape_, dtype};
  const TensorView tensor_out{lane.tensor_out.data(), out_shape_, dtype};
  frame_to_tensor(lane.stream, in_format_, slot.in_device.data(), tensor_in);
  engine_.run(lane.stream, tensor_in, tensor_out);
  tensor_to_frame(lane.stream, tensor_out, out_format_, slot.out_device.data());
}

void Run::capture_graphs() {
  // Any slot may pass through any lane (worker-streams, multi-compute), so every pair gets one.
  // The waits and event records around the work stay outside: they tie the graph to the frame.
  for (Lane& lane : lanes_) {
    lane.graphs.reserve(slots_.size());
    for (const Slot& slot : slots_) {
      lane.graphs.push_back(engine_.capture(lane.stream, [&] { enqueue_compute(slot, lane); }));
    }
  }
}

StageTimes Run::measure_alone() {
  // Each stage on its own, nothing else running, cycling through the slots as the run will (copy
  // speed can depend on which pinned buffer is used): the basis of the bound.
  constexpr int kWarmup = 2;
  constexpr int kRepeats = 15;
  Lane& lane = lanes_.front();
  Stream other = device_.make_stream();
  Event begin = device_.make_event();
  Event other_done = device_.make_event();
  std::vector<double> h2d;
  std::vector<double> inference;
  std::vector<double> d2h;
  std::vector<double> duplex;
  auto median = [](std::vector<double>& v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  auto slot_at = [this](std::size_t i) -> Slot& { return slots_[i % slots_.size()]; };
  for (int i = 0; i < kWarmup + kRepeats; ++i) {
    Slot& slot = slot_at(static_cast<std::size_t>(i));
    upload(slot, lane.stream);
    slot.h2d_end.synchronize();
    compute(slot, lane);
    slot.compute_end.synchronize();
    download(slot, lane.stream);
    slot.d2h_end.synchronize();
    if (i >= kWarmup) {
      h2d.push_back(Event::elapsed_ms(slot.h2d_begin, slot.h2d_end));
      inference.push_back(Event::elapsed_ms(slot.compute_begin, slot.compute_end));
      d2h.push_back(Event::elapsed_ms(slot.d2h_begin, slot.d2h_end));
    }
  }
  // Both directions streaming at once, as a perfect overlap runs them: the link shares its
  // bandwidth between them, so this, not each copy alone, can be the bound of a copy-heavy load.
  // Streams long enough that the first copy's start-up is amortised (with 8 pairs the figure moved
  // between 0.51 and 0.65 ms per 4K frame pair from run to run on an H100), median of several.
  const std::size_t streamed = std::max<std::size_t>(32, slots_.size());
  constexpr int kDuplexRepeats = 5;
  Event& end = slots_.front().d2h_end;
  for (int i = 0; i <= kDuplexRepeats; ++i) {
    begin.record(lane.stream);
    other.wait(begin);
    for (std::size_t k = 0; k < streamed; ++k) {
      Slot& slot = slot_at(k);
      lane.stream.copy_async(slot.in_device.data(), slot.in_host.data(), in_bytes_);
      other.copy_async(slot.out_host.data(), slot.out_device.data(), out_bytes_);
    }
    other_done.record(other);
    lane.stream.wait(other_done);
    end.record(lane.stream);
    end.synchronize();
    if (i > 0) {
      duplex.push_back(Event::elapsed_ms(begin, end) / static_cast<double>(streamed));
    }
  }
  return {median(h2d), median(inference), median(d2h), median(duplex)};
}

Run::~Run() {
  join();
  drain();
}

double Run::host_ms() const {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - host_origin_).count();
}

double Run::gpu_ms(const Event& event) const { return Event::elapsed_ms(origin_, event); }

bool Run::fill(Slot& slot) {
  if (failed()) {
    return false;
  }
  if (options_.stop != nullptr && options_.stop->load()) {
    interrupted_ = true;
    return false;
  }
  if (options_.max_frames >= 0 && next_frame_ >= options_.max_frames) {
    return false;
  }
  const std::int64_t frame = next_frame_;
  slot.frame = frame;
  slot.source_begin = host_ms();
  bool got = false;
  guard(Stage::source, frame, [&] {
    if (options_.inject) {
      options_.inject(Stage::source, frame);
    }
    got = source_.read(slot.in_host.bytes(), frame);
  });
  slot.source_end = host_ms();
  if (got) {
    ++next_frame_;
  }
  return got;
}

void Run::upload(Slot& slot, Stream& stream) {
  slot.issue[0] = trace_ms();
  guard(Stage::h2d, slot.frame, [&] {
    if (options_.inject) {
      options_.inject(Stage::h2d, slot.frame);
    }
    slot.h2d_begin.record(stream);
    stream.copy_async(slot.in_device.data(), slot.in_host.data(), in_bytes_);
    slot.h2d_end.record(stream);
  });
  slot.issue[1] = trace_ms();
}

void Run::compute(Slot& slot, Lane& lane) {
  const DType dtype = engine_.dtype();
  const TensorView tensor_in{lane.tensor_in.data(), in_shape_, dtype};
  const TensorView tensor_out{lane.tensor_out.data(), out_shape_, dtype};
  // With graphs, pre + engine + post are one launch, issued in the engine's step.
  Graph* graph = lane.graphs.empty() ? nullptr : &lane.graphs[static_cast<std::size_t>(slot.index)];
  slot.lane = lane.index;
  slot.issue[2] = trace_ms();
  guard(Stage::pre, slot.frame, [&] {
    if (options_.inject) {
      options_.inject(Stage::pre, slot.frame);
    }
    lane.stream.wait(slot.h2d_end);
    slot.compute_begin.record(lane.stream);
    if (graph == nullptr) {
      frame_to_tensor(lane.stream, in_format_, slot.in_device.data(), tensor_in);
    }
  });
  guard(Stage::engine, slot.frame, [&] {
    if (options_.inject) {
      options_.inject(Stage::engine, slot.frame);
    }
    if (graph != nullptr) {
      graph->launch(lane.stream);
    } else {
      engine_.run(lane.stream, tensor_in, tensor_out);
    }
  });
  guard(Stage::post, slot.frame, [&] {
    if (options_.inject) {
      options_.inject(Stage::post, slot.frame);
    }
    if (graph == nullptr) {
      tensor_to_frame(lane.stream, tensor_out, out_format_, slot.out_device.data());
    }
    slot.compute_end.record(lane.stream);
  });
  slot.issue[3] = trace_ms();
}

void Run::download(Slot& slot, Stream& stream) {
  slot.issue[4] = trace_ms();
  guard(Stage::d2h, slot.frame, [&] {
    if (options_.inject) {
      options_.inject(Stage::d2h, slot.frame);
    }
    stream.wait(slot.compute_end);
    slot.d2h_begin.record(stream);
    stream.copy_async(slot.out_host.data(), slot.out_device.data(), out_bytes_);
    slot.d2h_end.record(stream);
  });
  slot.issue[5] = trace_ms();
}

void Run::await_download(Slot& slot) {
  guard(Stage::d2h, slot.frame, [&] { slot.d2h_end.synchronize(); });
}

void Run::deliver(Slot& slot) {
  await_download(slot);
  FrameRecord record;
  record.sink_begin = host_ms();
  guard(Stage::sink, slot.frame, [&] {
    if (options_.inject) {
      options_.inject(Stage::sink, slot.frame);
    }
    sink_.write(std::span<const std::byte>(slot.out_host.bytes()), slot.frame);
  });
  record.sink_end = host_ms();
  record.frame = slot.frame;
  record.lane = slot.lane;
  record.source_begin = slot.source_begin;
  record.source_end = slot.source_end;
  record.issue_h2d_begin = slot.issue[0];
  record.issue_h2d_end = slot.issue[1];
  record.issue_compute_begin = slot.issue[2];
  record.issue_compute_end = slot.issue[3];
  record.issue_d2h_begin = slot.issue[4];
  record.issue_d2h_end = slot.issue[5];
  guard(Stage::d2h, slot.frame, [&] {
    record.h2d_begin = gpu_ms(slot.h2d_begin);
    record.h2d_end = gpu_ms(slot.h2d_end);
    record.compute_begin = gpu_ms(slot.compute_begin);
    record.compute_end = gpu_ms(slot.compute_end);
    record.d2h_begin = gpu_ms(slot.d2h_begin);
    record.d2h_end = gpu_ms(slot.d2h_end);
  });
  records_.push_back(record);
}

void Run::spawn(std::function<void()> body) {
  threads_.emplace_back([this, body = std::move(body)] {
    try {
      device_.bind_thread();
      body();
    } catch (...) {
      fail(std::current_exception());
    }
  });
}

void Run::join() {
  for (std::jthread& thread : threads_) {
    if (thread.joinable()) {
      thread.join();
    }
  }
  threads_.clear();
}

Queue& Run::make_queue() {
  queues_.push_back(std::make_unique<Queue>(slots_.size()));
  return *queues_.back();
}

Stream& Run::make_stream() { return copy_streams_.emplace_back(device_.make_stream()); }

bool Run::failed() const {
  const std::lock_guard lock(failure_mutex_);
  return failure_ != nullptr;
}

void Run::fail(std::exception_ptr error) {
  {
    const std::lock_guard lock(failure_mutex_);
    if (!failure_) {
      failure_ = std::move(error);
    }
  }
  for (const auto& queue : queues_) {
    queue->cancel();
  }
}

void Run::drain() noexcept {
  auto quietly = [](Stream& stream) {
    try {
      stream.synchronize();
    } catch (...) {  // the run's first error is what the caller hears about
    }
  };
  for (Lane& lane : lanes_) {
    quietly(lane.stream);
  }
  for (Stream& stream : copy_streams_) {
    quietly(stream);
  }
}

RunReport Run::finish(Strategy strategy, int streams, Layout layout) {
  join();
  drain();
  {
    const std::lock_guard lock(failure_mutex_);
    if (failure_) {
      std::rethrow_exception(failure_);
    }
  }
  guard(Stage::sink, -1, [&] { sink_.close(); });

  RunReport report;
  report.strategy = strategy;
  report.layout = layout;
  report.streams = streams;
  report.compute_lanes = static_cast<int>(lanes_.size());
  report.slots = static_cast<int>(slots_.size());
  report.cuda_graph = options_.cuda_graph;
  report.interrupted = interrupted_;
  report.vram_bytes = device_.memory().peak + engine_.workspace_bytes();
  report.stages = stages_;
  report.records = std::move(records_);
  summarize(report, options_.warmup, in_bytes_, out_bytes_);
  return report;
}

}  // namespace pyn::detail
