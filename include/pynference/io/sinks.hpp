#pragma once
// Sinks that keep no frames: for benchmarks (NullSink), for comparing strategies (HashSink) and for
// checking every frame against a reference (CheckingSink).

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "pynference/core/source.hpp"

namespace pyn {

class NullSink final : public Sink {
 public:
  void open(const FrameFormat& /*format*/) override {}
  void write(std::span<const std::byte> /*frame*/, const FrameInfo& /*info*/) override {}
};

// 64-bit FNV-1a of a byte range.
[[nodiscard]] std::uint64_t hash_bytes(std::span<const std::byte> bytes) noexcept;

// Keeps a hash of each frame, in the order frames arrive, and their indices.
class HashSink final : public Sink {
 public:
  void open(const FrameFormat& format) override { format_ = format; }
  void write(std::span<const std::byte> frame, const FrameInfo& info) override;

  [[nodiscard]] const std::vector<std::uint64_t>& hashes() const { return hashes_; }
  [[nodiscard]] const std::vector<std::int64_t>& indices() const { return indices_; }
  [[nodiscard]] const FrameFormat& format() const { return format_; }

 private:
  FrameFormat format_;
  std::vector<std::uint64_t> hashes_;
  std::vector<std::int64_t> indices_;
};

// Compares every frame with reference(index); throws on the first difference, naming the frame,
// the byte and both values.
class CheckingSink final : public Sink {
 public:
  using Reference = std::function<std::vector<std::byte>(std::int64_t)>;
  explicit CheckingSink(Reference reference) : reference_(std::move(reference)) {}

  void open(const FrameFormat& /*format*/) override {}
  void write(std::span<const std::byte> frame, const FrameInfo& info) override;
  [[nodiscard]] std::int64_t checked() const { return checked_; }

 private:
  Reference reference_;
  std::int64_t checked_ = 0;
};

}  // namespace pyn
