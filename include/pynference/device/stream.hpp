#pragma once
// Streams and events: move-only owners of one GPU stream or event (or of their host-backend
// stand-ins: a worker thread with a task queue, and a completion flag with a timestamp).

#include <cstddef>
#include <functional>
#include <memory>

namespace pyn {

enum class Backend;

namespace detail {
class StreamImpl;
class EventImpl;
}  // namespace detail

class Event;

class Stream {
 public:
  Stream() noexcept;
  explicit Stream(std::unique_ptr<detail::StreamImpl> impl);
  Stream(Stream&&) noexcept;
  Stream& operator=(Stream&&) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream();

  [[nodiscard]] Backend backend() const;
  // cudaStream_t on the cuda backend, nullptr on the host backend.
  [[nodiscard]] void* native() const;

  // Copy between any two buffers of this device or host; returns before the copy is done.
  void copy_async(void* dst, const void* src, std::size_t bytes);
  // `rows` rows of `row_bytes` each, from rows `src_pitch` bytes apart to rows `dst_pitch` apart
  // (a pitched frame's plane into a packed one, or back). UsageError where a row exceeds a pitch.
  void copy_2d_async(void* dst, std::size_t dst_pitch, const void* src, std::size_t src_pitch,
                     std::size_t row_bytes, std::size_t rows);
  // Later work on this stream waits for the event's latest record.
  void wait(const Event& event);
  // Blocks until all work issued so far is done; rethrows a failure of that work.
  void synchronize();
  // Host backend only: run fn in stream order on the stream's worker thread.
  void enqueue(std::function<void()> fn);

  [[nodiscard]] detail::StreamImpl& impl() const { return *impl_; }
  [[nodiscard]] explicit operator bool() const noexcept { return impl_ != nullptr; }

 private:
  std::unique_ptr<detail::StreamImpl> impl_;
};

class Event {
 public:
  Event() noexcept;
  explicit Event(std::unique_ptr<detail::EventImpl> impl);
  Event(Event&&) noexcept;
  Event& operator=(Event&&) noexcept;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event();

  // Marks the point in the stream reached by all work issued so far.
  void record(Stream& stream);
  void synchronize() const;
  [[nodiscard]] bool ready() const;
  // Milliseconds from start to end; both must be complete and timing-enabled.
  [[nodiscard]] static float elapsed_ms(const Event& start, const Event& end);

  [[nodiscard]] detail::EventImpl& impl() const { return *impl_; }

 private:
  std::unique_ptr<detail::EventImpl> impl_;
};

}  // namespace pyn
