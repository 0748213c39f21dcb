#include "pynference/io/sinks.hpp"

#include <string>

#include "pynference/device/error.hpp"

namespace pyn {

std::uint64_t hash_bytes(std::span<const std::byte> bytes) noexcept {
  std::uint64_t hash = 0xCBF2'9CE4'8422'2325ULL;
  for (std::byte b : bytes) {
    hash = (hash ^ static_cast<std::uint64_t>(b)) * 0x0000'0100'0000'01B3ULL;
  }
  return hash;
}

void HashSink::write(std::span<const std::byte> frame, const FrameInfo& info) {
  const std::int64_t index = info.index;
  hashes_.push_back(hash_bytes(frame));
  indices_.push_back(index);
}

void CheckingSink::write(std::span<const std::byte> frame, const FrameInfo& info) {
  const std::int64_t index = info.index;
  const std::vector<std::byte> expected = reference_(index);
  if (expected.size() != frame.size()) {
    throw Error("frame " + std::to_string(index) + " has " + std::to_string(frame.size()) +
                " bytes, expected " + std::to_string(expected.size()));
  }
  for (std::size_t i = 0; i < frame.size(); ++i) {
    if (frame[i] != expected[i]) {
      throw Error("frame " + std::to_string(index) + " differs from the reference at byte " +
                  std::to_string(i) + ": " + std::to_string(static_cast<int>(frame[i])) + " instead of " +
                  std::to_string(static_cast<int>(expected[i])));
    }
  }
  ++checked_;
}

}  // namespace pyn
