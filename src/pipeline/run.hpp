#pragma once
// The state one pipeline run shares between its threads, and the stage steps every strategy is
// built from. A strategy only decides which thread runs which step on which stream.

#include <chrono>
#include <deque>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "pynference/device/device.hpp"
#include "pynference/engine/engine.hpp"
#include "pynference/pipeline/options.hpp"
#include "pynference/pipeline/report.hpp"
#include "pynference/pipeline/source.hpp"
#include "slot_queue.hpp"

namespace pyn::detail {

// One frame's buffers and events. A slot carries one frame from the source to the sink.
struct Slot {
  int index = 0;  // in Run::slots()
  std::int64_t frame = -1;
  int lane = 0;
  double source_begin = 0;
  double source_end = 0;
  double issue[6] = {};  // host enqueue spans of h2d, compute, d2h (begin, end); when tracing
  HostBuffer in_host;
  HostBuffer out_host;
  DeviceBuffer in_device;
  DeviceBuffer out_device;
  Event h2d_begin, h2d_end, compute_begin, compute_end, d2h_begin, d2h_end;
};

// A compute stream and the tensors only it touches: one stream runs one inference at a time, so
// its tensors are shared by all slots that pass through it.
struct Lane {
  int index = 0;
  Stream stream;
  DeviceBuffer tensor_in;
  DeviceBuffer tensor_out;
  // With PipelineOptions::cuda_graph: pre + engine + post of each slot through this lane's
  // tensors, indexed by Slot::index. Declared last, so they go before the buffers they use.
  std::vector<Graph> graphs;
};

using Queue = SlotQueue<Slot>;

class Run {
 public:
  Run(const Device& device, Engine& engine, Source& source, Sink& sink,
      const PipelineOptions& options, int lanes, HostMemory host_memory);
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;
  Run(Run&&) = delete;
  Run& operator=(Run&&) = delete;
  ~Run();

  // --- stage steps -----------------------------------------------------------------------------
  // Fills the slot with the next frame; false at the end of the source, at max_frames, or on stop.
  bool fill(Slot& slot);
  void upload(Slot& slot, Stream& stream);
  void compute(Slot& slot, Lane& lane);
  void download(Slot& slot, Stream& stream);
  // Blocks until the slot's D2H is done.
  void await_download(Slot& slot);
  // Waits for the slot's D2H, hands the frame to the sink and records its spans.
  void deliver(Slot& slot);

  // --- threads and failure ----------------------------------------------------------------------
  // Starts a thread bound to the device; an exception in it fails the run.
  void spawn(std::function<void()> body);
  void join();
  // The queues a failure must wake.
  Queue& make_queue();
  // A stream for copies; the run keeps it until every thread is done with it.
  Stream& make_stream();
  [[nodiscard]] bool failed() const;

  // Rethrows the first failure, or completes the report.
  RunReport finish(Strategy strategy, int streams, Layout layout);

  [[nodiscard]] std::vector<Lane>& lanes() { return lanes_; }
  [[nodiscard]] std::vector<Slot>& slots() { return slots_; }
  [[nodiscard]] const Device& device() const { return device_; }
  // In-order delivery of slots that may complete out of order (several streams).
  class Reorder;

 private:
  void fail(std::exception_ptr error);
  [[nodiscard]] double host_ms() const;
  // host_ms() when tracing, else 0: the clock is read only when someone will look.
  [[nodiscard]] double trace_ms() const { return options_.trace ? host_ms() : 0.0; }
  [[nodiscard]] double gpu_ms(const Event& event) const;
  void drain() noexcept;
  // Pre + engine + post of one slot through one lane, as compute() enqueues them without graphs.
  void enqueue_compute(const Slot& slot, Lane& lane);
  // The lanes (stream, tensors) and slots (host and device frames, events).
  void allocate(int lanes, int slot_count, HostMemory host_memory);
  void capture_graphs();
  StageTimes measure_alone();

  const Device& device_;
  Engine& engine_;
  Source& source_;
  Sink& sink_;
  const PipelineOptions& options_;
  FrameFormat in_format_;
  FrameFormat out_format_;
  std::size_t in_bytes_ = 0;
  std::size_t out_bytes_ = 0;
  TensorShape in_shape_;
  TensorShape out_shape_;
  std::vector<Slot> slots_;
  std::vector<Lane> lanes_;
  std::deque<Stream> copy_streams_;
  std::vector<std::unique_ptr<Queue>> queues_;
  std::vector<std::jthread> threads_;
  Event origin_;
  std::chrono::steady_clock::time_point host_origin_;
  std::int64_t next_frame_ = 0;
  std::vector<FrameRecord> records_;
  bool interrupted_ = false;
  StageTimes stages_;

  mutable std::mutex failure_mutex_;
  std::exception_ptr failure_;
};

// Hands slots to the sink in frame order; frames in flight never exceed the slot count, so a ring
// indexed by frame modulo the slot count never collides.
class Run::Reorder {
 public:
  explicit Reorder(std::size_t slots) : ring_(slots, nullptr) {}
  // Takes a completed slot; calls emit for every slot that is now next in order.
  template <class Emit>
  void complete(Slot* slot, Emit&& emit) {
    ring_[static_cast<std::size_t>(slot->frame) % ring_.size()] = slot;
    for (;;) {
      Slot*& next = ring_[static_cast<std::size_t>(next_) % ring_.size()];
      if (next == nullptr || next->frame != next_) {
        return;
      }
      Slot* ready = std::exchange(next, nullptr);
      ++next_;
      emit(*ready);
    }
  }

 private:
  std::vector<Slot*> ring_;
  std::int64_t next_ = 0;
};

}  // namespace pyn::detail
