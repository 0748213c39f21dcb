#include "pynference/io/synthetic.hpp"

#include <cstring>

#include "pynference/device/error.hpp"
#include "pynference/kernels/prepost.hpp"

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

}  // namespace

SyntheticSource::SyntheticSource(ImageDesc format, std::int64_t frames)
    : format_(format), frames_(frames) {
  if (format.width < 1 || format.height < 1 || format.width > 16384 || format.height > 16384) {
    throw UsageError("synthetic frames must be 1x1 to 16384x16384, got " + std::to_string(format.width) +
                     "x" + std::to_string(format.height));
  }
  if (frames < 0) {
    throw UsageError("frame count must not be negative");
  }
}

void SyntheticSource::prime(std::span<std::byte> slot) {
  fill_words(slot.subspan(0, format_.bytes()), kPatternSeed);
}

bool SyntheticSource::read(std::span<std::byte> slot, std::int64_t index) {
  if (index >= frames_) {
    return false;
  }
  fill_words(slot.subspan(0, format_.row_bytes()), mix(static_cast<std::uint64_t>(index)));
  return true;
}

void SyntheticSource::render(std::span<std::byte> frame, std::int64_t index) const {
  fill_words(frame.subspan(0, format_.bytes()), kPatternSeed);
  fill_words(frame.subspan(0, format_.row_bytes()), mix(static_cast<std::uint64_t>(index)));
}

std::vector<std::byte> expected_synthetic_output(const SyntheticSource& source, std::int64_t index,
                                                 DType dtype, int scale) {
  const ImageDesc in = source.format();
  const ImageDesc out{in.width * scale, in.height * scale, in.pixel, in.order};
  std::vector<std::byte> frame(in.bytes());
  source.render(frame, index);
  std::vector<std::byte> tensor_in(in.pixels() * 3 * bytes_of(dtype));
  std::vector<std::byte> tensor_out(out.pixels() * 3 * bytes_of(dtype));
  pre_cpu(in, frame.data(), dtype, tensor_in.data());
  synthetic_cpu(TensorView{tensor_in.data(), tensor_shape_of(in), dtype},
                TensorView{tensor_out.data(), tensor_shape_of(out), dtype}, scale);
  std::vector<std::byte> result(out.bytes());
  post_cpu(dtype, tensor_out.data(), out, result.data());
  return result;
}

}  // namespace pyn
