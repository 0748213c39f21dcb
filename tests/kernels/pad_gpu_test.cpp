// The CUDA pad and crop kernels against the CPU reference, bit for bit, on fresh random data, with
// guard bytes around the outputs.

#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/device_guarded.hpp"
#include "pynference/device/cuda_check.hpp"
#include "pynference/device/device.hpp"
#include "pynference/kernels/pad.hpp"

namespace pyn::test {
namespace {

std::vector<unsigned char> random_bytes(std::size_t n, std::mt19937& rng) {
  std::vector<unsigned char> out(n);
  for (auto& b : out) {
    b = static_cast<unsigned char>(rng());
  }
  return out;
}

TEST(PadGpu, PadAndCropMatchTheCpuReference) {
  if (pyn::Device::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> side(1, 70);
  for (const DType dtype : {DType::f32, DType::f16, DType::bf16}) {
    for (int round = 0; round < 12; ++round) {
      const TensorShape small{1 + round % 3, 3, side(rng), side(rng)};
      const TensorShape large{small.n, 3, small.h + side(rng) - 1, small.w + side(rng) - 1};
      const std::size_t small_bytes = small.elements() * bytes_of(dtype);
      const std::size_t large_bytes = large.elements() * bytes_of(dtype);
      const std::vector<unsigned char> in = random_bytes(small_bytes, rng);

      std::vector<unsigned char> want_padded(large_bytes);
      pad_cpu({const_cast<unsigned char*>(in.data()), small, dtype},
              {want_padded.data(), large, dtype});
      const std::vector<unsigned char> big = random_bytes(large_bytes, rng);
      std::vector<unsigned char> want_cropped(small_bytes);
      crop_cpu({const_cast<unsigned char*>(big.data()), large, dtype},
               {want_cropped.data(), small, dtype});

      DeviceGuarded d_in(small_bytes);
      DeviceGuarded d_padded(large_bytes);
      d_in.upload(in);
      pad_cuda({d_in.data(), small, dtype}, {d_padded.data(), large, dtype}, nullptr);
      DeviceGuarded d_big(large_bytes);
      DeviceGuarded d_cropped(small_bytes);
      d_big.upload(big);
      crop_cuda({d_big.data(), large, dtype}, {d_cropped.data(), small, dtype}, nullptr);
      PYN_CUDA_CHECK(cudaDeviceSynchronize());
      EXPECT_EQ(d_padded.download(), want_padded)
          << to_string(dtype) << " pad to " << large.h << "x" << large.w;
      EXPECT_EQ(d_cropped.download(), want_cropped)
          << to_string(dtype) << " crop to " << small.h << "x" << small.w;
    }
  }
}

}  // namespace
}  // namespace pyn::test
