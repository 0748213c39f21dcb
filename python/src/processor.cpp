// pynference._core.Processor: one device's Processor driven through its per-frame face from Python.
// put() copies a numpy frame into a free slot and submits it under the next frame number (a
// ticket); take(ticket) waits for that frame and returns its output as a new numpy array. The
// Python part (pynference.Processor) builds proc(frame) and proc.map(frames) on these two. The GIL
// is released while C++ copies, computes or waits.
//
// The engine and the Processor are made for the first frame's format and again when a frame of
// another format comes while no frame is in flight.

#include "pynference/pipeline/processor.hpp"

#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "bindings.hpp"
#include "pynference/core/error.hpp"
#include "pynference/device/device.hpp"
#include "pynference/engine/model.hpp"
#include "pynference/pipeline/options.hpp"

namespace nb = nanobind;

namespace pyn::python {

namespace {

using Frame = nb::ndarray<nb::c_contig, nb::device::cpu>;

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

std::string shape_text(const Frame& frame) {
  std::string text = "(";
  for (std::size_t i = 0; i < frame.ndim(); ++i) {
    text += (i > 0 ? ", " : "") + std::to_string(frame.shape(i));
  }
  return text + (frame.ndim() == 1 ? ",)" : ")");
}

// The frame's format: H x W x 3, uint8 or uint16, RGB; UsageError in the caller's words otherwise.
ImageDesc format_of(const Frame& frame) {
  const bool u8 = frame.dtype() == nb::dtype<std::uint8_t>();
  const bool u16 = frame.dtype() == nb::dtype<std::uint16_t>();
  if (frame.ndim() != 3 || frame.shape(2) != 3 || frame.shape(0) < 1 || frame.shape(1) < 1 ||
      (!u8 && !u16)) {
    const nb::dlpack::dtype t = frame.dtype();
    const char* kind = t.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::UInt)  ? "uint"
                       : t.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::Int) ? "int"
                       : t.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::Float)
                           ? "float"
                           : "dtype";
    throw UsageError(
        "a frame is an array of shape (height, width, 3) of uint8 or uint16 (RGB), got shape " +
        shape_text(frame) + " of " + kind + std::to_string(t.bits));
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
  }

  // The frame's ticket; or, without `wait`, -1 where no slot is free or where `frame` is of another
  // format than the frames in flight (the Processor is remade for it once none is).
  std::int64_t put(const Frame& frame, bool wait) {
    const ImageDesc format = format_of(frame);
    nb::gil_scoped_release release;
    std::unique_lock lock(mutex_);
    while (!processor_ || format_ != format) {
      if (pending_.empty()) {
        rebuild(format);
        break;
      }
      if (!wait) {
        return -1;
      }
      freed_.wait(lock);
    }
    Processor::Slot* slot = nullptr;
    while ((slot = processor_->acquire()) == nullptr) {
      if (!wait) {
        return -1;
      }
      freed_.wait(lock);
    }
    const std::int64_t ticket = next_frame_++;
    pending_.emplace(ticket, slot);
    lock.unlock();
    try {
      std::memcpy(Processor::input(*slot).data(), frame.data(), processor_->input_bytes());
      processor_->submit(*slot, ticket);
    } catch (...) {
      forget(ticket, *slot);
      throw;
    }
    return ticket;
  }

  nb::object take(std::int64_t ticket) {
    std::size_t bytes = 0;
    ImageDesc out{};
    std::unique_ptr<std::byte[]> data;
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
        const std::span<const std::byte> output = processor_->output(*slot);
        bytes = output.size();
        out = std::get<ImageDesc>(processor_->output_format());
        data.reset(new std::byte[bytes]);
        std::memcpy(data.get(), output.data(), bytes);
      } catch (...) {
        forget(ticket, *slot);
        throw;
      }
      forget(ticket, *slot);
    }
    std::byte* raw = data.release();
    nb::capsule owner(raw, [](void* p) noexcept { delete[] static_cast<std::byte*>(p); });
    const nb::dlpack::dtype type =
        out.pixel == PixelType::u8 ? nb::dtype<std::uint8_t>() : nb::dtype<std::uint16_t>();
    const std::size_t shape[3] = {static_cast<std::size_t>(out.height),
                                  static_cast<std::size_t>(out.width), 3};
    return nb::cast(nb::ndarray<nb::numpy>(raw, 3, shape, owner, nullptr, type));
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
  }

 private:
  void forget(std::int64_t ticket, Processor::Slot& slot) {
    {
      std::lock_guard lock(mutex_);
      pending_.erase(ticket);
      processor_->release(slot);
    }
    freed_.notify_all();
  }

  // Under mutex_, with no frame in flight.
  void rebuild(const ImageDesc& format) {
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
};

}  // namespace

void bind_processor(nb::module_& m) {
  nb::class_<PyProcessor>(m, "Processor")
      .def(nb::init<const std::string&, const std::string&, const std::optional<std::string>&,
                    const std::string&, std::optional<int>, std::optional<int>>(),
           nb::arg("model"), nb::arg("device"), nb::arg("dtype").none(), nb::arg("strategy"),
           nb::arg("lanes").none(), nb::arg("slots").none())
      .def("put", &PyProcessor::put, nb::arg("frame"), nb::arg("wait"))
      .def("take", &PyProcessor::take, nb::arg("ticket"))
      .def("in_flight", &PyProcessor::in_flight)
      .def("close", &PyProcessor::close, nb::call_guard<nb::gil_scoped_release>())
      .def_prop_ro("device", &PyProcessor::device_name)
      .def_prop_ro("engine", &PyProcessor::engine_name)
      .def_prop_ro("lanes", &PyProcessor::lanes)
      .def_prop_ro("slots", &PyProcessor::slots);
}

}  // namespace pyn::python
