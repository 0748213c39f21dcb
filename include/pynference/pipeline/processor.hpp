#pragma once
// One device's frame processor: the slots (host and device buffers of frames in flight), the lanes
// (compute streams with their tensors), the engine's preparation, and the stage steps a frame goes
// through: upload, compute (pre + engine + post), download.
//
// It has no threads. Two faces:
//   - per frame, for front ends that are asked for frames (a frame server, a Python loop):
//     acquire() a free slot (never blocks), fill its input, submit() it under the caller's frame
//     number, wait() or ready() for its output, release() it. Callable from several threads at
//     once; frames complete in any order.
//   - the stage steps, for the schedules (src/pipeline/strategies.cpp), which decide which thread
//     runs which step on which stream. A lane is then driven by one thread at a time.
// Errors leave as StageError naming the stage and the frame; a UsageError during setup (frame -1)
// comes out as it is.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "pynference/core/frame.hpp"
#include "pynference/core/view.hpp"
#include "pynference/device/device.hpp"
#include "pynference/engine/engine.hpp"
#include "pynference/kernels/convert.hpp"
#include "pynference/kernels/frame.hpp"
#include "pynference/pipeline/compute_plan.hpp"
#include "pynference/pipeline/report.hpp"
#include "pynference/pipeline/stage.hpp"

namespace pyn {

// Told of each stage of each frame as it starts. An exception it throws fails that stage exactly
// as a real failure would (the tests inject faults through it).
class StageObserver {
 public:
  StageObserver() = default;
  StageObserver(const StageObserver&) = delete;
  StageObserver& operator=(const StageObserver&) = delete;
  virtual ~StageObserver() = default;
  virtual void on_stage(Stage stage, std::int64_t frame) = 0;
};

// The most frames one engine run takes (ProcessorOptions::batch).
inline constexpr int kMaxBatch = 64;

struct ProcessorOptions {
  int lanes = 1;  // compute streams, each with its own tensors
  int slots = 6;  // frames in flight
  HostMemory host_memory = HostMemory::pinned;
  // The layout, sample type and colour of output frames, if not the input's; its size is the
  // network's.
  std::optional<FrameFormat> output_format;
  // Capture pre + engine + post per (slot, lane) as a CUDA graph when a lane is prepared.
  bool cuda_graph = false;
  // Events with timing and the *_begin events recorded, so stages can be timed.
  bool measure = false;
  // Outputs stay on the device (a sink that takes device frames): download() copies nothing.
  bool device_output = false;
  // The per-frame face (submit()) copies on two streams of its own, one each way, apart from the
  // lanes' compute streams, as split-streams does: a frame's copies overlap other frames' compute
  // even with one lane. Without it a lane's stream runs each frame's upload, compute and download
  // one after another.
  bool copy_streams = false;
  // What compute() does to each frame (compute_plan.hpp); none is the whole frame through one
  // N = 1 tensor.
  std::optional<ComputePlan> plan;
  // Frames per engine run (1..64): the engine's tensor holds `batch` copies of the plan's, frame k
  // of a group in slices k * N .. k * N + N - 1. compute() of one slot is a group of one, the rest
  // of the tensor padded with copies of its frame. Not with cuda_graph.
  int batch = 1;
  StageObserver* observer = nullptr;
};

class Processor {
 public:
  // One frame's buffers and events. A slot carries one frame through the device.
  struct Slot {
    int index = 0;  // in slots()
    std::int64_t frame = -1;
    std::optional<FrameTime> time;  // what the source said of the frame, for the sink
    // A frame its source lent instead of filling in_host: its planes (each with its pitch), and
    // where they lie. One in device memory is computed from where it is; one in host memory is
    // uploaded from there (plane by plane where it is not packed).
    std::optional<FramePlanes> lent;
    Memory lent_memory = Memory::host;
    // An output buffer of the caller's own, in device memory, output_bytes() packed: compute
    // writes the frame's result there and download copies nothing (a caller that keeps results on
    // the device, in buffers it owns). Valid until wait() returns.
    std::byte* lent_output = nullptr;
    // Where set, the frame's work waits for this event first: the point of the caller's stream
    // after which its lent frame and output may be used. It must outlive the submit() call.
    const Event* lent_ready = nullptr;
    int lane = 0;  // the lane that computed it
    HostBuffer in_host;
    HostBuffer out_host;
    DeviceBuffer in_device;
    DeviceBuffer out_device;
    // The *_end events order the stages; the *_begin ones are recorded only when measuring.
    Event h2d_begin, h2d_end, compute_begin, compute_end, d2h_begin, d2h_end;
  };

  // A compute stream and the tensors only it touches: one stream runs one inference at a time, so
  // its tensors serve every slot that passes through it.
  struct Lane {
    int index = 0;
    Stream stream;
    DeviceBuffer tensor_in;
    DeviceBuffer tensor_out;
    // With cuda_graph: pre + engine + post of each slot through this lane's tensors, indexed by
    // Slot::index. Declared last, so they go before the buffers they use.
    std::vector<Graph> graphs;
  };

  // Allocates the lanes and every slot's device buffers (host buffers: make_host_buffers()); asks
  // the engine for the output shape (UsageError where it refuses).
  Processor(const Device& device, Engine& engine, const FrameFormat& input,
            const ProcessorOptions& options);
  Processor(const Processor&) = delete;
  Processor& operator=(const Processor&) = delete;
  Processor(Processor&&) = delete;
  Processor& operator=(Processor&&) = delete;
  ~Processor();

  [[nodiscard]] const FrameFormat& input_format() const noexcept { return in_format_; }
  [[nodiscard]] const FrameFormat& output_format() const noexcept { return out_format_; }
  [[nodiscard]] std::size_t input_bytes() const noexcept { return in_bytes_; }
  [[nodiscard]] std::size_t output_bytes() const noexcept { return out_bytes_; }
  [[nodiscard]] const ComputePlan& plan() const noexcept { return plan_; }
  [[nodiscard]] std::deque<Slot>& slots() noexcept { return slots_; }
  [[nodiscard]] std::deque<Lane>& lanes() noexcept { return lanes_; }
  [[nodiscard]] const Device& device() const noexcept { return device_; }
  [[nodiscard]] bool measuring() const noexcept { return options_.measure; }
  // Peak device memory of the buffers plus the engine's workspace.
  [[nodiscard]] std::size_t vram_bytes() const;

  // --- preparation -------------------------------------------------------------------------------
  // Warms the engine up on `lane` (and captures its graphs), from the thread that will run it:
  // engines keep per-thread state. Calls for different lanes are serialised here.
  void prepare(Lane& lane);
  // Each lane in turn from this thread (the per-frame face).
  void prepare_all();

  // A slot's host buffers (in_host, out_host), where it has none yet; false where it had. Pinning
  // a frame's buffer takes milliseconds, so they are made at a slot's first use, not up front:
  // acquire() makes them, a schedule's source thread calls this, measure_alone() makes all. From
  // the thread that holds the slot. Throws Error, naming the slot and sizes, out of host memory.
  bool make_host_buffers(Slot& slot);
  // The same in memory of `kind`: a slot whose buffers are of another kind gets new ones (true;
  // their content is lost), as a run does for the stand-ins its first frames go through.
  bool make_host_buffers(Slot& slot, HostMemory kind);

  // --- per frame ---------------------------------------------------------------------------------
  // A free slot (with its host buffers), or null where every slot is in flight.
  [[nodiscard]] Slot* acquire();
  // The slot's input: input_bytes() to fill before submit(), packed; or set Slot::lent to the
  // planes of a frame of the caller's own (Slot::lent_memory: host, or device for no upload), valid
  // until wait() returns.
  [[nodiscard]] static std::span<std::byte> input(Slot& slot) { return slot.in_host.bytes(); }
  // Enqueues upload, compute and download of the frame in `slot` on the next lane's stream.
  void submit(Slot& slot, std::int64_t frame);
  [[nodiscard]] bool ready(const Slot& slot) const;
  // Blocks until the slot's output is in host memory.
  void wait(Slot& slot);
  // The frame's output, after wait() or ready(): in host memory, or on the device with
  // device_output or a lent output.
  [[nodiscard]] std::span<const std::byte> output(const Slot& slot) const {
    if (slot.lent_output != nullptr) {
      return {slot.lent_output, out_bytes_};
    }
    if (options_.device_output) {
      return {static_cast<const std::byte*>(slot.out_device.data()), slot.out_device.size()};
    }
    return slot.out_host.bytes();
  }
  void release(Slot& slot);

  // --- stage steps (the schedules) ---------------------------------------------------------------
  void upload(Slot& slot, Stream& stream);
  void compute(Slot& slot, Lane& lane);
  // Up to `batch` slots through one engine run per step of the plan, each its own frame in its
  // own slices; a short group is padded with copies of its last frame, whose results are dropped.
  void compute(std::span<Slot* const> group, Lane& lane);
  void download(Slot& slot, Stream& stream);
  void await_download(Slot& slot);

  // --- measurement -------------------------------------------------------------------------------
  // Each stage on its own, nothing else running, cycling through the slots: the basis of the
  // bound. Needs measure; no frame may be in flight.
  [[nodiscard]] StageTimes measure_alone();
  // Frames copied host to device and back so far (lent device frames, lent outputs and device
  // outputs are not).
  [[nodiscard]] std::int64_t uploads() const noexcept { return uploads_.load(); }
  [[nodiscard]] std::int64_t downloads() const noexcept { return downloads_.load(); }

 private:
  // Refuses, in one line naming sizes and memory, buffers that cannot fit host or device memory.
  void check_memory() const;
  void allocate();
  void notify(Stage stage, std::int64_t frame) const;
  void prepare_conversions();
  [[nodiscard]] FramePlanes input_planes(const Slot& slot) const;
  // The step's jobs into the lane's input tensor, and its results back into the frame.
  // `slices` is where the frame's slices start in the tensor (its place in a batch times N).
  void enqueue_pre(const ComputeStep& step, std::size_t first_job, const FramePlanes& in,
                   Lane& lane, int slices = 0) const;
  void enqueue_post(const ComputeStep& step, std::size_t first_job, const Slot& slot, Lane& lane,
                    int slices = 0) const;
  void enqueue_compute(const Slot& slot, Lane& lane);
  void capture_graphs(Lane& lane);

  const Device& device_;
  DeviceGuard device_guard_;  // set up and torn down on the caller's thread, which keeps its device
  Engine& engine_;
  ProcessorOptions options_;
  FrameFormat in_format_;
  FrameFormat out_format_;
  std::size_t in_bytes_ = 0;
  std::size_t out_bytes_ = 0;
  ComputePlan plan_;
  TensorShape in_shape_;   // of one engine run (the plan's)
  TensorShape out_shape_;  // the engine's answer to it
  // One pair per job of the plan, in its order: checked and dispatched once, here.
  std::vector<FrameToTensor> to_tensor_;
  std::vector<TensorToFrame> to_frame_;
  std::deque<Slot> slots_;
  std::deque<Lane> lanes_;
  std::deque<std::mutex> lane_mutexes_;  // the per-frame face: one submit at a time on a lane
  // With copy_streams: the per-frame face's upload and download streams, each one caller at a time.
  Stream copy_in_;
  Stream copy_out_;
  std::mutex copy_in_mutex_;
  std::mutex copy_out_mutex_;
  std::mutex prepare_mutex_;
  std::mutex free_mutex_;
  std::vector<Slot*> free_;
  std::size_t next_lane_ = 0;  // under free_mutex_
  std::atomic<std::int64_t> uploads_{0};
  std::atomic<std::int64_t> downloads_{0};
};

}  // namespace pyn
