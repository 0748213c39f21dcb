#include "pynference/pipeline/processor.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <new>
#include <string>

#include "guard.hpp"

namespace pyn {

using detail::guard;

namespace {

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

}  // namespace

Processor::Processor(const Device& device, Engine& engine, const FrameFormat& input,
                     const ProcessorOptions& options)
    : device_(device),
      device_guard_(device),
      engine_(engine),
      options_(options),
      in_format_(input) {
  if (width_of(in_format_) < 1 || height_of(in_format_) < 1) {
    throw StageError(Stage::source, -1, "the source gave an empty frame size");
  }
  if (options_.lanes < 1 || options_.slots < 1) {
    throw UsageError("ProcessorOptions needs at least one lane and one slot, got " +
                     std::to_string(options_.lanes) + " and " + std::to_string(options_.slots));
  }
  if (options_.batch < 1 || options_.batch > kMaxBatch) {
    throw UsageError("ProcessorOptions batch " + std::to_string(options_.batch) +
                     " is outside 1.." + std::to_string(kMaxBatch));
  }
  if (options_.batch > 1 && options_.cuda_graph) {
    throw UsageError("ProcessorOptions cuda_graph does not take batch " +
                     std::to_string(options_.batch) + " (graphs are per slot, a batch is a group)");
  }
  plan_ = options_.plan.value_or(whole_frame_plan(in_format_));
  check_plan(plan_, in_format_);
  in_shape_ = plan_.input;
  in_shape_.n *= options_.batch;
  guard(Stage::engine, -1, [&] { out_shape_ = engine_.output_shape(in_shape_); });
  if (out_shape_.n != in_shape_.n || out_shape_.c != ImageDesc::channels) {
    throw StageError(Stage::engine, -1,
                     "the engine's output is not " + std::to_string(in_shape_.n) +
                         (in_shape_.n == 1 ? " 3-channel image" : " 3-channel images"));
  }
  const bool whole = plan_.output_width == 0;
  out_format_ = with_size(planar_of(options_.output_format.value_or(in_format_)),
                          whole ? out_shape_.w : plan_.output_width,
                          whole ? out_shape_.h : plan_.output_height);
  in_bytes_ = bytes_of(in_format_);
  out_bytes_ = bytes_of(out_format_);
  prepare_conversions();

  check_memory();
  device_.reset_peak();
  try {
    allocate();
  } catch (const std::bad_alloc&) {
    throw Error("out of host memory while allocating " + std::to_string(options_.slots) +
                " slots and " + std::to_string(options_.lanes) +
                (options_.lanes == 1 ? " lane" : " lanes") + " for frames of " +
                to_string(in_format_) + " in and " + to_string(out_format_) + " out");
  }
}

void Processor::prepare_conversions() {
  const Backend backend = device_.info().backend;
  const DType dtype = engine_.dtype();
  const TensorView in_layout{nullptr, in_shape_, dtype};
  const TensorView out_layout{nullptr, out_shape_, dtype};
  to_tensor_.reserve(plan_.jobs());
  to_frame_.reserve(plan_.jobs());
  for (const ComputeStep& step : plan_.steps) {
    for (const ComputeJob& job : step.jobs) {
      to_tensor_.emplace_back(backend, in_format_, job.region, in_layout);
      to_frame_.emplace_back(backend, out_layout, job.crop, out_format_, job.x, job.y);
    }
  }
}

void Processor::check_memory() const {
  // Refused before anything is taken, rather than growing until the kernel kills the process (a
  // 4 KB Y4M file may claim 16384x16384 frames).
  const double tensors = static_cast<double>(options_.lanes) *
                         static_cast<double>((in_shape_.elements() + out_shape_.elements()) *
                                             bytes_of(engine_.dtype()));
  const double frames =
      static_cast<double>(options_.slots) * static_cast<double>(in_bytes_ + out_bytes_);
  const bool host = device_.info().backend == Backend::host;
  const double host_bytes = frames + (host ? frames + tensors : 0.0);
  const std::string counts = std::to_string(options_.slots) + " slots, " +
                             std::to_string(options_.lanes) +
                             (options_.lanes == 1 ? " lane" : " lanes");
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
}

void Processor::allocate() {
  const DType dtype = engine_.dtype();
  if (options_.copy_streams) {
    copy_in_ = device_.make_stream();
    copy_out_ = device_.make_stream();
  }
  for (int i = 0; i < options_.lanes; ++i) {
    lanes_.push_back(Lane{i,
                          device_.make_stream(),
                          device_.alloc(in_shape_.elements() * bytes_of(dtype)),
                          device_.alloc(out_shape_.elements() * bytes_of(dtype)),
                          {}});
    lane_mutexes_.emplace_back();
  }
  slots_.resize(static_cast<std::size_t>(options_.slots));
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    Slot& slot = slots_[i];
    slot.index = static_cast<int>(i);
    slot.in_device = device_.alloc(in_bytes_);
    slot.out_device = device_.alloc(out_bytes_);
    // Product events carry no timing and let a waiting thread sleep instead of spinning a core.
    for (Event* event : {&slot.h2d_begin, &slot.h2d_end, &slot.compute_begin, &slot.compute_end,
                         &slot.d2h_begin, &slot.d2h_end}) {
      *event = device_.make_event(options_.measure);
    }
  }
  free_.reserve(slots_.size());
  for (auto it = slots_.rbegin(); it != slots_.rend(); ++it) {
    free_.push_back(&*it);
  }
}

bool Processor::make_host_buffers(Slot& slot) {
  if (slot.in_host.data() != nullptr) {
    return false;
  }
  return make_host_buffers(slot, options_.host_memory);
}

bool Processor::make_host_buffers(Slot& slot, HostMemory kind) {
  if (slot.in_host.data() != nullptr && slot.in_host.kind() == kind) {
    return false;
  }
  slot.in_host.reset();  // the old ones go first: never both a slot's worth at once
  slot.out_host.reset();
  try {
    slot.in_host = device_.alloc_host(in_bytes_, kind);
    slot.out_host = device_.alloc_host(out_bytes_, kind);
  } catch (const std::bad_alloc&) {
    slot.in_host.reset();
    throw Error("out of host memory while allocating the buffers of slot " +
                std::to_string(slot.index) + " for frames of " + to_string(in_format_) +
                " in and " + to_string(out_format_) + " out");
  }
  return true;
}

Processor::~Processor() {
  for (Stream* stream : {&copy_in_, &copy_out_}) {
    try {
      if (*stream) {
        stream->synchronize();
      }
    } catch (...) {  // a failure of that work was, or will be, reported by whoever waited for it
    }
  }
  for (Lane& lane : lanes_) {
    try {
      lane.stream.synchronize();
    } catch (...) {
    }
  }
}

std::size_t Processor::vram_bytes() const {
  return device_.memory().peak + engine_.workspace_bytes();
}

void Processor::notify(Stage stage, std::int64_t frame) const {
  if (options_.observer != nullptr) {
    options_.observer->on_stage(stage, frame);
  }
}

// --- preparation
// ----------------------------------------------------------------------------------

void Processor::prepare(Lane& lane) {
  // One lane at a time, as the engine's contract asks (the synthetic engine calibrates itself by
  // timing a kernel, which another lane's warm-up beside it would slow).
  const std::lock_guard lock(prepare_mutex_);
  guard(Stage::engine, -1, [&] {
    engine_.prepare(lane.stream, in_shape_);
    if (options_.cuda_graph) {
      capture_graphs(lane);
    }
  });
}

void Processor::prepare_all() {
  for (Lane& lane : lanes_) {
    prepare(lane);
  }
}

FramePlanes Processor::input_planes(const Slot& slot) const {
  if (slot.lent && slot.lent_memory == Memory::device) {
    return *slot.lent;
  }
  return packed_planes(in_format_, slot.in_device.data());
}

void Processor::enqueue_pre(const ComputeStep& step, std::size_t first_job, const FramePlanes& in,
                            Lane& lane, int slices) const {
  for (std::size_t j = 0; j < step.jobs.size(); ++j) {
    to_tensor_[first_job + j](lane.stream, in, lane.tensor_in.data(), slices + step.jobs[j].slice);
  }
}

void Processor::enqueue_post(const ComputeStep& step, std::size_t first_job, const Slot& slot,
                             Lane& lane, int slices) const {
  const FramePlanes out = packed_planes(
      out_format_, slot.lent_output != nullptr ? slot.lent_output : slot.out_device.data());
  for (std::size_t j = 0; j < step.jobs.size(); ++j) {
    to_frame_[first_job + j](lane.stream, lane.tensor_out.data(), slices + step.jobs[j].slice, out);
  }
}

void Processor::enqueue_compute(const Slot& slot, Lane& lane) {
  const DType dtype = engine_.dtype();
  const TensorView tensor_in{lane.tensor_in.data(), in_shape_, dtype};
  const TensorView tensor_out{lane.tensor_out.data(), out_shape_, dtype};
  const FramePlanes in = input_planes(slot);
  std::size_t first_job = 0;
  for (const ComputeStep& step : plan_.steps) {
    enqueue_pre(step, first_job, in, lane);
    engine_.run(lane.stream, tensor_in, tensor_out);
    enqueue_post(step, first_job, slot, lane);
    first_job += step.jobs.size();
  }
}

void Processor::capture_graphs(Lane& lane) {
  // Any slot may pass through any lane (worker-streams, multi-compute), so every pair gets one.
  // The waits and event records around the work stay outside: they tie the graph to the frame.
  lane.graphs.reserve(slots_.size());
  for (const Slot& slot : slots_) {
    lane.graphs.push_back(engine_.capture(lane.stream, [&] { enqueue_compute(slot, lane); }));
  }
}

// --- per frame
// ------------------------------------------------------------------------------------

Processor::Slot* Processor::acquire() {
  Slot* slot = nullptr;
  {
    const std::lock_guard lock(free_mutex_);
    if (free_.empty()) {
      return nullptr;
    }
    slot = free_.back();
    free_.pop_back();
  }
  try {
    (void)make_host_buffers(*slot);
  } catch (...) {
    release(*slot);
    throw;
  }
  return slot;
}

void Processor::submit(Slot& slot, std::int64_t frame) {
  std::size_t index = 0;
  {
    const std::lock_guard lock(free_mutex_);
    index = next_lane_;
    next_lane_ = (next_lane_ + 1) % lanes_.size();
  }
  Lane& lane = lanes_[index];
  slot.frame = frame;
  const std::lock_guard lock(lane_mutexes_[index]);
  if (!options_.copy_streams) {
    upload(slot, lane.stream);
    compute(slot, lane);
    download(slot, lane.stream);
    return;
  }
  {
    const std::lock_guard copying(copy_in_mutex_);
    upload(slot, copy_in_);
  }
  compute(slot, lane);
  const std::lock_guard copying(copy_out_mutex_);
  download(slot, copy_out_);
}

bool Processor::ready(const Slot& slot) const {
  bool done = false;
  guard(Stage::d2h, slot.frame, [&] { done = slot.d2h_end.ready(); });
  return done;
}

void Processor::wait(Slot& slot) { await_download(slot); }

void Processor::release(Slot& slot) {
  slot.frame = -1;
  const std::lock_guard lock(free_mutex_);
  free_.push_back(&slot);
}

// --- stage steps
// ----------------------------------------------------------------------------------

void Processor::upload(Slot& slot, Stream& stream) {
  guard(Stage::h2d, slot.frame, [&] {
    notify(Stage::h2d, slot.frame);
    if (slot.lent_ready != nullptr) {
      stream.wait(*slot.lent_ready);
    }
    if (options_.measure) {
      slot.h2d_begin.record(stream);
    }
    // A frame lent on the device is computed from where it lies: nothing to copy, but the event
    // still orders the compute after whatever came before on this stream.
    if (!slot.lent) {
      stream.copy_async(slot.in_device.data(), slot.in_host.data(), in_bytes_);
    } else if (slot.lent_memory == Memory::host) {
      if (is_packed(in_format_, *slot.lent)) {
        stream.copy_async(slot.in_device.data(), (*slot.lent)[0].data, in_bytes_);
      } else {  // a pitched frame: each plane into the slot's packed one
        const FramePlanes to = packed_planes(in_format_, slot.in_device.data());
        for (int p = 0; p < plane_count(in_format_); ++p) {
          const auto i = static_cast<std::size_t>(p);
          const std::size_t row = plane_row_bytes(in_format_, p);
          stream.copy_2d_async(to[i].data, row, (*slot.lent)[i].data, (*slot.lent)[i].pitch, row,
                               static_cast<std::size_t>(plane_rows(in_format_, p)));
        }
      }
    }
    if ((!slot.lent || slot.lent_memory == Memory::host) && slot.frame >= 0) {
      uploads_.fetch_add(1, std::memory_order_relaxed);
    }
    slot.h2d_end.record(stream);
  });
}

void Processor::compute(Slot& slot, Lane& lane) {
  if (options_.batch > 1) {
    Slot* const group[] = {&slot};
    compute(std::span<Slot* const>(group), lane);
    return;
  }
  const DType dtype = engine_.dtype();
  const TensorView tensor_in{lane.tensor_in.data(), in_shape_, dtype};
  const TensorView tensor_out{lane.tensor_out.data(), out_shape_, dtype};
  // With graphs, the whole plan is one launch, issued in the engine's step. A graph reads the
  // slot's own input buffer and writes its own output buffer, so a frame lent on the device or
  // with a lent output goes without.
  const bool on_device =
      (slot.lent && slot.lent_memory == Memory::device) || slot.lent_output != nullptr;
  Graph* graph = lane.graphs.empty() || on_device
                     ? nullptr
                     : &lane.graphs[static_cast<std::size_t>(slot.index)];
  slot.lane = lane.index;
  guard(Stage::pre, slot.frame, [&] {
    notify(Stage::pre, slot.frame);
    lane.stream.wait(slot.h2d_end);
    if (options_.measure) {
      slot.compute_begin.record(lane.stream);
    }
  });
  if (graph != nullptr) {
    guard(Stage::engine, slot.frame, [&] {
      notify(Stage::engine, slot.frame);
      graph->launch(lane.stream);
    });
    guard(Stage::post, slot.frame, [&] {
      notify(Stage::post, slot.frame);
      slot.compute_end.record(lane.stream);
    });
    return;
  }
  const FramePlanes in = input_planes(slot);
  std::size_t first_job = 0;
  for (std::size_t s = 0; s < plan_.steps.size(); ++s) {
    const ComputeStep& step = plan_.steps[s];
    guard(Stage::pre, slot.frame, [&] { enqueue_pre(step, first_job, in, lane); });
    guard(Stage::engine, slot.frame, [&] {
      if (s == 0) {
        notify(Stage::engine, slot.frame);
      }
      engine_.run(lane.stream, tensor_in, tensor_out);
    });
    guard(Stage::post, slot.frame, [&] {
      if (s == 0) {
        notify(Stage::post, slot.frame);
      }
      enqueue_post(step, first_job, slot, lane);
    });
    first_job += step.jobs.size();
  }
  guard(Stage::post, slot.frame, [&] { slot.compute_end.record(lane.stream); });
}

void Processor::compute(std::span<Slot* const> group, Lane& lane) {
  const int count = static_cast<int>(group.size());
  if (count < 1 || count > options_.batch) {
    throw Error("Processor::compute takes 1.." + std::to_string(options_.batch) +
                " slots at once, got " + std::to_string(count));
  }
  if (options_.batch == 1) {
    compute(*group.front(), lane);
    return;
  }
  const DType dtype = engine_.dtype();
  const TensorView tensor_in{lane.tensor_in.data(), in_shape_, dtype};
  const TensorView tensor_out{lane.tensor_out.data(), out_shape_, dtype};
  const std::int64_t first = group.front()->frame;
  std::vector<FramePlanes> in;
  in.reserve(group.size());
  for (Slot* slot : group) {
    slot->lane = lane.index;
    guard(Stage::pre, slot->frame, [&] {
      notify(Stage::pre, slot->frame);
      lane.stream.wait(slot->h2d_end);
      if (options_.measure) {
        slot->compute_begin.record(lane.stream);
      }
    });
    in.push_back(input_planes(*slot));
  }
  std::size_t first_job = 0;
  for (std::size_t s = 0; s < plan_.steps.size(); ++s) {
    const ComputeStep& step = plan_.steps[s];
    for (int k = 0; k < options_.batch; ++k) {
      // Past the group's end, the slices are padded with its last frame (an engine of a fixed
      // batch needs every one filled); their results are not kept.
      const int from = std::min(k, count - 1);
      guard(Stage::pre, group[static_cast<std::size_t>(from)]->frame, [&] {
        enqueue_pre(step, first_job, in[static_cast<std::size_t>(from)], lane, k * plan_.input.n);
      });
    }
    guard(Stage::engine, first, [&] {
      if (s == 0) {
        for (Slot* slot : group) {
          notify(Stage::engine, slot->frame);
        }
      }
      engine_.run(lane.stream, tensor_in, tensor_out);
    });
    for (int k = 0; k < count; ++k) {
      const Slot& slot = *group[static_cast<std::size_t>(k)];
      guard(Stage::post, slot.frame, [&] {
        if (s == 0) {
          notify(Stage::post, slot.frame);
        }
        enqueue_post(step, first_job, slot, lane, k * plan_.input.n);
      });
    }
    first_job += step.jobs.size();
  }
  for (Slot* slot : group) {
    guard(Stage::post, slot->frame, [&] { slot->compute_end.record(lane.stream); });
  }
}

void Processor::download(Slot& slot, Stream& stream) {
  guard(Stage::d2h, slot.frame, [&] {
    notify(Stage::d2h, slot.frame);
    stream.wait(slot.compute_end);
    if (options_.measure) {
      slot.d2h_begin.record(stream);
    }
    if (!options_.device_output && slot.lent_output == nullptr) {
      stream.copy_async(slot.out_host.data(), slot.out_device.data(), out_bytes_);
      if (slot.frame >= 0) {
        downloads_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    slot.d2h_end.record(stream);
  });
}

void Processor::await_download(Slot& slot) {
  guard(Stage::d2h, slot.frame, [&] { slot.d2h_end.synchronize(); });
}

// --- measurement
// ----------------------------------------------------------------------------------

StageTimes Processor::measure_alone() {
  if (!options_.measure) {
    throw Error("Processor::measure_alone needs ProcessorOptions::measure");
  }
  for (Slot& slot : slots_) {
    (void)make_host_buffers(slot);
  }
  // Cycling through the slots as a run does: copy speed can depend on which pinned buffer is used.
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
      // A slot alone is a padded group: one engine run serves `batch` frames.
      inference.push_back(Event::elapsed_ms(slot.compute_begin, slot.compute_end) /
                          static_cast<double>(options_.batch));
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

}  // namespace pyn
