#pragma once
// run_pipeline's driver: a Source pushed through a Processor into a Sink. It holds what one run's
// threads share (the queues, the failure, the records) and the stage steps every strategy is built
// from, each the Processor's step with the driver's measurement and fault hooks around it. A
// strategy only decides which thread runs which step on which stream.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include "pynference/device/device.hpp"
#include "pynference/engine/engine.hpp"
#include "pynference/pipeline/options.hpp"
#include "pynference/pipeline/processor.hpp"
#include "pynference/pipeline/report.hpp"
#include "pynference/pipeline/source.hpp"
#include "slot_queue.hpp"

namespace pyn::detail {

using Slot = Processor::Slot;
using Lane = Processor::Lane;

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

  // --- start -----------------------------------------------------------------------------------
  // Prepares the engine on `lane` (and captures its graphs): called first by the one thread that
  // runs the lane, since engines keep per-thread state (LibTorch's autotune caches) that a warm-up
  // on another thread would not fill.
  void prepare_lane(Lane& lane);
  // Called once by the thread that fills slots, before the first fill: waits until a lane is
  // prepared (every lane, and then times each stage alone, in a measured run) and starts the
  // clocks. False where a lane failed to prepare.
  bool start();

  // --- stage steps -----------------------------------------------------------------------------
  // Each step takes a group's first slot (groups()): with PipelineOptions::batch = N, the group is
  // it and the N - 1 slots after it, holding consecutive frames, and each step does its work for
  // every frame of the group (compute: one engine run for them all). With N = 1 a group is a slot.
  //
  // Fills the group with the next frames; false where it got none: at the end of the source, at
  // max_frames, or on stop. A group filled short (the end of the input) is computed short.
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

  [[nodiscard]] std::deque<Lane>& lanes() { return processor_->lanes(); }
  [[nodiscard]] std::deque<Slot>& slots() { return processor_->slots(); }
  // Each group's first slot: what the schedules move between threads.
  [[nodiscard]] const std::vector<Slot*>& groups() const noexcept { return groups_; }
  [[nodiscard]] int batch() const noexcept { return batch_; }
  // In-order delivery of groups that may complete out of order (several streams).
  class Reorder;
  [[nodiscard]] Reorder make_reorder() const;

 private:
  // PipelineOptions::inject as the Processor's observer.
  class Injector final : public StageObserver {
   public:
    explicit Injector(const PipelineOptions& options) : options_(options) {}
    void on_stage(Stage stage, std::int64_t frame) override { options_.inject(stage, frame); }

   private:
    const PipelineOptions& options_;
  };
  // The driver's spans of a frame in a slot: the source, and the host's enqueue of each stage.
  struct Spans {
    double source_begin = 0;
    double source_end = 0;
    double issue[6] = {};  // h2d, compute, d2h (begin, end); when tracing
  };

  void fail(std::exception_ptr error);
  // A lane's prepare() is over, done or failed: counts the latches start() waits on.
  void lane_ready();
  // The slots of the group `first` leads that hold frames.
  [[nodiscard]] std::span<Slot* const> members(const Slot& first) const;
  bool fill_one(Slot& slot);
  void deliver_one(Slot& slot);
  // The Processor's make_host_buffers(), and the source's prime() of new ones. Until the first
  // frame reaches the sink, an unmeasured run gives the first group pageable stand-ins, and a
  // slot after it waits for that frame before it is pinned: pinning one frame's buffers costs tens
  // of milliseconds on a GPU machine, more than the frame, and holds up the CUDA calls made beside
  // it (docs/benchmarks.md, the first frame). The stand-ins are traded for pinned buffers at the
  // first group's next use.
  void make_host_buffers(Slot& slot);
  [[nodiscard]] bool stands_in() const noexcept;
  // The first frame reached the sink, or the run failed: wakes make_host_buffers().
  void first_frame_out() noexcept;
  [[nodiscard]] double host_ms() const;
  // host_ms() when tracing, else 0: the clock is read only when someone will look.
  [[nodiscard]] double trace_ms() const { return options_.trace ? host_ms() : 0.0; }
  [[nodiscard]] bool measuring() const noexcept { return options_.measure || options_.trace; }
  [[nodiscard]] double gpu_ms(const Event& event) const;
  // Since the run was created.
  [[nodiscard]] double since_created_ms() const;
  [[nodiscard]] Spans& spans(const Slot& slot) {
    return spans_[static_cast<std::size_t>(slot.index)];
  }
  void drain() noexcept;

  const Device& device_;
  Source& source_;
  Sink& sink_;
  const PipelineOptions& options_;
  Injector injector_;
  std::unique_ptr<Processor> processor_;
  std::vector<Spans> spans_;  // by Slot::index
  int batch_ = 1;
  std::vector<Slot*> groups_;
  std::vector<Slot*> by_index_;    // every slot, by Slot::index
  std::vector<int> group_frames_;  // frames in each group, by its first slot's index / batch
  std::deque<Stream> copy_streams_;
  std::vector<std::unique_ptr<Queue>> queues_;
  std::vector<std::jthread> threads_;
  Event origin_;
  std::chrono::steady_clock::time_point host_origin_;
  std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
  double first_frame_ms_ = 0;
  double setup_ms_ = 0;
  double warmup_ms_ = 0;
  std::int64_t next_frame_ = 0;
  std::optional<Memory> lends_;     // where the source's frames lie, if it lends them
  std::latch lanes_ready_;          // every lane prepared (or failed)
  std::latch first_lane_ready_{1};  // some lane prepared (or failed)
  std::atomic<bool> any_lane_ready_{false};
  std::vector<FrameRecord> records_;  // measured runs only
  // Every run: what frames, wall time and fps need, without a record per frame.
  std::int64_t delivered_ = 0;
  std::atomic<bool> first_out_{false};  // first_frame_out(): set by the sink's thread, or a failure
  HostMemory host_memory_;
  std::int64_t stand_ins_ = 0;  // slots that took pageable stand-ins (RunReport::stand_in_slots)
  double first_source_begin_ = 0;
  double last_sink_end_ = 0;
  bool interrupted_ = false;
  StageTimes stages_;

  mutable std::mutex failure_mutex_;
  std::exception_ptr failure_;
};

// Hands groups to the sink in frame order. A group's first frame is its place in the order times
// the batch, and groups in flight never exceed the group count, so a ring indexed by that place
// modulo the group count never collides.
class Run::Reorder {
 public:
  Reorder(std::size_t groups, int batch) : ring_(groups, nullptr), batch_(batch) {}
  // Takes a completed group's first slot; calls emit for every group that is now next in order.
  template <class Emit>
  void complete(Slot* slot, Emit&& emit) {
    ring_[static_cast<std::size_t>(slot->frame / batch_) % ring_.size()] = slot;
    for (;;) {
      Slot*& next = ring_[static_cast<std::size_t>(next_) % ring_.size()];
      if (next == nullptr || next->frame != next_ * batch_) {
        return;
      }
      Slot* ready = std::exchange(next, nullptr);
      ++next_;
      emit(*ready);
    }
  }

 private:
  std::vector<Slot*> ring_;
  std::int64_t batch_ = 1;
  std::int64_t next_ = 0;
};

inline Run::Reorder Run::make_reorder() const { return Reorder(groups_.size(), batch_); }

}  // namespace pyn::detail
