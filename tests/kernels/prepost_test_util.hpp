#pragma once
// What the pre/post tests share: seeded random frames and tensors, buffers with guard bytes, and
// the list of layouts every test walks through.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "pynference/kernels/float16.hpp"
#include "pynference/kernels/image.hpp"
#include "pynference/kernels/prepost.hpp"

namespace pyn::test {

// Fresh data every run; PYN_TEST_SEED=<n> replays a failing one. Tests put the seed into their
// failure messages with SCOPED_TRACE(rng.trace()).
class Rng {
 public:
  Rng() : seed_(initial_seed()), engine_(seed_) {}
  [[nodiscard]] std::string trace() const {
    return "seed " + std::to_string(seed_) + " (rerun with PYN_TEST_SEED=" + std::to_string(seed_) +
           ")";
  }
  std::mt19937& engine() { return engine_; }
  std::uint32_t next() { return static_cast<std::uint32_t>(engine_()); }
  int uniform_int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(engine_); }
  float uniform(float lo, float hi) {
    return std::uniform_real_distribution<float>(lo, hi)(engine_);
  }

 private:
  static std::uint32_t initial_seed() {
    if (const char* text = std::getenv("PYN_TEST_SEED")) {
      return static_cast<std::uint32_t>(std::stoul(text));
    }
    return std::random_device{}();
  }
  std::uint32_t seed_;
  std::mt19937 engine_;
};

inline std::string name_of(const ImageDesc& image) {
  return std::to_string(image.width) + "x" + std::to_string(image.height) + " " +
         std::string(to_string(image.pixel)) + " " + std::string(to_string(image.order));
}

inline std::size_t tensor_bytes(const ImageDesc& image, DType dtype) {
  return tensor_shape_of(image).elements() * bytes_of(dtype);
}

// Host memory with 64 patterned guard bytes before and after the payload, which stays 16-byte
// aligned (operator new aligns the vector).
class Guarded {
 public:
  static constexpr std::size_t guard = 64;
  static constexpr unsigned char pattern = 0xA5;

  explicit Guarded(std::size_t bytes) : bytes_(bytes), storage_(bytes + 2 * guard, pattern) {}
  [[nodiscard]] void* data() { return storage_.data() + guard; }
  [[nodiscard]] const void* data() const { return storage_.data() + guard; }
  [[nodiscard]] std::size_t size() const { return bytes_; }
  [[nodiscard]] std::vector<unsigned char> payload() const {
    return {storage_.begin() + guard,
            storage_.begin() + static_cast<std::ptrdiff_t>(guard + bytes_)};
  }
  [[nodiscard]] bool guards_intact() const {
    for (std::size_t i = 0; i < guard; ++i) {
      if (storage_[i] != pattern || storage_[guard + bytes_ + i] != pattern) {
        return false;
      }
    }
    return true;
  }

 private:
  std::size_t bytes_;
  std::vector<unsigned char> storage_;
};

// Every sample value is possible, and a frame is never all zeros.
inline std::vector<unsigned char> random_frame(const ImageDesc& image, Rng& rng) {
  std::vector<unsigned char> bytes(image.bytes());
  for (std::size_t i = 0; i < bytes.size(); i += 4) {
    const std::uint32_t word = rng.next();
    std::memcpy(bytes.data() + i, &word, std::min<std::size_t>(4, bytes.size() - i));
  }
  bytes[0] |= 1;
  return bytes;
}

// A float whose product with `scale` rounds in fp32 to exactly k + 0.5, where one is near enough.
inline float tie_value(int k, float scale) {
  float v = static_cast<float>((k + 0.5) / static_cast<double>(scale));
  for (int step = 0; step < 8; ++step) {
    if (v * scale == static_cast<float>(k) + 0.5F) {
      return v;
    }
    v = std::nextafter(v, v * scale < static_cast<float>(k) + 0.5F ? 2.0F : -1.0F);
  }
  return v;
}

// Tensor contents that exercise post's clamp and rounding: in-range values, values outside
// [0, 1], exact sample levels, exact .5 ties (f32 only: no f16/bf16 value times 255 or 65535 is a
// tie), signed zeros, infinities, quiet and signaling NaN, and for 16-bit types arbitrary bit
// patterns. One engine draw per choice keeps this quick in unoptimised builds.
inline std::vector<unsigned char> random_tensor(std::size_t elements, DType dtype, PixelType pixel,
                                                Rng& rng) {
  constexpr float specials[] = {0.0F,        -0.0F,
                                1.0F,        -1.0F,
                                1e30F,       -1e30F,
                                1e-30F,      1.0000001F,
                                0.99999994F, INFINITY,
                                -INFINITY,   NAN,
                                -NAN,        std::numeric_limits<float>::signaling_NaN()};
  const float full = full_scale(pixel);
  const auto levels = static_cast<std::uint32_t>(full);
  std::vector<float> ties(64);
  for (auto& tie : ties) {
    tie = tie_value(rng.uniform_int(0, static_cast<int>(levels) - 1), full);
  }
  const auto unit = [&rng] { return static_cast<float>(rng.next() >> 8) * 0x1p-24F; };
  const auto value = [&]() -> float {
    const std::uint32_t kind = rng.next() % 100;
    if (kind < 40) {
      return unit();
    }
    if (kind < 60) {
      return 2.0F * unit() - 0.5F;
    }
    if (kind < 70) {
      return static_cast<float>(rng.next() % (levels + 1)) / full;
    }
    if (kind < 85) {
      return ties[rng.next() % ties.size()];
    }
    return specials[rng.next() % std::size(specials)];
  };
  std::vector<unsigned char> bytes(elements * bytes_of(dtype));
  for (std::size_t i = 0; i < elements; ++i) {
    if (dtype == DType::f32) {
      const float v = value();
      std::memcpy(bytes.data() + 4 * i, &v, 4);
      continue;
    }
    std::uint16_t bits = 0;
    if (rng.next() % 10 == 0) {
      bits = static_cast<std::uint16_t>(rng.next());
    } else {
      bits = dtype == DType::f16 ? float_to_half_bits(value()) : float_to_bf16_bits(value());
    }
    std::memcpy(bytes.data() + 2 * i, &bits, 2);
  }
  return bytes;
}

// Index and value of the first difference, for a readable failure message.
inline std::string first_difference(const std::vector<unsigned char>& actual,
                                    const std::vector<unsigned char>& expected) {
  if (actual.size() != expected.size()) {
    return "sizes differ: " + std::to_string(actual.size()) + " vs " +
           std::to_string(expected.size());
  }
  std::size_t count = 0;
  std::size_t first = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (actual[i] != expected[i]) {
      first = count == 0 ? i : first;
      ++count;
    }
  }
  if (count == 0) {
    return "";
  }
  return std::to_string(count) + " bytes differ; first at byte " + std::to_string(first) +
         ": got " + std::to_string(actual[first]) + ", want " + std::to_string(expected[first]);
}

constexpr PixelType all_pixels[] = {PixelType::u8, PixelType::u16};
constexpr ChannelOrder all_orders[] = {ChannelOrder::rgb, ChannelOrder::bgr};
constexpr DType all_dtypes[] = {DType::f32, DType::f16, DType::bf16};

struct Size {
  int width;
  int height;
};
constexpr Size small_sizes[] = {{1, 1}, {2, 3}, {1919, 1079}};

}  // namespace pyn::test
