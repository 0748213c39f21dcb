#pragma once
// CUDA graphs: work captured once from a stream (kernels, copies, with their arguments and
// buffers fixed) and launched again as one unit, which costs one launch on the host instead of
// one per kernel. The host backend has none.

#include <functional>
#include <memory>

#include "pynference/device/stream.hpp"

namespace pyn {

// A move-only owner of one executable graph.
class Graph {
 public:
  // What stands behind the handle: the cuda backend's plain stream capture, or an engine's own
  // capture (the torch engine captures through LibTorch, so that the memory its allocator hands
  // out during the capture stays the graph's own).
  class Impl {
   public:
    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    virtual ~Impl() = default;
    // Enqueues one replay on `stream`, a cuda stream of the device the graph was captured on.
    virtual void launch(Stream& stream) = 0;
  };

  Graph() noexcept;
  explicit Graph(std::unique_ptr<Impl> impl);
  Graph(Graph&&) noexcept;
  Graph& operator=(Graph&&) noexcept;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  ~Graph();

  // Enqueues the captured work on `stream`; returns at once. Replays on one stream run in order;
  // the caller must not replay one graph on two streams at once (it reads and writes the same
  // buffers each time).
  void launch(Stream& stream);
  [[nodiscard]] explicit operator bool() const noexcept { return impl_ != nullptr; }

 private:
  std::unique_ptr<Impl> impl_;
};

// Captures the work `enqueue` issues on `stream` into an executable graph; nothing of it runs
// during the capture. `enqueue` must only enqueue (no synchronisation, no allocation through the
// runtime) and must not use `stream` from another thread meanwhile. If it throws, the capture is
// ended and dropped, the stream is usable again, and the exception passes on. Throws UsageError
// on the host backend: "--cuda-graph needs a CUDA device".
[[nodiscard]] Graph capture_graph(Stream& stream, const std::function<void()>& enqueue);

}  // namespace pyn
