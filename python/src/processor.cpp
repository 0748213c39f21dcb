// pynference._core.Processor: one device's Processor driven through its per-frame face from Python.
// put() submits a frame under the next frame number (a ticket); take(ticket) waits for that frame
// and returns its output. The Python part (pynference.Processor) builds proc(frame) and
// proc.map(frames) on these two. The GIL is released while C++ copies, computes or waits.
//
// A frame is either copied into a free slot (numpy arrays: packed, in host memory) or lent: read
// where it lies, in the device's memory (a CUDA tensor; on the host backend, a CPU one), rows any
// pitch apart; its output then goes into a buffer the caller lends too (`out`), with no upload, no
// download and no copy. The caller keeps a lent frame and its out alive until take() returns. A
// lent frame's work waits for the join stream (join_stream: the caller makes it wait for its own,
// as DLPack's __dlpack__(stream=) does) at the point put() is called.
//
// The engine and the Processor are made for the first frame's format and again when a frame of
// another format comes while no frame is in flight.

#include "pynference/pipeline/processor.hpp"

#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "bindings.hpp"
#include "output_pool.hpp"
#include "pynference/core/error.hpp"
#include "pynference/device/device.hpp"
#include "pynference/engine/model.hpp"
#include "pynference/pipeline/options.hpp"

namespace nb = nanobind;

namespace pyn::python {

namespace {

// Any array: numpy, or what DLPack gives (torch, CuPy, JAX ...). Checked here, in the caller's
// words.
using Frame = nb::ndarray<nb::ro>;
using Output = nb::ndarray<>;

Device open_named_device(const std::string& name) {
  if (name == "auto") {
    return Device::open(
        DeviceSpec{Device::cuda_device_count() > 0 ? Backend::cuda : Backend::host, 0});
  }
  const DeviceSpec spec = DeviceSpec::parse(name);
  if (spec.backend == Backend::cuda && Device::cuda_device_count() == 0) {
    throw DeviceUnavailable(
        "device='" + name +
        "': no CUDA device on this machine (no NVIDIA GPU, or no working NVIDIA "
        "driver); use device='cpu' to run on the CPU");
  }
  return Device::open(spec);
}

template <typename Array>
std::string shape_text(const Array& frame) {
  std::string text = "(";
  for (std::size_t i = 0; i < frame.ndim(); ++i) {
    text += (i > 0 ? ", " : "") + std::to_string(frame.shape(i));
  }
  return text + (frame.ndim() == 1 ? ",)" : ")");
}

template <typename Array>
std::string dtype_text(const Array& frame) {
  const nb::dlpack::dtype t = frame.dtype();
  const char* kind = t.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::UInt)    ? "uint"
                     : t.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::Int)   ? "int"
                     : t.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::Float) ? "float"
                     : t.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::Bool)  ? "bool"
                                                                                          : "dtype";
  return kind + std::to_string(t.bits);
}

template <typename Array>
std::string strides_text(const Array& frame) {
  std::string text = "(";
  for (std::size_t i = 0; i < frame.ndim(); ++i) {
    text += (i > 0 ? ", " : "") + std::to_string(frame.stride(i));
  }
  return text + (frame.ndim() == 1 ? ",)" : ")");
}

// Where an array lies, in the words of device=: "cpu", "cuda:N", or DLPack's device type.
template <typename Array>
std::string device_text(const Array& frame) {
  if (frame.device_type() == nb::device::cpu::value) {
    return "cpu";
  }
  if (frame.device_type() == nb::device::cuda::value) {
    return "cuda:" + std::to_string(frame.device_id());
  }
  return "DLPack device type " + std::to_string(frame.device_type());
}

// The frame's format: H x W x 3, uint8 or uint16, RGB; UsageError in the caller's words otherwise.
ImageDesc format_of(const Frame& frame) {
  const bool u8 = frame.dtype() == nb::dtype<std::uint8_t>();
  const bool u16 = frame.dtype() == nb::dtype<std::uint16_t>();
  if (frame.ndim() != 3 || frame.shape(2) != 3 || frame.shape(0) < 1 || frame.shape(1) < 1 ||
      (!u8 && !u16)) {
    throw UsageError(
        "a frame is an array of shape (height, width, 3) of uint8 or uint16 (RGB), got shape " +
        shape_text(frame) + " of " + dtype_text(frame));
  }
  if (frame.shape(0) > 65536 || frame.shape(1) > 65536) {
    throw UsageError("a frame of " + shape_text(frame) + " is larger than 65536 pixels a side");
  }
  return ImageDesc{static_cast<int>(frame.shape(1)), static_cast<int>(frame.shape(0)),
                   u8 ? PixelType::u8 : PixelType::u16, ChannelOrder::rgb};
}

class PyProcessor {
 public:
  PyProcessor(const std::string& model, const std::string& device,
              const std::optional<std::string>& dtype, const std::string& strategy,
              std::optional<int> lanes, std::optional<int> slots)
      : device_(open_named_device(device)) {
    request_.model = model;
    if (dtype) {
      request_.dtype = parse_dtype(*dtype);
    }
    const std::vector<Strategy> strategies = parse_strategies(strategy);
    if (strategies.size() != 1 || strategy.find(',') != std::string::npos || strategy == "all") {
      throw UsageError("strategy takes one strategy, got '" + strategy + "'");
    }
    // The Processor has no schedule of its own (the caller's loop is one): the strategy picks what
    // its schedule of that name would use, host memory, lanes and frames in flight.
    PipelineOptions pipeline;
    pipeline.strategy = strategies.front();
    const bool serial = pipeline.strategy == Strategy::serial_pageable ||
                        pipeline.strategy == Strategy::serial_pinned;
    options_.host_memory =
        pipeline.strategy == Strategy::serial_pageable ? HostMemory::pageable : HostMemory::pinned;
    options_.lanes = pipeline.strategy == Strategy::worker_streams  ? pipeline.workers
                     : pipeline.strategy == Strategy::multi_compute ? pipeline.compute_streams
                                                                    : 1;
    options_.slots = default_slots(pipeline);
    // Copies on streams of their own, as those two schedules have them. On one lane's stream a
    // frame's upload, compute and download run one after another: numpy frames went at 0.86 of
    // the bench's rate on a GPU machine, about what those three in a row take.
    options_.copy_streams = pipeline.strategy == Strategy::split_streams ||
                            pipeline.strategy == Strategy::multi_compute;
    if (lanes) {
      if (*lanes < 1 || *lanes > 64) {
        throw UsageError("lanes must be from 1 to 64, got " + std::to_string(*lanes));
      }
      options_.lanes = *lanes;
    }
    if (slots) {
      if (*slots < 1 || *slots > 1024) {
        throw UsageError("slots must be from 1 to 1024, got " + std::to_string(*slots));
      }
      options_.slots = *slots;
    } else if (serial) {
      options_.slots = 1;
    }
    if (device_.info().backend == Backend::cuda) {
      join_ = device_.make_stream();
      ready_.reserve(static_cast<std::size_t>(options_.slots));
      for (int i = 0; i < options_.slots; ++i) {
        ready_.push_back(device_.make_event(false));
      }
    }
    if (!model_needs_frame_size(model)) {
      nb::gil_scoped_release release;
      engine_ = open_model(device_, request_, 0, 0);
    }
  }

  PyProcessor(const PyProcessor&) = delete;
  PyProcessor& operator=(const PyProcessor&) = delete;

  ~PyProcessor() {
    nb::gil_scoped_release release;
    close();
    pool_->trim(true);
  }

  // The frame's ticket; or, without `wait`, -1 where no slot is free or where `frame` is of another
  // format than the frames in flight (the Processor is remade for it once none is). A frame that
  // is not lent is copied in, packed; a lent one is read where it lies, and its output is written
  // into `out` where given (else downloaded as a copied frame's is). `joined`: its work waits for
  // the join stream first.
  std::int64_t put(const Frame& frame, bool wait, bool lend, std::optional<Output> out,
                   bool joined) {
    const ImageDesc format = format_of(frame);
    const std::size_t pitch = lend ? lent_pitch(frame) : packed_pitch(frame);
    if (out && !lend) {
      throw UsageError("out is taken with a lent frame only");
    }
    if (joined && !join_) {
      throw UsageError("the host backend has no stream to join");
    }
    nb::gil_scoped_release release;
    std::unique_lock lock(mutex_);
    Processor::Slot* slot = nullptr;
    // Until a slot of a Processor for this format is free: while this waits for one, the frames in
    // flight may all end and another thread remake the Processor for another format.
    while (true) {
      if (!available(lock, format, wait)) {
        return -1;
      }
      if ((slot = processor_->acquire()) != nullptr) {
        break;
      }
      if (!wait) {
        return -1;
      }
      freed_.wait(lock);
    }
    if (out) {
      try {
        check_out(*out, frame);
      } catch (...) {
        processor_->release(*slot);
        lock.unlock();
        freed_.notify_all();
        throw;
      }
    }
    const std::int64_t ticket = next_frame_++;
    pending_.emplace(ticket, slot);
    lock.unlock();
    try {
      if (out) {
        slot->lent_output = static_cast<std::byte*>(out->data());
      }
      if (lend) {
        slot->lent =
            FramePlanes{Plane{static_cast<std::byte*>(const_cast<void*>(frame.data())), pitch},
                        Plane{}, Plane{}};
        slot->lent_memory = Memory::device;
      } else {
        std::memcpy(Processor::input(*slot).data(), frame.data(), processor_->input_bytes());
      }
      if (joined) {
        Event& ready = ready_[static_cast<std::size_t>(slot->index)];
        ready.record(join_);
        slot->lent_ready = &ready;
      }
      processor_->submit(*slot, ticket);
    } catch (...) {
      forget(ticket, *slot);
      throw;
    }
    ++submitted_;
    return ticket;
  }

  // The output's (height, width) for frames like `frame`, the Processor made for their format
  // (waiting until no frame of another is in flight).
  std::pair<int, int> prepare(const Frame& frame) {
    const ImageDesc format = format_of(frame);
    nb::gil_scoped_release release;
    std::unique_lock lock(mutex_);
    available(lock, format, true);
    const ImageDesc out = std::get<ImageDesc>(processor_->output_format());
    return {out.height, out.width};
  }

  // The output as a numpy array; None for a frame whose output went into its `out`.
  nb::object take(std::int64_t ticket) {
    ImageDesc out{};
    std::unique_ptr<PooledOutput> pooled;  // the slot's own buffer, where the pool gave another
    std::unique_ptr<std::byte[]> copied;   // else a copy
    {
      nb::gil_scoped_release release;
      Processor::Slot* slot = nullptr;
      {
        std::lock_guard lock(mutex_);
        const auto it = pending_.find(ticket);
        if (it == pending_.end() || it->second == nullptr) {
          throw UsageError("frame " + std::to_string(ticket) + " is not in flight");
        }
        slot = it->second;
        it->second = nullptr;  // taken: a second take of it is refused
      }
      try {
        processor_->wait(*slot);
        if (slot->lent_output == nullptr) {
          out = std::get<ImageDesc>(processor_->output_format());
          const std::span<const std::byte> output = processor_->output(*slot);
          std::optional<HostBuffer> fresh =
              output.data() == slot->out_host.data()
                  ? pool_->take(device_, output.size(), slot->out_host.kind(),
                                2 * static_cast<std::size_t>(options_.slots) + 2)
                  : std::nullopt;
          if (fresh) {
            pooled = std::make_unique<PooledOutput>(
                PooledOutput{pool_, std::exchange(slot->out_host, std::move(*fresh))});
          } else {
            copied.reset(new std::byte[output.size()]);
            std::memcpy(copied.get(), output.data(), output.size());
          }
        }
      } catch (...) {
        forget(ticket, *slot);
        throw;
      }
      forget(ticket, *slot);
    }
    if (!pooled && !copied) {
      return nb::none();
    }
    void* data = nullptr;
    nb::capsule owner;
    if (pooled) {
      data = pooled->buffer.data();
      owner = nb::capsule(pooled.release(), [](void* p) noexcept {
        auto* held = static_cast<PooledOutput*>(p);
        held->pool->give(std::move(held->buffer));
        delete held;
      });
    } else {
      data = copied.get();
      owner = nb::capsule(copied.release(),
                          [](void* p) noexcept { delete[] static_cast<std::byte*>(p); });
    }
    const nb::dlpack::dtype type =
        out.pixel == PixelType::u8 ? nb::dtype<std::uint8_t>() : nb::dtype<std::uint16_t>();
    const std::size_t shape[3] = {static_cast<std::size_t>(out.height),
                                  static_cast<std::size_t>(out.width), 3};
    return nb::cast(nb::ndarray<nb::numpy>(data, 3, shape, owner, nullptr, type));
  }

  // The join stream's cudaStream_t as an integer; None on the host backend.
  [[nodiscard]] std::optional<std::uintptr_t> join_stream() const {
    if (!join_) {
      return std::nullopt;
    }
    return reinterpret_cast<std::uintptr_t>(join_.native());
  }

  // Frames submitted, and frames copied host to device and back, since the Processor was made.
  [[nodiscard]] std::map<std::string, std::int64_t> stats() {
    std::lock_guard lock(mutex_);
    std::int64_t uploads = uploads_before_;
    std::int64_t downloads = downloads_before_;
    if (processor_) {
      uploads += processor_->uploads();
      downloads += processor_->downloads();
    }
    return {{"frames", submitted_.load()}, {"uploads", uploads}, {"downloads", downloads}};
  }

  [[nodiscard]] std::size_t in_flight() {
    std::lock_guard lock(mutex_);
    return pending_.size();
  }

  [[nodiscard]] std::string device_name() const {
    const DeviceInfo info = device_.info();
    return info.backend == Backend::host ? "cpu" : "cuda:" + std::to_string(info.index);
  }

  [[nodiscard]] std::optional<std::string> engine_name() {
    std::lock_guard lock(mutex_);
    return engine_ ? std::optional<std::string>(engine_->name()) : std::nullopt;
  }

  [[nodiscard]] int lanes() const { return options_.lanes; }
  [[nodiscard]] int slots() const { return options_.slots; }

  // Waits for the frames in flight and lets go of the Processor (the engine stays).
  void close() {
    std::unique_lock lock(mutex_);
    for (auto& [ticket, slot] : pending_) {
      if (slot != nullptr) {
        try {
          processor_->wait(*slot);
        } catch (const std::exception&) {  // closing: what failed was told to whoever took it
        }
        processor_->release(*slot);
      }
    }
    pending_.clear();
    processor_.reset();
    pool_->trim(false);
  }

 private:
  // Under mutex_: whether the Processor is one for `format`, remade for it where no frame is in
  // flight; with `wait`, waits for that.
  bool available(std::unique_lock<std::mutex>& lock, const ImageDesc& format, bool wait) {
    while (!processor_ || format_ != format) {
      if (pending_.empty()) {
        rebuild(format);
        break;
      }
      if (!wait) {
        return false;
      }
      freed_.wait(lock);
    }
    return true;
  }

  // A lent frame's row pitch in bytes: its rows may lie any distance apart (a crop of a wider
  // frame), its pixels must be packed; and it must lie on this Processor's device.
  [[nodiscard]] std::size_t lent_pitch(const Frame& frame) const {
    const DeviceInfo info = device_.info();
    const bool here = info.backend == Backend::host
                          ? frame.device_type() == nb::device::cpu::value
                          : frame.device_type() == nb::device::cuda::value &&
                                frame.device_id() == static_cast<std::int32_t>(info.index);
    if (!here) {
      throw UsageError("a frame on " + device_text(frame) + " is not on the Processor's device " +
                       device_name());
    }
    const auto width = static_cast<std::int64_t>(frame.shape(1));
    if ((frame.stride(2) != 1) || (width > 1 && frame.stride(1) != 3) ||
        (frame.shape(0) > 1 && frame.stride(0) < width * 3)) {
      throw UsageError(
          "a frame is read where it lies with its pixels packed (strides (pitch, 3, 1), "
          "pitch at least 3 * width), got strides " +
          strides_text(frame) + " for shape " + shape_text(frame) + "; .contiguous() makes one");
    }
    const std::int64_t row = frame.shape(0) > 1 ? frame.stride(0) : width * 3;
    return static_cast<std::size_t>(row) * frame.itemsize();
  }

  // A copied frame: packed in host memory (the Python part makes numpy arrays contiguous).
  [[nodiscard]] static std::size_t packed_pitch(const Frame& frame) {
    const auto width = static_cast<std::int64_t>(frame.shape(1));
    if (frame.device_type() != nb::device::cpu::value ||
        (frame.stride(2) != 1 || (width > 1 && frame.stride(1) != 3) ||
         (frame.shape(0) > 1 && frame.stride(0) != width * 3))) {
      throw UsageError("a copied frame is a contiguous array in host memory, got strides " +
                       strides_text(frame) + " on " + device_text(frame));
    }
    return static_cast<std::size_t>(width) * 3 * frame.itemsize();
  }

  // Under mutex_, with this format's Processor: `out` holds the output, packed, where `frame` is.
  void check_out(const Output& out, const Frame& frame) const {
    const ImageDesc want = std::get<ImageDesc>(processor_->output_format());
    const bool u8 = want.pixel == PixelType::u8;
    const bool fits =
        out.ndim() == 3 && out.shape(0) == static_cast<std::size_t>(want.height) &&
        out.shape(1) == static_cast<std::size_t>(want.width) && out.shape(2) == 3 &&
        out.dtype() == (u8 ? nb::dtype<std::uint8_t>() : nb::dtype<std::uint16_t>()) &&
        out.stride(2) == 1 && (want.width == 1 || out.stride(1) == 3) &&
        (want.height == 1 || out.stride(0) == static_cast<std::int64_t>(want.width) * 3) &&
        out.device_type() == frame.device_type() && out.device_id() == frame.device_id();
    if (!fits) {
      throw UsageError("out must be a contiguous array of shape (" + std::to_string(want.height) +
                       ", " + std::to_string(want.width) + ", 3) of " + (u8 ? "uint8" : "uint16") +
                       " on " + device_text(frame) + ", got shape " + shape_text(out) + " of " +
                       dtype_text(out) + " with strides " + strides_text(out) + " on " +
                       device_text(out));
    }
  }

  void forget(std::int64_t ticket, Processor::Slot& slot) {
    slot.lent.reset();
    slot.lent_memory = Memory::host;
    slot.lent_output = nullptr;
    slot.lent_ready = nullptr;
    {
      std::lock_guard lock(mutex_);
      pending_.erase(ticket);
      processor_->release(slot);
    }
    freed_.notify_all();
  }

  // Under mutex_, with no frame in flight.
  void rebuild(const ImageDesc& format) {
    if (processor_) {
      uploads_before_ += processor_->uploads();
      downloads_before_ += processor_->downloads();
    }
    processor_.reset();
    if (!engine_ || model_needs_frame_size(request_.model)) {
      engine_.reset();
      engine_ = open_model(device_, request_, format.width, format.height);
    }
    processor_ = std::make_unique<Processor>(device_, *engine_, format, options_);
    processor_->prepare_all();
    format_ = format;
  }

  Device device_;
  ModelRequest request_;
  ProcessorOptions options_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Processor> processor_;  // after the engine it uses: goes first
  ImageDesc format_{};
  // Frames in flight by ticket; null once a take() waits for it.
  std::map<std::int64_t, Processor::Slot*> pending_;
  std::int64_t next_frame_ = 0;
  std::atomic<std::int64_t> submitted_{0};
  std::int64_t uploads_before_ = 0;  // of the Processors made before this one
  std::int64_t downloads_before_ = 0;
  // The stream lent frames' work waits for (cuda backend), and one event of it per slot.
  Stream join_;
  std::vector<Event> ready_;
  std::shared_ptr<OutputPool> pool_ = std::make_shared<OutputPool>();
};

}  // namespace

void bind_processor(nb::module_& m) {
  nb::class_<PyProcessor>(m, "Processor")
      .def(nb::init<const std::string&, const std::string&, const std::optional<std::string>&,
                    const std::string&, std::optional<int>, std::optional<int>>(),
           nb::arg("model"), nb::arg("device"), nb::arg("dtype").none(), nb::arg("strategy"),
           nb::arg("lanes").none(), nb::arg("slots").none())
      .def("put", &PyProcessor::put, nb::arg("frame"), nb::arg("wait"), nb::arg("lend") = false,
           nb::arg("out").none() = nb::none(), nb::arg("joined") = false)
      .def("prepare", &PyProcessor::prepare, nb::arg("frame"))
      .def("take", &PyProcessor::take, nb::arg("ticket"))
      .def_prop_ro("join_stream", &PyProcessor::join_stream)
      .def_prop_ro("stats", &PyProcessor::stats)
      .def("in_flight", &PyProcessor::in_flight)
      .def("close", &PyProcessor::close, nb::call_guard<nb::gil_scoped_release>())
      .def_prop_ro("device", &PyProcessor::device_name)
      .def_prop_ro("engine", &PyProcessor::engine_name)
      .def_prop_ro("lanes", &PyProcessor::lanes)
      .def_prop_ro("slots", &PyProcessor::slots);
}

}  // namespace pyn::python
