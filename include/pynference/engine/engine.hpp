#pragma once
// An engine runs the network: it is told the input shape once, reports the output shape, and then
// runs on a stream given to it, reading one device tensor and writing another. It never
// synchronizes the device and never uses the default stream, so the pipeline alone decides what
// overlaps. TensorRT, LibTorch and the synthetic engine all stand behind this one face.

#include <cstddef>
#include <functional>
#include <string>

#include "pynference/device/graph.hpp"
#include "pynference/device/stream.hpp"
#include "pynference/kernels/image.hpp"

namespace pyn {

class Engine {
 public:
  Engine() = default;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  Engine(Engine&&) = delete;
  Engine& operator=(Engine&&) = delete;
  virtual ~Engine() = default;

  [[nodiscard]] virtual std::string name() const = 0;
  // The element type of both the input and the output tensor.
  [[nodiscard]] virtual DType dtype() const = 0;
  // Throws UsageError when the engine cannot take this input.
  [[nodiscard]] virtual TensorShape output_shape(const TensorShape& input) const = 0;
  // Called once before the first frame for every stream the pipeline will run the engine on, from
  // the thread that will run it there (LibTorch keeps per-thread state that a warm-up must fill),
  // so per-stream state (workspaces, warm-up, calibration) stays out of the per-frame path. Calls
  // for different streams never overlap.
  virtual void prepare(Stream& stream, const TensorShape& input) = 0;
  // Enqueue one inference on `stream`. Safe to call concurrently on different streams.
  virtual void run(Stream& stream, const TensorView& in, const TensorView& out) = 0;
  // Captures `enqueue` — the pipeline's work for one frame on `stream`: its own kernels around one
  // run(stream, ...) with fixed tensors — into a graph that does that work again at each launch on
  // `stream`. Called after prepare(stream), from the thread that prepared it, while nothing else
  // uses `stream`. The engine makes the capture safe for itself: memory it takes during the capture
  // must stay the graph's for as long as the graph lives, and the graph may be launched only while
  // the engine lives (it uses the engine's weights). The default, a plain stream capture, is
  // right for an engine that allocates nothing and keeps no host-side state per run. Throws
  // UsageError where the engine cannot be captured, saying why, and on the host backend.
  [[nodiscard]] virtual Graph capture(Stream& stream, const std::function<void()>& enqueue) {
    return capture_graph(stream, enqueue);
  }
  // Device memory the engine holds beyond the pipeline's buffers.
  [[nodiscard]] virtual std::size_t workspace_bytes() const { return 0; }
  // Gives back to the device what the engine keeps cached but no longer uses (a caching
  // allocator's free blocks, left by runs on streams that are gone); what it holds for its
  // weights, and for graphs that live, stays. Called between Processors, while no run is in flight.
  virtual void release_cached_memory() {}
};

}  // namespace pyn
