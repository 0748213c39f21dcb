// The conversions over views (kernels/convert.hpp) on the GPU against the CPU reference, bit for
// bit, on fresh random data: regions of pitched frames into slices of strided tensors and crops
// back, and whole packed frames into slice n (the vectorised path). The buffers' other bytes
// (padding, other slices, guards) must come back as they went.

#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/device_guarded.hpp"
#include "kernels/prepost_test_util.hpp"
#include "kernels/view_test_util.hpp"
#include "pynference/device/cuda_check.hpp"
#include "pynference/device/device.hpp"
#include "pynference/device/stream.hpp"
#include "pynference/kernels/frame.hpp"

namespace pyn::test {
namespace {

class ViewGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Device::cuda_device_count() == 0) {
      GTEST_SKIP() << "no CUDA device";
    }
    device_ = std::make_unique<Device>(Device::open(DeviceSpec::parse("cuda")));
    stream_ = std::make_unique<Stream>(device_->make_stream());
  }

  // A region (empty: the whole frame) into slice n of a 3-slice tensor, on both backends.
  void to_tensor(const FrameFormat& format, Rect roi, const PlaneLayout& layout, DType dtype,
                 StrideKind kind, Rng& rng) {
    const Rect whole{0, 0, width_of(format), height_of(format)};
    const Rect region = roi.empty() ? whole : roi;
    const TensorShape shape{3, 3, region.height, region.width};
    TensorView tensor{nullptr, shape, dtype, strides_for(shape, kind, rng)};
    const std::vector<unsigned char> frame = random_bytes(layout.bytes, rng);
    std::vector<unsigned char> expected = random_bytes(span_bytes(tensor), rng);
    const int n = rng.uniform_int(0, 2);

    DeviceGuarded frame_on_gpu(frame.size());
    DeviceGuarded tensor_on_gpu(expected.size());
    frame_on_gpu.upload(frame);
    tensor_on_gpu.upload(expected);
    tensor.data = tensor_on_gpu.data();
    frame_to_tensor(*stream_, FrameView{format, layout.on(frame_on_gpu.data()), Memory::device},
                    roi, tensor, n);
    stream_->synchronize();

    std::vector<unsigned char> frame_copy = frame;
    frame_to_tensor_cpu(FrameView{format, layout.on(frame_copy.data())}, roi,
                        TensorView{expected.data(), shape, dtype, tensor.strides}, n);
    EXPECT_EQ(first_difference(tensor_on_gpu.download(), expected), "")
        << describe(format, region, dtype, kind, n);
  }

  // A crop of slice n into a region of a frame at (x, y), on both backends.
  // The slice is up to `slack` pixels larger than the crop each way.
  void to_frame(const FrameFormat& format, Rect destination, const PlaneLayout& layout, DType dtype,
                StrideKind kind, Rng& rng, int slack = 2) {
    const TensorShape shape{3, 3, destination.height + rng.uniform_int(0, slack),
                            destination.width + rng.uniform_int(0, slack)};
    const Rect crop{rng.uniform_int(0, shape.w - destination.width),
                    rng.uniform_int(0, shape.h - destination.height), destination.width,
                    destination.height};
    TensorView tensor{nullptr, shape, dtype, strides_for(shape, kind, rng)};
    std::vector<unsigned char> values =
        random_tensor(span_bytes(tensor) / bytes_of(dtype), dtype,
                      sample_bytes_of(format) == 1 ? PixelType::u8 : PixelType::u16, rng);
    std::vector<unsigned char> expected = random_bytes(layout.bytes, rng);
    const int n = rng.uniform_int(0, 2);

    DeviceGuarded tensor_on_gpu(values.size());
    DeviceGuarded frame_on_gpu(expected.size());
    tensor_on_gpu.upload(values);
    frame_on_gpu.upload(expected);
    tensor.data = tensor_on_gpu.data();
    tensor_to_frame(*stream_, tensor, n, crop,
                    FrameView{format, layout.on(frame_on_gpu.data()), Memory::device},
                    destination.x, destination.y);
    stream_->synchronize();

    tensor_to_frame_cpu(TensorView{values.data(), shape, dtype, tensor.strides}, n, crop,
                        FrameView{format, layout.on(expected.data())}, destination.x,
                        destination.y);
    EXPECT_EQ(first_difference(frame_on_gpu.download(), expected), "")
        << describe(format, destination, dtype, kind, n) << " crop " << to_string(crop);
  }

  std::unique_ptr<Device> device_;
  std::unique_ptr<Stream> stream_;
};

constexpr Size gpu_sizes[] = {{1, 1}, {7, 5}, {64, 47}, {256, 130}, {1001, 67}};

TEST_F(ViewGpu, RegionsOfPitchedFramesMatchTheReference) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const Size size : gpu_sizes) {
    for (const FrameFormat& format : view_formats(size.width, size.height)) {
      for (const DType dtype : all_dtypes) {
        for (const StrideKind kind : all_stride_kinds) {
          const PlaneLayout layout = plane_layout(format, rng);
          to_tensor(format, random_region(size.width, size.height, is_420(format), rng), layout,
                    dtype, kind, rng);
          to_frame(format, random_region(size.width, size.height, is_420(format), rng), layout,
                   dtype, kind, rng);
        }
      }
    }
  }
}

// The whole frame, packed, into and out of slice n of a contiguous tensor takes the vectorised
// kernels; pitched, the general path: both give the reference's bytes. The large size is 960x544
// (many blocks, rows a multiple of the vector width): at 1920x1080 the test took 94 s of ctest's
// 120 on a GPU machine, nearly all of it on the CPU (random frames and the reference, every
// format).
TEST_F(ViewGpu, WholeFramesPackedAndPitchedMatchTheReference) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const Size size : {Size{960, 544}, Size{64, 48}, Size{30, 17}}) {
    for (const FrameFormat& format : view_formats(size.width, size.height)) {
      for (const DType dtype : all_dtypes) {
        for (const bool packed : {true, false}) {
          const PlaneLayout layout = plane_layout(format, rng, packed);
          to_tensor(format, Rect{}, layout, dtype, StrideKind::contiguous, rng);
          to_frame(format, Rect{0, 0, size.width, size.height}, layout, dtype,
                   StrideKind::contiguous, rng, 0);
        }
      }
    }
  }
}

}  // namespace
}  // namespace pyn::test
