#pragma once
// The pool of host buffers that numpy results of pynference._core.Processor are made of.

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "pynference/device/device.hpp"

namespace pyn::python {

// The host buffers numpy results are made of. A result takes over its slot's output buffer, into
// which the frame was downloaded, and the slot gets another from here: the output reaches the
// caller's array with no copy (a copy into new memory per frame, page faults and all, ran at a
// third of the bench's rate on a GPU machine). An array hands its buffer back when it goes; buffers
// of an earlier output size, or beyond `most` kept, are freed instead.
class OutputPool {
 public:
  // A buffer of `bytes`: a free one, or a new one while fewer than `most` are out; nullopt beyond
  // that (the caller keeps many results: each is then a copy, so slots never wait on the caller).
  std::optional<HostBuffer> take(const Device& device, std::size_t bytes, HostMemory kind,
                                 std::size_t most);
  void give(HostBuffer buffer) noexcept;
  // Frees what is kept; with `for_good`, buffers still out are freed when their arrays go.
  void trim(bool for_good) noexcept;

 private:
  std::mutex mutex_;
  std::vector<HostBuffer> free_;
  std::size_t bytes_ = 0;
  HostMemory kind_ = HostMemory::pageable;
  std::size_t out_ = 0;  // buffers held by arrays
  bool closed_ = false;
};

// What a numpy result's capsule owns: its buffer, and the pool it goes back to.
struct PooledOutput {
  std::shared_ptr<OutputPool> pool;
  HostBuffer buffer;
};

}  // namespace pyn::python
