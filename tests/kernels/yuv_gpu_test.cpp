// The CUDA YUV kernels against the CPU reference, bit for bit.

#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "kernels/device_guarded.hpp"
#include "kernels/prepost_test_util.hpp"
#include "pynference/device/cuda_check.hpp"
#include "pynference/device/device.hpp"
#include "pynference/kernels/yuv.hpp"

namespace pyn::test {
namespace {

constexpr ChromaLayout all_layouts[] = {ChromaLayout::yuv420, ChromaLayout::yuv444};
constexpr int all_bits[] = {8, 10};
constexpr ColorMatrix all_matrices[] = {ColorMatrix::bt601, ColorMatrix::bt709, ColorMatrix::bt2020,
                                        ColorMatrix::smpte240m};
constexpr ColorRange all_ranges[] = {ColorRange::limited, ColorRange::full};

std::vector<YuvDesc> every_format(int width, int height) {
  std::vector<YuvDesc> formats;
  for (const auto chroma : all_layouts) {
    for (const int bits : all_bits) {
      for (const auto matrix : all_matrices) {
        for (const auto range : all_ranges) {
          formats.push_back(YuvDesc{width, height, chroma, bits, matrix, range});
        }
      }
    }
  }
  return formats;
}

// One format per layout and depth, matrix and range taking turns: for sizes too large for all 32.
std::vector<YuvDesc> some_formats(int width, int height) {
  std::vector<YuvDesc> formats;
  int turn = 0;
  for (const auto chroma : all_layouts) {
    for (const int bits : all_bits) {
      formats.push_back(
          YuvDesc{width, height, chroma, bits, all_matrices[turn % 4], all_ranges[turn / 2 % 2]});
      ++turn;
    }
  }
  return formats;
}

// Every byte random: 10-bit samples get garbage in their ignored top bits too.
std::vector<unsigned char> random_yuv(const YuvDesc& desc, Rng& rng) {
  std::vector<unsigned char> bytes(desc.bytes());
  for (std::size_t i = 0; i < bytes.size(); i += 4) {
    const std::uint32_t word = rng.next();
    std::memcpy(bytes.data() + i, &word, std::min<std::size_t>(4, bytes.size() - i));
  }
  bytes[0] |= 1;
  return bytes;
}

std::size_t tensor_bytes(const YuvDesc& desc, DType dtype) {
  return tensor_shape_of(desc).elements() * bytes_of(dtype);
}

std::vector<unsigned char> random_unit_tensor(const YuvDesc& desc, DType dtype, Rng& rng) {
  return random_tensor(tensor_shape_of(desc).elements(), dtype, PixelType::u8, rng);
}

std::vector<unsigned char> to_tensor_on_gpu(const YuvDesc& desc,
                                            const std::vector<unsigned char>& frame, DType dtype,
                                            Misalign misalign = {}) {
  DeviceGuarded in(desc.bytes(), misalign.frame);
  DeviceGuarded out(tensor_bytes(desc, dtype), misalign.tensor);
  in.upload(frame);
  yuv_to_tensor_cuda(desc, in.data(), dtype, out.data(), nullptr);
  PYN_CUDA_CHECK(cudaDeviceSynchronize());
  return out.download();
}

std::vector<unsigned char> to_yuv_on_gpu(const YuvDesc& desc,
                                         const std::vector<unsigned char>& tensor, DType dtype,
                                         Misalign misalign = {}) {
  DeviceGuarded in(tensor_bytes(desc, dtype), misalign.tensor);
  DeviceGuarded out(desc.bytes(), misalign.frame);
  in.upload(tensor);
  tensor_to_yuv_cuda(dtype, in.data(), desc, out.data(), nullptr);
  PYN_CUDA_CHECK(cudaDeviceSynchronize());
  return out.download();
}

std::vector<unsigned char> to_tensor_on_cpu(const YuvDesc& desc,
                                            const std::vector<unsigned char>& frame, DType dtype) {
  std::vector<unsigned char> tensor(tensor_bytes(desc, dtype));
  yuv_to_tensor_cpu(desc, frame.data(), dtype, tensor.data());
  return tensor;
}

std::vector<unsigned char> to_yuv_on_cpu(const YuvDesc& desc,
                                         const std::vector<unsigned char>& tensor, DType dtype) {
  std::vector<unsigned char> frame(desc.bytes());
  tensor_to_yuv_cpu(dtype, tensor.data(), desc, frame.data());
  return frame;
}

void expect_to_tensor_matches(const YuvDesc& desc, const std::vector<unsigned char>& frame,
                              DType dtype, Misalign misalign = {}) {
  EXPECT_EQ(first_difference(to_tensor_on_gpu(desc, frame, dtype, misalign),
                             to_tensor_on_cpu(desc, frame, dtype)),
            "")
      << "yuv_to_tensor " << to_string(desc) << " -> " << to_string(dtype) << " misaligned by "
      << misalign.frame << "/" << misalign.tensor;
}

void expect_to_yuv_matches(const YuvDesc& desc, const std::vector<unsigned char>& tensor,
                           DType dtype, Misalign misalign = {}) {
  EXPECT_EQ(first_difference(to_yuv_on_gpu(desc, tensor, dtype, misalign),
                             to_yuv_on_cpu(desc, tensor, dtype)),
            "")
      << "tensor_to_yuv " << to_string(dtype) << " -> " << to_string(desc) << " misaligned by "
      << misalign.frame << "/" << misalign.tensor;
}

// Tiny and odd (scalar path, 4:2:0 edges), widths a multiple of 8 with odd heights (vector path,
// half a tile row at the bottom), and full-HD sizes of both kinds.
constexpr Size small_sizes_gpu[] = {{1, 1}, {3, 5}, {2, 2}, {8, 1}, {16, 3}, {37, 20}, {64, 32}};
constexpr Size large_sizes_gpu[] = {{1919, 1079}, {1920, 1080}, {1918, 1078}, {1920, 1079}};

TEST(YuvGpu, ToTensorMatchesTheReference) {
  if (pyn::Device::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const auto [width, height] : small_sizes_gpu) {
    for (const auto& desc : every_format(width, height)) {
      const auto frame = random_yuv(desc, rng);
      for (const auto dtype : all_dtypes) {
        expect_to_tensor_matches(desc, frame, dtype);
      }
    }
  }
  for (const auto [width, height] : large_sizes_gpu) {
    for (const auto& desc : some_formats(width, height)) {
      const auto frame = random_yuv(desc, rng);
      for (const auto dtype : all_dtypes) {
        expect_to_tensor_matches(desc, frame, dtype);
      }
    }
  }
}

TEST(YuvGpu, ToYuvMatchesTheReference) {
  if (pyn::Device::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const auto [width, height] : small_sizes_gpu) {
    for (const auto& desc : every_format(width, height)) {
      for (const auto dtype : all_dtypes) {
        expect_to_yuv_matches(desc, random_unit_tensor(desc, dtype, rng), dtype);
      }
    }
  }
  for (const auto [width, height] : large_sizes_gpu) {
    for (const auto& desc : some_formats(width, height)) {
      for (const auto dtype : all_dtypes) {
        expect_to_yuv_matches(desc, random_unit_tensor(desc, dtype, rng), dtype);
      }
    }
  }
}

TEST(YuvGpu, UhdFramesMatchTheReference) {
  if (pyn::Device::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  Rng rng;
  SCOPED_TRACE(rng.trace());
  const YuvDesc uhd{3840, 2160, ChromaLayout::yuv420, 8, ColorMatrix::bt709, ColorRange::limited};
  const YuvDesc deep{3840, 2160, ChromaLayout::yuv444, 10, ColorMatrix::bt601, ColorRange::full};
  const YuvDesc hdr{3840, 2160, ChromaLayout::yuv420, 10, ColorMatrix::bt2020, ColorRange::limited};
  const YuvDesc studio{
      3840, 2160, ChromaLayout::yuv420, 8, ColorMatrix::smpte240m, ColorRange::full};
  for (const auto& [desc, dtype] : {std::pair{uhd, DType::f16}, std::pair{deep, DType::f32},
                                    std::pair{hdr, DType::bf16}, std::pair{studio, DType::f16}}) {
    expect_to_tensor_matches(desc, random_yuv(desc, rng), dtype);
    expect_to_yuv_matches(desc, random_unit_tensor(desc, dtype, rng), dtype);
  }
}

TEST(YuvGpu, MisalignedPointersGiveTheSameResult) {
  if (pyn::Device::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const auto& desc : some_formats(640, 361)) {
    const auto frame = random_yuv(desc, rng);
    for (const auto dtype : all_dtypes) {
      const auto tensor = random_unit_tensor(desc, dtype, rng);
      for (const Misalign misalign :
           {Misalign{desc.sample_bytes(), 0}, Misalign{0, bytes_of(dtype)}, Misalign{8, 8},
            Misalign{3 * desc.sample_bytes(), 2 * bytes_of(dtype)}}) {
        expect_to_tensor_matches(desc, frame, dtype, misalign);
        expect_to_yuv_matches(desc, tensor, dtype, misalign);
      }
    }
  }
}

// 4:4:4 8-bit, all 2^24 sample triples: those inside the RGB cube come back exactly through every
// dtype; and the GPU agrees with the reference on all of them.
TEST(YuvGpu, EveryInGamutTripleRoundTrips) {
  if (pyn::Device::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  for (const auto matrix : all_matrices) {
    for (const auto range : all_ranges) {
      const YuvDesc desc{4096, 4096, ChromaLayout::yuv444, 8, matrix, range};
      std::vector<unsigned char> frame(desc.bytes());
      for (std::size_t i = 0; i < desc.pixels(); ++i) {
        frame[i] = static_cast<unsigned char>(i);
        frame[desc.u_offset() + i] = static_cast<unsigned char>(i >> 8);
        frame[desc.v_offset() + i] = static_cast<unsigned char>(i >> 16);
      }
      // Inside the cube, from the exact (float64) RGB.
      const auto k = yuv_levels(desc);
      const auto w = luma_weights(matrix);
      std::vector<bool> inside(desc.pixels());
      for (std::size_t i = 0; i < desc.pixels(); ++i) {
        const double luma = (frame[i] - k.y_offset) / static_cast<double>(k.y_range);
        const double cb =
            (frame[desc.u_offset() + i] - k.c_offset) / static_cast<double>(k.c_range);
        const double cr =
            (frame[desc.v_offset() + i] - k.c_offset) / static_cast<double>(k.c_range);
        const double r = luma + 2 * (1 - w.kr) * cr;
        const double b = luma + 2 * (1 - w.kb) * cb;
        const double g = (luma - w.kr * r - w.kb * b) / w.kg;
        inside[i] = r >= 0 && r <= 1 && g >= 0 && g <= 1 && b >= 0 && b <= 1;
      }
      for (const auto dtype : all_dtypes) {
        const auto tensor = to_tensor_on_gpu(desc, frame, dtype);
        if (dtype == DType::f16) {
          EXPECT_EQ(first_difference(tensor, to_tensor_on_cpu(desc, frame, dtype)), "")
              << to_string(desc);
        }
        const auto back = to_yuv_on_gpu(desc, tensor, dtype);
        std::size_t count = 0;
        std::size_t wrong = 0;
        for (std::size_t i = 0; i < desc.pixels(); ++i) {
          if (!inside[i]) {
            continue;
          }
          ++count;
          for (const std::size_t at : {i, desc.u_offset() + i, desc.v_offset() + i}) {
            wrong += back[at] != frame[at];
          }
        }
        EXPECT_GT(count, desc.pixels() / 8) << to_string(desc);
        EXPECT_EQ(wrong, 0U) << to_string(desc) << " via " << to_string(dtype) << ", " << count
                             << " triples inside the cube";
      }
    }
  }
}

TEST(YuvGpu, TypedEntryPointsRunOnTheCudaStream) {
  if (pyn::Device::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  Rng rng;
  SCOPED_TRACE(rng.trace());
  const Device device = Device::open(DeviceSpec::parse("cuda"));
  device.bind_thread();
  Stream stream = device.make_stream();
  const YuvDesc desc{1920, 1080, ChromaLayout::yuv420, 10, ColorMatrix::bt709, ColorRange::limited};
  const DType dtype = DType::f16;
  const auto frame = random_yuv(desc, rng);
  DeviceGuarded frame_in(desc.bytes());
  DeviceGuarded tensor(tensor_bytes(desc, dtype));
  DeviceGuarded frame_out(desc.bytes());
  frame_in.upload(frame);
  const TensorView view{tensor.data(), tensor_shape_of(desc), dtype};
  yuv_to_tensor(stream, desc, frame_in.data(), view);
  tensor_to_yuv(stream, view, desc, frame_out.data());
  stream.synchronize();
  const auto expected_tensor = to_tensor_on_cpu(desc, frame, dtype);
  EXPECT_EQ(first_difference(tensor.download(), expected_tensor), "");
  EXPECT_EQ(first_difference(frame_out.download(), to_yuv_on_cpu(desc, expected_tensor, dtype)),
            "");
}

}  // namespace
}  // namespace pyn::test
