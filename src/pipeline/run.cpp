#include "run.hpp"

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <utility>

#include "guard.hpp"
#include "pynference/device/error.hpp"
#include "pynference/pipeline/stage.hpp"

namespace pyn::detail {

namespace {

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
    : device_(device),
      source_(source),
      sink_(sink),
      options_(options),
      injector_(options),
      lanes_ready_(lanes),
      host_memory_(host_memory) {
  FrameFormat in_format;
  guard(Stage::source, -1, [&] { in_format = source_.format(); });
  ProcessorOptions processor;
  processor.lanes = lanes;
  if (options_.batch < 1 || options_.batch > kMaxBatch) {
    throw UsageError("PipelineOptions batch " + std::to_string(options_.batch) + " is outside 1.." +
                     std::to_string(kMaxBatch));
  }
  batch_ = options_.batch;
  processor.batch = batch_;
  processor.slots = (options_.slots > 0 ? options_.slots : default_slots(options_)) * batch_;
  processor.host_memory = host_memory;
  processor.output_format = options_.output_format;
  processor.cuda_graph = options_.cuda_graph;
  processor.plan = options_.plan;
  processor.measure = measuring();
  processor.observer = options_.inject ? &injector_ : nullptr;
  guard(Stage::source, -1, [&] { lends_ = source_.lends(); });
  guard(Stage::sink, -1, [&] { processor.device_output = sink_.takes_device_frames(); });
  if (options_.cuda_graph && lends_ == Memory::device) {
    // A graph reads the frame from the slot's own buffer; a lent frame lies elsewhere each time.
    throw UsageError("PipelineOptions::cuda_graph cannot take frames a source lends on the device");
  }
  processor_ = std::make_unique<Processor>(device_, engine, in_format, processor);
  spans_.resize(processor_->slots().size());
  for (Slot& slot : processor_->slots()) {
    by_index_.push_back(&slot);
    if (slot.index % batch_ == 0) {
      groups_.push_back(&slot);
    }
  }
  group_frames_.resize(groups_.size(), 0);
  if (measuring()) {
    records_.reserve(expected_frames(source_, options_));
  }
  guard(Stage::sink, -1, [&] { sink_.open(processor_->output_format()); });
  setup_ms_ = since_created_ms();
}

void Run::prepare_lane(Lane& lane) {
  try {
    processor_->prepare(lane);
  } catch (...) {
    // The failure is the run's before start() can look, so no frame is read after it.
    fail(std::current_exception());
    lane_ready();
    throw;
  }
  lane_ready();
}

void Run::lane_ready() {
  if (!any_lane_ready_.exchange(true)) {
    first_lane_ready_.count_down();
  }
  lanes_ready_.count_down();
}

bool Run::stands_in() const noexcept {
  return host_memory_ != HostMemory::pageable && !measuring() && !options_.cuda_graph &&
         !first_out_.load(std::memory_order_acquire);
}

void Run::make_host_buffers(Slot& slot) {
  HostMemory kind = host_memory_;
  if (stands_in()) {
    if (slot.index < batch_) {
      kind = HostMemory::pageable;
    } else {
      // Pinning now would hold up the first frame's CUDA calls, and a stand-in costs each of its
      // frames a pageable copy: wait for the first frame (or the run's failure) instead.
      first_out_.wait(false, std::memory_order_acquire);
    }
  }
  if (processor_->make_host_buffers(slot, kind)) {
    if (kind != host_memory_) {
      ++stand_ins_;
    }
    guard(Stage::source, -1, [&] { source_.prime(slot.in_host.bytes()); });
  }
}

void Run::first_frame_out() noexcept {
  first_out_.store(true, std::memory_order_release);
  first_out_.notify_all();
}

namespace {

// Writes a byte in each page, so that the first copy into a new buffer does not fault them in.
void touch_pages(std::span<std::byte> bytes) {
  constexpr std::size_t kPage = 4096;
  for (std::size_t at = 0; at < bytes.size(); at += kPage) {
    bytes[at] = std::byte{0};
  }
}

}  // namespace

bool Run::start() {
  // Unmeasured, frames start once one lane is warm; the others take frames as each is ready, its
  // warm-up done on its own thread before its first frame. A measured run waits for every lane,
  // so that no warm-up runs beside the frames it times. Meanwhile the first group's host buffers
  // are made (pageable stand-ins: make_host_buffers()) and their pages touched, which takes no CUDA
  // call: pinning beside the warm-up held up the lane's own calls, and pinning on the first
  // frame's way cost more than the frame (docs/benchmarks.md, the first frame).
  if (measuring()) {
    lanes_ready_.wait();
  } else {
    for (std::size_t k = 0; k < static_cast<std::size_t>(batch_); ++k) {
      Slot& slot = *by_index_[k];
      make_host_buffers(slot);
      if (slot.out_host.kind() == HostMemory::pageable) {
        touch_pages(slot.out_host.bytes());
      }
    }
    first_lane_ready_.wait();
  }
  if (failed()) {
    return false;
  }
  warmup_ms_ = since_created_ms() - setup_ms_;
  if (measuring()) {
    // The measuring pass copies every slot: each is made (and primed) first.
    for (Slot& slot : slots()) {
      make_host_buffers(slot);
    }
    stages_ = processor_->measure_alone();
    // A stage the frames skip bounds nothing: lent device frames are not uploaded, device outputs
    // not downloaded, and then the link carries one direction at most.
    if (lends_ == Memory::device) {
      stages_.h2d_ms = 0;
      stages_.duplex_ms = 0;
    }
    if (sink_.takes_device_frames()) {
      stages_.d2h_ms = 0;
      stages_.duplex_ms = 0;
    }
    origin_ = device_.make_event();
    origin_.record(lanes().front().stream);
    origin_.synchronize();
  }
  host_origin_ = std::chrono::steady_clock::now();
  return true;
}

Run::~Run() {
  join();
  drain();
}

double Run::host_ms() const {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - host_origin_)
      .count();
}

double Run::since_created_ms() const {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - created_)
      .count();
}

double Run::gpu_ms(const Event& event) const { return Event::elapsed_ms(origin_, event); }

std::span<Slot* const> Run::members(const Slot& first) const {
  const auto index = static_cast<std::size_t>(first.index);
  return std::span<Slot* const>(by_index_).subspan(
      index, static_cast<std::size_t>(group_frames_[index / static_cast<std::size_t>(batch_)]));
}

bool Run::fill(Slot& slot) {
  int& frames = group_frames_[static_cast<std::size_t>(slot.index / batch_)];
  frames = 0;
  for (int k = 0; k < batch_; ++k) {
    if (!fill_one(*by_index_[static_cast<std::size_t>(slot.index + k)])) {
      break;
    }
    ++frames;
  }
  return frames > 0;
}

bool Run::fill_one(Slot& slot) {
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
  make_host_buffers(slot);
  const std::int64_t frame = next_frame_;
  slot.frame = frame;
  Spans& s = spans(slot);
  s.source_begin = host_ms();
  bool got = false;
  guard(Stage::source, frame, [&] {
    if (options_.inject) {
      options_.inject(Stage::source, frame);
    }
    FrameInfo info{frame, std::nullopt};
    if (lends_) {
      slot.lent = source_.lend(info);
      slot.lent_memory = *lends_;
      got = slot.lent.has_value();
    } else {
      got = source_.read(slot.in_host.bytes(), info);
    }
    slot.time = info.time;
  });
  s.source_end = host_ms();
  if (got) {
    ++next_frame_;
  }
  return got;
}

void Run::upload(Slot& slot, Stream& stream) {
  for (Slot* member : members(slot)) {
    Spans& s = spans(*member);
    s.issue[0] = trace_ms();
    processor_->upload(*member, stream);
    s.issue[1] = trace_ms();
  }
}

void Run::compute(Slot& slot, Lane& lane) {
  const std::span<Slot* const> group = members(slot);
  const double begin = trace_ms();
  processor_->compute(group, lane);
  const double end = trace_ms();
  for (Slot* member : group) {
    spans(*member).issue[2] = begin;
    spans(*member).issue[3] = end;
  }
}

void Run::download(Slot& slot, Stream& stream) {
  for (Slot* member : members(slot)) {
    Spans& s = spans(*member);
    s.issue[4] = trace_ms();
    processor_->download(*member, stream);
    s.issue[5] = trace_ms();
  }
}

void Run::await_download(Slot& slot) {
  for (Slot* member : members(slot)) {
    processor_->await_download(*member);
  }
}

void Run::deliver(Slot& slot) {
  for (Slot* member : members(slot)) {
    deliver_one(*member);
  }
}

void Run::deliver_one(Slot& slot) {
  processor_->await_download(slot);
  FrameRecord record;
  record.sink_begin = host_ms();
  guard(Stage::sink, slot.frame, [&] {
    if (options_.inject) {
      options_.inject(Stage::sink, slot.frame);
    }
    sink_.write(processor_->output(slot), FrameInfo{slot.frame, slot.time});
  });
  if (slot.lent) {  // its compute is done: the source may have it back
    guard(Stage::source, slot.frame, [&] { source_.give_back(slot.frame); });
    slot.lent.reset();
  }
  record.sink_end = host_ms();
  const Spans& s = spans(slot);
  if (delivered_++ == 0) {
    first_source_begin_ = s.source_begin;
    first_frame_ms_ = since_created_ms();
    first_frame_out();
  }
  last_sink_end_ = record.sink_end;
  if (!measuring()) {
    return;
  }
  record.frame = slot.frame;
  record.lane = slot.lane;
  record.source_begin = s.source_begin;
  record.source_end = s.source_end;
  record.issue_h2d_begin = s.issue[0];
  record.issue_h2d_end = s.issue[1];
  record.issue_compute_begin = s.issue[2];
  record.issue_compute_end = s.issue[3];
  record.issue_d2h_begin = s.issue[4];
  record.issue_d2h_end = s.issue[5];
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
  queues_.push_back(std::make_unique<Queue>(slots().size()));
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
  first_frame_out();  // a source thread waiting for the first frame
  if (lends_) {
    source_.stop_lending();  // a lend() waiting for frames the failed run will not give back
  }
}

void Run::drain() noexcept {
  auto quietly = [](Stream& stream) {
    try {
      stream.synchronize();
    } catch (...) {  // the run's first error is what the caller hears about
    }
  };
  for (Lane& lane : lanes()) {
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
  report.compute_lanes = static_cast<int>(lanes().size());
  report.slots = static_cast<int>(slots().size());
  report.batch = batch_;
  report.cuda_graph = options_.cuda_graph;
  report.interrupted = interrupted_;
  report.vram_bytes = processor_->vram_bytes();
  report.first_frame_ms = first_frame_ms_;
  report.stand_in_slots = stand_ins_;
  report.setup_ms = setup_ms_;
  report.warmup_ms = warmup_ms_;
  report.uploads = processor_->uploads();
  report.downloads = processor_->downloads();
  if (measuring()) {
    report.stages = stages_;
    report.records = std::move(records_);
    summarize(report, options_.warmup, processor_->input_bytes(), processor_->output_bytes());
  } else {
    report.frames = delivered_;
    report.measured_frames = delivered_;
    report.wall_s = (last_sink_end_ - first_source_begin_) / 1000.0;
    report.fps = report.wall_s > 0 ? static_cast<double>(delivered_) / report.wall_s : 0.0;
  }
  return report;
}

}  // namespace pyn::detail
