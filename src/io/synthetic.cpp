#include "pynference/io/synthetic.hpp"

#include <cstring>

#include "pynference/device/error.hpp"

namespace pyn {

namespace {

// splitmix64: a fast, well-mixed function of position, so patterns have no structure to hide bugs.
constexpr std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9E37'79B9'7F4A'7C15ULL;
  x = (x ^ (x >> 30U)) * 0xBF58'476D'1CE4'E5B9ULL;
  x = (x ^ (x >> 27U)) * 0x94D0'49BB'1331'11EBULL;
  return x ^ (x >> 31U);
}

void fill_words(std::span<std::byte> bytes, std::uint64_t seed) {
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    const std::uint64_t word = mix(seed ^ i);
    std::memcpy(bytes.data() + i, &word, 8);
  }
  const std::uint64_t tail = mix(seed ^ i);
  std::memcpy(bytes.data() + i, &tail, bytes.size() - i);
}

constexpr std::uint64_t kPatternSeed = 0x5EED'F00D'CAFE'0001ULL;

// 10-bit samples keep their top six bits zero, as a decoder would give them.
void legalize(std::span<std::byte> bytes, const FrameFormat& format) {
  const auto* yuv = std::get_if<YuvDesc>(&format);
  if (yuv == nullptr || yuv->bits <= 8) {
    return;
  }
  const auto mask = static_cast<std::byte>((1U << (yuv->bits - 8)) - 1);
  for (std::size_t i = 1; i < bytes.size(); i += 2) {
    bytes[i] &= mask;
  }
}

// The bytes a frame's stamp covers: its first row (of luma, for YUV).
std::size_t stamp_bytes(const FrameFormat& format) {
  if (const auto* image = std::get_if<ImageDesc>(&format)) {
    return image->row_bytes();
  }
  const auto& yuv = std::get<YuvDesc>(format);
  return static_cast<std::size_t>(yuv.width) * yuv.sample_bytes();
}

}  // namespace

SyntheticSource::SyntheticSource(FrameFormat format, std::int64_t frames)
    : format_(format), frames_(frames) {
  const int width = width_of(format);
  const int height = height_of(format);
  if (width < 1 || height < 1 || width > 16384 || height > 16384) {
    throw UsageError("synthetic frames must be 1x1 to 16384x16384, got " + std::to_string(width) +
                     "x" + std::to_string(height));
  }
  if (const auto* yuv = std::get_if<YuvDesc>(&format); yuv != nullptr && yuv->bits != 8 && yuv->bits != 10) {
    throw UsageError("synthetic YUV frames are 8 or 10 bit, not " + std::to_string(yuv->bits));
  }
  if (frames < 0) {
    throw UsageError("frame count must not be negative");
  }
}

void SyntheticSource::prime(std::span<std::byte> slot) {
  const std::span<std::byte> frame = slot.subspan(0, bytes_of(format_));
  fill_words(frame, kPatternSeed);
  legalize(frame, format_);
}

bool SyntheticSource::read(std::span<std::byte> slot, FrameInfo& info) {
  const std::int64_t index = info.index;
  if (index >= frames_) {
    return false;
  }
  const std::span<std::byte> stamp = slot.subspan(0, stamp_bytes(format_));
  fill_words(stamp, mix(static_cast<std::uint64_t>(index)));
  legalize(stamp, format_);
  return true;
}

void SyntheticSource::render(std::span<std::byte> frame, std::int64_t index) const {
  const std::span<std::byte> whole = frame.subspan(0, bytes_of(format_));
  fill_words(whole, kPatternSeed);
  legalize(whole, format_);
  const std::span<std::byte> stamp = frame.subspan(0, stamp_bytes(format_));
  fill_words(stamp, mix(static_cast<std::uint64_t>(index)));
  legalize(stamp, format_);
}

}  // namespace pyn
