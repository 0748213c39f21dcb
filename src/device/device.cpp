// The handles of the device layer: each forwards to the backend that made it.

#include "pynference/device/device.hpp"

#include <charconv>
#include <string>
#include <utility>

#include "backend.hpp"
#include "pynference/device/error.hpp"

namespace pyn {

std::string_view to_string(Backend backend) noexcept {
  return backend == Backend::cuda ? "cuda" : "host";
}

std::string_view to_string(HostMemory kind) noexcept {
  switch (kind) {
    case HostMemory::pageable:
      return "pageable";
    case HostMemory::pinned:
      return "pinned";
    case HostMemory::pinned_write_combined:
      return "pinned-write-combined";
  }
  return "?";
}

DeviceSpec DeviceSpec::parse(std::string_view text) {
  if (text == "cpu" || text == "host") {
    return {Backend::host, 0};
  }
  if (text == "cuda") {
    return {Backend::cuda, 0};
  }
  constexpr std::string_view prefix = "cuda:";
  if (text.starts_with(prefix)) {
    const std::string_view digits = text.substr(prefix.size());
    int index = -1;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (ec == std::errc{} && end == digits.data() + digits.size() && index >= 0 &&
        !digits.empty()) {
      return {Backend::cuda, index};
    }
  }
  throw UsageError("bad device '" + std::string(text) + "': expected cpu, cuda or cuda:N");
}

std::string DeviceSpec::str() const {
  return backend == Backend::host ? std::string("cpu") : "cuda:" + std::to_string(index);
}

// --- Device ---------------------------------------------------------------------------------

Device::Device(std::shared_ptr<detail::DeviceImpl> impl) : impl_(std::move(impl)) {}

Device Device::open(const DeviceSpec& spec) {
  if (spec.backend == Backend::host) {
    return Device(detail::open_host_device());
  }
  return Device(detail::open_cuda_device(spec.index));
}

int Device::cuda_device_count() noexcept { return detail::cuda_device_count(); }

Backend Device::backend() const { return impl_->info().backend; }
const DeviceInfo& Device::info() const { return impl_->info(); }
void Device::bind_thread() const { impl_->bind_thread(); }

DeviceGuard::DeviceGuard(const Device& device)
    : impl_(device.impl_), previous_(impl_->make_current()) {}
DeviceGuard::~DeviceGuard() { impl_->restore_current(previous_); }
Stream Device::make_stream() const { return Stream(impl_->make_stream()); }
Event Device::make_event(bool timing) const { return Event(impl_->make_event(timing)); }

DeviceBuffer Device::alloc(std::size_t bytes) const {
  void* data = impl_->alloc_device(bytes);
  impl_->count_alloc(bytes);
  return {impl_, data, bytes};
}

HostBuffer Device::alloc_host(std::size_t bytes, HostMemory kind) const {
  return {impl_, impl_->alloc_host(bytes, kind), bytes, kind};
}

void Device::synchronize() const { impl_->synchronize(); }
MemoryStats Device::memory() const { return impl_->memory(); }
void Device::reset_peak() const { impl_->reset_peak(); }
std::size_t Device::used_on_device() const { return impl_->used_on_device(); }

// --- accounting -----------------------------------------------------------------------------

namespace detail {

void DeviceImpl::count_alloc(std::size_t bytes) noexcept {
  const std::size_t now = allocated_.fetch_add(bytes) + bytes;
  std::size_t peak = peak_.load();
  while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
  }
}

void DeviceImpl::count_free(std::size_t bytes) noexcept { allocated_.fetch_sub(bytes); }

MemoryStats DeviceImpl::memory() const noexcept { return {allocated_.load(), peak_.load()}; }

void DeviceImpl::reset_peak() noexcept { peak_.store(allocated_.load()); }

}  // namespace detail

// --- buffers --------------------------------------------------------------------------------

DeviceBuffer::DeviceBuffer(std::shared_ptr<detail::DeviceImpl> device, void* data,
                           std::size_t bytes) noexcept
    : device_(std::move(device)), data_(data), bytes_(bytes) {}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : device_(std::move(other.device_)),
      data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    reset();
    device_ = std::move(other.device_);
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

DeviceBuffer::~DeviceBuffer() { reset(); }

void DeviceBuffer::reset() noexcept {
  if (data_ != nullptr) {
    device_->free_device(data_);
    device_->count_free(bytes_);
  }
  data_ = nullptr;
  bytes_ = 0;
  device_.reset();
}

HostBuffer::HostBuffer(std::shared_ptr<detail::DeviceImpl> device, void* data, std::size_t bytes,
                       HostMemory kind) noexcept
    : device_(std::move(device)), data_(data), bytes_(bytes), kind_(kind) {}

HostBuffer::HostBuffer(HostBuffer&& other) noexcept
    : device_(std::move(other.device_)),
      data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      kind_(other.kind_) {}

HostBuffer& HostBuffer::operator=(HostBuffer&& other) noexcept {
  if (this != &other) {
    reset();
    device_ = std::move(other.device_);
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    kind_ = other.kind_;
  }
  return *this;
}

HostBuffer::~HostBuffer() { reset(); }

void HostBuffer::reset() noexcept {
  if (data_ != nullptr) {
    device_->free_host(data_, kind_);
  }
  data_ = nullptr;
  bytes_ = 0;
  device_.reset();
}

// --- streams and events ---------------------------------------------------------------------

Stream::Stream() noexcept = default;
Stream::Stream(std::unique_ptr<detail::StreamImpl> impl) : impl_(std::move(impl)) {}
Stream::Stream(Stream&&) noexcept = default;
Stream& Stream::operator=(Stream&&) noexcept = default;
Stream::~Stream() = default;

Backend Stream::backend() const { return impl_->backend(); }
void* Stream::native() const { return impl_->native(); }
void Stream::copy_async(void* dst, const void* src, std::size_t bytes) {
  impl_->copy_async(dst, src, bytes);
}
void Stream::copy_2d_async(void* dst, std::size_t dst_pitch, const void* src, std::size_t src_pitch,
                           std::size_t row_bytes, std::size_t rows) {
  if (row_bytes > dst_pitch || row_bytes > src_pitch) {
    throw UsageError("Stream::copy_2d_async: rows of " + std::to_string(row_bytes) +
                     " bytes do not fit pitches of " + std::to_string(src_pitch) + " and " +
                     std::to_string(dst_pitch));
  }
  if (rows > 0 && row_bytes > 0) {
    impl_->copy_2d_async(dst, dst_pitch, src, src_pitch, row_bytes, rows);
  }
}
void Stream::wait(const Event& event) { impl_->wait(event.impl()); }
void Stream::synchronize() { impl_->synchronize(); }
void Stream::enqueue(std::function<void()> fn) { impl_->enqueue(std::move(fn)); }

Event::Event() noexcept = default;
Event::Event(std::unique_ptr<detail::EventImpl> impl) : impl_(std::move(impl)) {}
Event::Event(Event&&) noexcept = default;
Event& Event::operator=(Event&&) noexcept = default;
Event::~Event() = default;

void Event::record(Stream& stream) { impl_->record(stream.impl()); }
void Event::synchronize() const { impl_->synchronize(); }
bool Event::ready() const { return impl_->ready(); }
float Event::elapsed_ms(const Event& start, const Event& end) {
  return end.impl().elapsed_ms_since(start.impl());
}

// --- graphs -----------------------------------------------------------------------------------

Graph::Graph() noexcept = default;
Graph::Graph(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Graph::Graph(Graph&&) noexcept = default;
Graph& Graph::operator=(Graph&&) noexcept = default;
Graph::~Graph() = default;

void Graph::launch(Stream& stream) {
  if (stream.backend() != Backend::cuda) {
    throw UsageError("CUDA graphs need a CUDA device, not the host backend");
  }
  if (!impl_) {
    throw Error("launch of an empty Graph (moved from, or never captured)");
  }
  impl_->launch(stream);
}

Graph capture_graph(Stream& stream, const std::function<void()>& enqueue) {
  return Graph(stream.impl().capture(enqueue));
}

}  // namespace pyn
