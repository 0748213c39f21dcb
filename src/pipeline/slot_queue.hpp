#pragma once
// A bounded, closable FIFO of slot pointers between two stages. Its capacity is the slot count, so
// push never waits; pop waits for an item, or returns nullptr once the queue is closed and empty,
// or at once after cancel(). It never allocates after construction.

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace pyn::detail {

template <class T>
class SlotQueue {
 public:
  explicit SlotQueue(std::size_t capacity) : ring_(capacity) {}

  void push(T* item) {
    {
      const std::lock_guard lock(mutex_);
      if (cancelled_) {
        return;
      }
      if (size_ == ring_.size()) {
        throw std::logic_error("slot queue overflow: a slot was queued twice");
      }
      ring_[(head_ + size_) % ring_.size()] = item;
      ++size_;
    }
    ready_.notify_one();
  }

  T* pop() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return size_ > 0 || closed_ || cancelled_; });
    if (cancelled_ || size_ == 0) {
      return nullptr;
    }
    T* item = ring_[head_];
    head_ = (head_ + 1) % ring_.size();
    --size_;
    return item;
  }

  // No more pushes will come: consumers drain what is there, then get nullptr.
  void close() {
    {
      const std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
  }

  // The run failed: consumers get nullptr now, whatever is left.
  void cancel() {
    {
      const std::lock_guard lock(mutex_);
      cancelled_ = true;
    }
    ready_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::vector<T*> ring_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  bool closed_ = false;
  bool cancelled_ = false;
};

}  // namespace pyn::detail
