#pragma once
// Where frames come from and where they go. Both work directly in the pipeline's host slots (pinned
// memory where the strategy uses it), so no frame is copied in user space on its way to the GPU;
// a source whose frames already lie in memory of its own (a hardware decoder's device frames)
// lends them instead, and a sink that takes device frames gets them where they were computed.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "pynference/core/frame.hpp"
#include "pynference/core/frame_format.hpp"
#include "pynference/core/view.hpp"

namespace pyn {

class Source {
 public:
  Source() = default;
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;
  Source(Source&&) = delete;
  Source& operator=(Source&&) = delete;
  virtual ~Source() = default;

  [[nodiscard]] virtual FrameFormat format() const = 0;
  // Frames to come, where known.
  [[nodiscard]] virtual std::optional<std::int64_t> frame_count() const { return std::nullopt; }
  // Called for each new host slot before its first frame (a run may give a slot new buffers once,
  // after its first frames): a source may lay down what all frames share.
  virtual void prime(std::span<std::byte> /*slot*/) {}
  // Fill `slot` (bytes_of(format()) long) with frame `frame.index`, and set what else the source
  // knows of it (its time); false at the end of the stream. Called from one thread at a time, with
  // indices 0, 1, 2, ... in order.
  virtual bool read(std::span<std::byte> slot, FrameInfo& frame) = 0;

  // Lending, for sources with frames of their own. Where lends() names the memory they lie in,
  // read() is not called: lend() gives frame `frame.index` as planes with their pitches (laid out
  // as core/view.hpp says for format(); a decoder's padded rows need no copy), or nothing at the
  // end, and keeps it valid and unchanged until give_back(frame.index).
  // give_back() may come from another thread than lend() and in any order. A frame in device
  // memory is not uploaded. A lend() that waits for frames to come back (a decoder's surface pool)
  // must end when stop_lending() is called: the run failed, and what is in flight is not given
  // back.
  [[nodiscard]] virtual std::optional<Memory> lends() const { return std::nullopt; }
  virtual std::optional<FramePlanes> lend(FrameInfo& /*frame*/) { return std::nullopt; }
  virtual void give_back(std::int64_t /*index*/) {}
  virtual void stop_lending() noexcept {}
};

class Sink {
 public:
  Sink() = default;
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;
  Sink(Sink&&) = delete;
  Sink& operator=(Sink&&) = delete;
  virtual ~Sink() = default;

  // Called once before the first frame with the output format.
  virtual void open(const FrameFormat& format) = 0;
  // Frames arrive in input order, from one thread at a time, each with what its source said of it.
  virtual void write(std::span<const std::byte> frame, const FrameInfo& info) = 0;
  // True for a sink that takes frames in device memory (an encoder on the GPU): write() then gets
  // each frame where it was computed, on the device, its work done, and no download is made.
  [[nodiscard]] virtual bool takes_device_frames() const { return false; }
  // After the last frame of a run that did not fail.
  virtual void close() {}
};

}  // namespace pyn
