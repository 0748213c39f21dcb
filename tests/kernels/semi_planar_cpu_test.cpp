// Semi-planar and high-bit YUV (NV12, P010, yuv444p16 as NVDEC gives them) through FrameToTensor's
// CPU reference: exactly the tensor the same codes give from a packed planar frame, for the whole
// frame and for regions, with padded pitches and garbage in the padding and low bits.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/semi_planar_test_util.hpp"
#include "pynference/core/error.hpp"
#include "pynference/kernels/convert.hpp"

namespace pyn::test {
namespace {

std::vector<unsigned char> tensor_of(const FrameFormat& format, const FramePlanes& planes, Rect roi,
                                     DType dtype) {
  const Rect region = roi.empty() ? Rect{0, 0, width_of(format), height_of(format)} : roi;
  const TensorShape shape{1, 3, region.height, region.width};
  std::vector<unsigned char> out(static_cast<std::size_t>(shape.elements()) * bytes_of(dtype));
  const TensorView tensor{out.data(), shape, dtype};
  FrameToTensor(Backend::host, format, roi, tensor).run_cpu(planes, out.data(), 0);
  return out;
}

TEST(SemiPlanar, LayoutNamesAndPlanes) {
  YuvDesc nv12{1280, 720, ChromaLayout::yuv420, 8};
  nv12.interleaved_chroma = true;
  EXPECT_EQ(plane_count(nv12), 2);
  EXPECT_EQ(plane_row_bytes(nv12, 1), 1280U);
  EXPECT_EQ(plane_rows(nv12, 1), 360);
  EXPECT_EQ(plane_row_bytes(nv12, 2), 0U);
  EXPECT_EQ(nv12.bytes(), 1280U * 720 * 3 / 2);
  EXPECT_EQ(to_string(nv12), "1280x720 yuv420 8-bit bt709 limited interleaved-chroma");
  YuvDesc p010{3, 3, ChromaLayout::yuv420, 10};
  p010.interleaved_chroma = true;
  p010.msb_aligned = true;
  EXPECT_EQ(plane_row_bytes(p010, 1), 2U * 2 * 2);
  EXPECT_FALSE(p010.planar());
  const YuvDesc planar = planar_of(p010);
  EXPECT_TRUE(planar.planar());
  EXPECT_EQ(planar, (YuvDesc{3, 3, ChromaLayout::yuv420, 10}));
  EXPECT_EQ(std::get<YuvDesc>(planar_of(FrameFormat{p010})), planar);
  EXPECT_EQ(plane_count(planar), 3);
}

TEST(SemiPlanar, WholeFramesGiveThePlanarTensor) {
  Rng rng;
  for (const auto& [w, h] : {std::pair{64, 32}, std::pair{37, 19}, std::pair{2, 1}}) {
    for (const YuvDesc& format : decoder_formats(w, h)) {
      for (const DType dtype : {DType::f32, DType::f16, DType::bf16}) {
        const DecoderFrame f = decoder_frame(format, rng);
        const YuvDesc planar = planar_of(format);
        const auto expected =
            tensor_of(planar, packed_planes(planar, f.planar.data()), Rect{}, dtype);
        const auto got = tensor_of(format, f.layout.on(const_cast<unsigned char*>(f.bytes.data())),
                                   Rect{}, dtype);
        EXPECT_EQ(got, expected) << to_string(format) << " dtype " << static_cast<int>(dtype)
                                 << " " << rng.trace();
      }
    }
  }
}

TEST(SemiPlanar, RegionsGiveThePlanarTensor) {
  Rng rng;
  for (int trial = 0; trial < 20; ++trial) {
    const int w = rng.uniform_int(1, 70);
    const int h = rng.uniform_int(1, 40);
    for (const YuvDesc& format : decoder_formats(w, h)) {
      const DecoderFrame f = decoder_frame(format, rng);
      const YuvDesc planar = planar_of(format);
      const Rect roi = random_region(w, h, format.chroma == ChromaLayout::yuv420, rng);
      const auto expected = tensor_of(planar, packed_planes(planar, f.planar.data()), roi,
                                      DType::f32);
      const auto got = tensor_of(format, f.layout.on(const_cast<unsigned char*>(f.bytes.data())),
                                 roi, DType::f32);
      EXPECT_EQ(got, expected) << to_string(format) << " roi " << to_string(roi) << " "
                               << rng.trace();
    }
  }
}

TEST(SemiPlanar, FramesAreReadNotWritten) {
  YuvDesc p010{64, 32, ChromaLayout::yuv420, 10};
  p010.interleaved_chroma = true;
  p010.msb_aligned = true;
  const TensorView layout{nullptr, TensorShape{1, 3, 32, 64}, DType::f16};
  try {
    const TensorToFrame writer(Backend::host, layout, Rect{}, p010, 0, 0);
    ADD_FAILURE() << "a semi-planar destination passed";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(),
                 "tensor_to_yuv: frames of 64x32 yuv420 10-bit bt709 limited interleaved-chroma "
                 "msb-aligned are read, not written: write 64x32 yuv420 10-bit bt709 limited");
  }
  YuvDesc eight_msb{64, 32, ChromaLayout::yuv420, 8};
  eight_msb.msb_aligned = true;
  EXPECT_THROW(FrameToTensor(Backend::host, eight_msb, Rect{}, layout), UsageError);
}

}  // namespace
}  // namespace pyn::test
