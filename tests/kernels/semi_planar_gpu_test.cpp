// Semi-planar and high-bit YUV (NV12, P010, yuv444p16 as NVDEC gives them) through FrameToTensor on
// the GPU against its CPU reference, bit for bit, on fresh random pitched frames: whole frames and
// regions, into slice n of a tensor whose other bytes (and the guards) stay.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "kernels/device_guarded.hpp"
#include "kernels/semi_planar_test_util.hpp"
#include "pynference/device/device.hpp"
#include "pynference/device/stream.hpp"
#include "pynference/kernels/convert.hpp"

namespace pyn::test {
namespace {

class SemiPlanarGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Device::cuda_device_count() == 0) {
      GTEST_SKIP() << "no CUDA device";
    }
    device_ = std::make_unique<Device>(Device::open(DeviceSpec::parse("cuda")));
    stream_ = std::make_unique<Stream>(device_->make_stream());
  }

  void check(const YuvDesc& format, Rect roi, DType dtype, Rng& rng) {
    const DecoderFrame f = decoder_frame(format, rng);
    const Rect region = roi.empty() ? Rect{0, 0, format.width, format.height} : roi;
    const TensorShape shape{2, 3, region.height, region.width};
    std::vector<unsigned char> expected = random_bytes(shape.elements() * bytes_of(dtype), rng);
    const int n = rng.uniform_int(0, 1);
    DeviceGuarded frame_on_gpu(f.bytes.size());
    DeviceGuarded tensor_on_gpu(expected.size());
    frame_on_gpu.upload(f.bytes);
    tensor_on_gpu.upload(expected);
    const TensorView layout{nullptr, shape, dtype};
    FrameToTensor(Backend::cuda, format, roi, layout)(*stream_, f.layout.on(frame_on_gpu.data()),
                                                      tensor_on_gpu.data(), n);
    stream_->synchronize();
    std::vector<unsigned char> frame_copy = f.bytes;
    FrameToTensor(Backend::host, format, roi, layout)
        .run_cpu(f.layout.on(frame_copy.data()), expected.data(), n);
    EXPECT_EQ(first_difference(tensor_on_gpu.download(), expected), "")
        << to_string(format) << " roi " << to_string(region) << " dtype "
        << static_cast<int>(dtype) << " n " << n << " " << rng.trace();
  }

  std::unique_ptr<Device> device_;
  std::unique_ptr<Stream> stream_;
};

TEST_F(SemiPlanarGpu, WholeFramesMatchTheReference) {
  Rng rng;
  for (const auto& [w, h] : {std::pair{1280, 720}, std::pair{67, 33}, std::pair{1, 1}}) {
    for (const YuvDesc& format : decoder_formats(w, h)) {
      for (const DType dtype : {DType::f32, DType::f16, DType::bf16}) {
        check(format, Rect{}, dtype, rng);
      }
    }
  }
}

TEST_F(SemiPlanarGpu, RegionsMatchTheReference) {
  Rng rng;
  for (int trial = 0; trial < 10; ++trial) {
    const int w = rng.uniform_int(1, 300);
    const int h = rng.uniform_int(1, 200);
    for (const YuvDesc& format : decoder_formats(w, h)) {
      check(format, random_region(w, h, format.chroma == ChromaLayout::yuv420, rng), DType::f16,
            rng);
    }
  }
}

}  // namespace
}  // namespace pyn::test
