#include "output_pool.hpp"

#include <utility>

namespace pyn::python {

std::optional<HostBuffer> OutputPool::take(const Device& device, std::size_t bytes,
                                           HostMemory kind, std::size_t most) {
  {
    const std::lock_guard lock(mutex_);
    if (bytes != bytes_ || kind != kind_) {
      free_.clear();
      bytes_ = bytes;
      kind_ = kind;
    }
    if (!free_.empty()) {
      HostBuffer buffer = std::move(free_.back());
      free_.pop_back();
      ++out_;
      return buffer;
    }
    if (out_ >= most) {
      return std::nullopt;
    }
    ++out_;
  }
  try {
    return device.alloc_host(bytes, kind);
  } catch (...) {
    const std::lock_guard lock(mutex_);
    --out_;
    return std::nullopt;  // out of host memory: the result is a copy
  }
}

void OutputPool::give(HostBuffer buffer) noexcept {
  const std::lock_guard lock(mutex_);
  if (out_ > 0) {
    --out_;
  }
  if (buffer.size() == bytes_ && buffer.kind() == kind_ && !closed_) {
    free_.push_back(std::move(buffer));
  }
}

void OutputPool::trim(bool for_good) noexcept {
  const std::lock_guard lock(mutex_);
  closed_ = closed_ || for_good;
  free_.clear();
}

}  // namespace pyn::python
