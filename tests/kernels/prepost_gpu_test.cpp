// The CUDA pre/post kernels against the CPU reference, bit for bit.

#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/device_guarded.hpp"
#include "kernels/prepost_test_util.hpp"
#include "pynference/device/cuda_check.hpp"
#include "pynference/device/device.hpp"
#include "pynference/kernels/prepost.hpp"

namespace pyn::test {
namespace {

std::vector<unsigned char> pre_on_gpu(const ImageDesc& image,
                                      const std::vector<unsigned char>& frame, DType dtype,
                                      Misalign misalign = {}) {
  DeviceGuarded in(image.bytes(), misalign.frame);
  DeviceGuarded out(tensor_bytes(image, dtype), misalign.tensor);
  in.upload(frame);
  pre_cuda(image, in.data(), dtype, out.data(), nullptr);
  PYN_CUDA_CHECK(cudaDeviceSynchronize());
  return out.download();
}

std::vector<unsigned char> post_on_gpu(const ImageDesc& image,
                                       const std::vector<unsigned char>& tensor, DType dtype,
                                       Misalign misalign = {}) {
  DeviceGuarded in(tensor_bytes(image, dtype), misalign.tensor);
  DeviceGuarded out(image.bytes(), misalign.frame);
  in.upload(tensor);
  post_cuda(dtype, in.data(), image, out.data(), nullptr);
  PYN_CUDA_CHECK(cudaDeviceSynchronize());
  return out.download();
}

std::vector<unsigned char> pre_on_cpu(const ImageDesc& image,
                                      const std::vector<unsigned char>& frame, DType dtype) {
  std::vector<unsigned char> tensor(tensor_bytes(image, dtype));
  pre_cpu(image, frame.data(), dtype, tensor.data());
  return tensor;
}

std::vector<unsigned char> post_on_cpu(const ImageDesc& image,
                                       const std::vector<unsigned char>& tensor, DType dtype) {
  std::vector<unsigned char> frame(image.bytes());
  post_cpu(dtype, tensor.data(), image, frame.data());
  return frame;
}

void expect_pre_matches(const ImageDesc& image, const std::vector<unsigned char>& frame,
                        DType dtype, Misalign misalign = {}) {
  EXPECT_EQ(
      first_difference(pre_on_gpu(image, frame, dtype, misalign), pre_on_cpu(image, frame, dtype)),
      "")
      << "pre " << name_of(image) << " -> " << to_string(dtype) << " misaligned by "
      << misalign.frame << "/" << misalign.tensor;
}

void expect_post_matches(const ImageDesc& image, const std::vector<unsigned char>& tensor,
                         DType dtype, Misalign misalign = {}) {
  EXPECT_EQ(first_difference(post_on_gpu(image, tensor, dtype, misalign),
                             post_on_cpu(image, tensor, dtype)),
            "")
      << "post " << to_string(dtype) << " -> " << name_of(image) << " misaligned by "
      << misalign.frame << "/" << misalign.tensor;
}

// Small, odd (per-pixel path), grouped, and full-HD sizes.
constexpr Size gpu_sizes[] = {{1, 1}, {2, 3}, {64, 32}, {1919, 1079}, {1918, 1078}, {1920, 1080}};

TEST(PrepostGpu, PreMatchesTheReference) {
  if (pyn::Device::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const auto [width, height] : gpu_sizes) {
    for (const auto pixel : all_pixels) {
      for (const auto order : all_orders) {
        const ImageDesc image{width, height, pixel, order};
        const auto frame = random_frame(image, rng);
        for (const auto dtype : all_dtypes) {
          expect_pre_matches(image, frame, dtype);
        }
      }
    }
  }
}

TEST(PrepostGpu, PostMatchesTheReference) {
  if (pyn::Device::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const auto [width, height] : gpu_sizes) {
    for (const auto pixel : all_pixels) {
      for (const auto order : all_orders) {
        const ImageDesc image{width, height, pixel, order};
        for (const auto dtype : all_dtypes) {
          expect_post_matches(
              image, random_tensor(tensor_shape_of(image).elements(), dtype, pixel, rng), dtype);
        }
      }
    }
  }
}

TEST(PrepostGpu, UhdFramesMatchTheReference) {
  if (pyn::Device::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const auto order : all_orders) {
    const ImageDesc image{3840, 2160, PixelType::u8, order};
    expect_pre_matches(image, random_frame(image, rng), DType::f16);
    expect_post_matches(
        image, random_tensor(tensor_shape_of(image).elements(), DType::f16, image.pixel, rng),
        DType::f16);
  }
  const ImageDesc deep{3840, 2160, PixelType::u16, ChannelOrder::rgb};
  expect_pre_matches(deep, random_frame(deep, rng), DType::f32);
  expect_post_matches(deep,
                      random_tensor(tensor_shape_of(deep).elements(), DType::f32, deep.pixel, rng),
                      DType::f32);
}

TEST(PrepostGpu, EverySampleValueConvertsLikeTheReference) {
  if (pyn::Device::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  // 65536x1 frames: channel 0 holds every value in order, channels 1 and 2 permutations of them.
  for (const auto pixel : all_pixels) {
    const std::uint32_t levels = pixel == PixelType::u8 ? 256 : 65536;
    const ImageDesc image{static_cast<int>(levels), 1, pixel, ChannelOrder::bgr};
    std::vector<unsigned char> frame(image.bytes());
    for (std::uint32_t i = 0; i < levels * 3; ++i) {
      const std::uint32_t v = (i % 3 == 0 ? i / 3 : (i / 3) * (2 * (i % 3) + 1) + 7) % levels;
      std::memcpy(frame.data() + i * bytes_of(pixel), &v, bytes_of(pixel));  // little endian
    }
    for (const auto dtype : all_dtypes) {
      expect_pre_matches(image, frame, dtype);
    }
  }
}

TEST(PrepostGpu, EverySixteenBitPatternConvertsLikeTheReference) {
  if (pyn::Device::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  // Every f16 and bf16 bit pattern (NaNs, infinities and subnormals included) in each plane.
  for (const auto dtype : {DType::f16, DType::bf16}) {
    for (const auto pixel : all_pixels) {
      const ImageDesc image{65536, 1, pixel, ChannelOrder::rgb};
      std::vector<unsigned char> tensor(tensor_bytes(image, dtype));
      for (std::uint32_t plane = 0; plane < 3; ++plane) {
        for (std::uint32_t i = 0; i < 65536; ++i) {
          const auto bits = static_cast<std::uint16_t>(i + plane * 12345);
          std::memcpy(tensor.data() + 2 * (plane * 65536 + i), &bits, 2);
        }
      }
      expect_post_matches(image, tensor, dtype);
    }
  }
}

TEST(PrepostGpu, MisalignedPointersGiveTheSameResult) {
  if (pyn::Device::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const auto pixel : all_pixels) {
    for (const auto dtype : all_dtypes) {
      const ImageDesc image{640, 360, pixel, ChannelOrder::bgr};
      const auto frame = random_frame(image, rng);
      const auto tensor = random_tensor(tensor_shape_of(image).elements(), dtype, pixel, rng);
      for (const Misalign misalign : {Misalign{bytes_of(pixel), 0}, Misalign{0, bytes_of(dtype)},
                                      Misalign{3 * bytes_of(pixel), 2 * bytes_of(dtype)}}) {
        expect_pre_matches(image, frame, dtype, misalign);
        expect_post_matches(image, tensor, dtype, misalign);
      }
    }
  }
}

TEST(PrepostGpu, U8RoundTripsExactlyThroughF32AndF16) {
  if (pyn::Device::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const auto dtype : {DType::f32, DType::f16}) {
    for (const auto [width, height] : {Size{3840, 2160}, Size{1919, 1079}}) {
      const ImageDesc image{width, height, PixelType::u8, ChannelOrder::bgr};
      const auto frame = random_frame(image, rng);
      EXPECT_EQ(first_difference(post_on_gpu(image, pre_on_gpu(image, frame, dtype), dtype), frame),
                "")
          << name_of(image) << " via " << to_string(dtype);
    }
  }
}

TEST(PrepostGpu, TypedEntryPointsRunOnTheCudaStream) {
  if (pyn::Device::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  Rng rng;
  SCOPED_TRACE(rng.trace());
  const Device device = Device::open(DeviceSpec::parse("cuda"));
  device.bind_thread();
  Stream stream = device.make_stream();
  const ImageDesc image{1920, 1080, PixelType::u8, ChannelOrder::bgr};
  const DType dtype = DType::f16;
  const auto frame = random_frame(image, rng);
  DeviceGuarded frame_in(image.bytes());
  DeviceGuarded tensor(tensor_bytes(image, dtype));
  DeviceGuarded frame_out(image.bytes());
  frame_in.upload(frame);
  const TensorView view{tensor.data(), tensor_shape_of(image), dtype};
  pre(stream, image, frame_in.data(), view);
  post(stream, view, image, frame_out.data());
  stream.synchronize();
  EXPECT_EQ(first_difference(tensor.download(), pre_on_cpu(image, frame, dtype)), "");
  EXPECT_EQ(first_difference(frame_out.download(), frame), "");
}

}  // namespace
}  // namespace pyn::test
