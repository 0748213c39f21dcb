// Planar RGB frames (ImageDesc::planar()) on the CPU reference: a planar frame with padded pitches
// gives exactly the tensor the interleaved frame of the same samples gives, region by region, and
// a tensor written into one gives the samples it writes into the other; float samples go through
// unscaled and unclamped, and only planar frames take them.

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/prepost_test_util.hpp"
#include "kernels/view_test_util.hpp"
#include "pynference/core/error.hpp"
#include "pynference/kernels/frame.hpp"

namespace pyn::test {
namespace {

ImageDesc planar_of(ImageDesc image) {
  image.layout = ImageLayout::planar;
  return image;
}

// Sample (x, y) of channel k (in the frame's order) of an interleaved or planar frame.
std::byte* sample_at(const ImageDesc& image, const FramePlanes& planes, int k, int x, int y) {
  const std::size_t sample = bytes_of(image.pixel);
  const auto row = static_cast<std::size_t>(y);
  const auto column = static_cast<std::size_t>(x);
  if (image.planar()) {
    return planes[static_cast<std::size_t>(k)].data + row * planes[static_cast<std::size_t>(k)].pitch +
           column * sample;
  }
  return planes[0].data + row * planes[0].pitch + (3 * column + static_cast<std::size_t>(k)) * sample;
}

// Every sample of `from` into `to`, of the same size and pixel type: interleave or de-interleave.
void copy_samples(const ImageDesc& from_format, const FramePlanes& from,
                  const ImageDesc& to_format, const FramePlanes& to) {
  for (int y = 0; y < from_format.height; ++y) {
    for (int x = 0; x < from_format.width; ++x) {
      for (int k = 0; k < 3; ++k) {
        std::memcpy(sample_at(to_format, to, k, x, y), sample_at(from_format, from, k, x, y),
                    bytes_of(from_format.pixel));
      }
    }
  }
}

// The same samples in both layouts, each with padded pitches and garbage in the padding.
struct FramePair {
  FramePair(const ImageDesc& image, Rng& rng)
      : interleaved_format(image),
        planar_format(planar_of(image)),
        interleaved_layout(plane_layout(interleaved_format, rng)),
        planar_layout(plane_layout(planar_format, rng)),
        interleaved_bytes(random_bytes(interleaved_layout.bytes, rng)),
        planar_bytes(random_bytes(planar_layout.bytes, rng)) {
    copy_samples(interleaved_format, interleaved(), planar_format, planar());
  }
  [[nodiscard]] FramePlanes interleaved() { return interleaved_layout.on(interleaved_bytes.data()); }
  [[nodiscard]] FramePlanes planar() { return planar_layout.on(planar_bytes.data()); }

  // Whether every sample of the planar frame is the interleaved frame's.
  [[nodiscard]] std::string first_sample_difference() {
    const FramePlanes a = interleaved();
    const FramePlanes b = planar();
    for (int y = 0; y < interleaved_format.height; ++y) {
      for (int x = 0; x < interleaved_format.width; ++x) {
        for (int k = 0; k < 3; ++k) {
          if (std::memcmp(sample_at(interleaved_format, a, k, x, y),
                          sample_at(planar_format, b, k, x, y),
                          bytes_of(interleaved_format.pixel)) != 0) {
            return "channel " + std::to_string(k) + " differs at (" + std::to_string(x) + "," +
                   std::to_string(y) + ")";
          }
        }
      }
    }
    return "";
  }

  ImageDesc interleaved_format;
  ImageDesc planar_format;
  PlaneLayout interleaved_layout;
  PlaneLayout planar_layout;
  std::vector<unsigned char> interleaved_bytes;
  std::vector<unsigned char> planar_bytes;
};

constexpr Size planar_sizes[] = {{1, 1}, {2, 3}, {7, 5}, {33, 18}, {64, 47}};

TEST(PlanarRgb, ViewsAndNames) {
  const ImageDesc image{5, 3, PixelType::f32, ChannelOrder::rgb, ImageLayout::planar};
  EXPECT_EQ(plane_count(image), 3);
  EXPECT_EQ(plane_rows(image, 2), 3);
  EXPECT_EQ(plane_row_bytes(image, 1), 5U * 4);
  EXPECT_EQ(sample_bytes_of(image), 4U);
  EXPECT_EQ(bytes_of(FrameFormat{image}), 5U * 3 * 3 * 4);
  std::vector<unsigned char> buffer(image.bytes());
  const FrameView view = packed_view(image, buffer.data());
  const auto* base = reinterpret_cast<std::byte*>(buffer.data());
  EXPECT_EQ(view.planes[1].data, base + 5 * 3 * 4);
  EXPECT_EQ(view.planes[2].data, base + 2 * 5 * 3 * 4);
  EXPECT_EQ(view.planes[2].pitch, 5U * 4);
  EXPECT_TRUE(is_packed(view));
  EXPECT_EQ(to_string(FrameFormat{image}), "5x3 rgb f32 planar");
  EXPECT_EQ(to_string(FrameFormat{ImageDesc{5, 3, PixelType::u8, ChannelOrder::bgr}}), "5x3 bgr u8");
  EXPECT_EQ(bytes_of(PixelType::f16), 2U);
}

// A region of each frame into slice n of a strided tensor: the same bytes.
TEST(PlanarRgb, RegionsGiveTheInterleavedFramesTensor) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const Size size : planar_sizes) {
    for (const PixelType pixel : all_pixels) {
      for (const ChannelOrder order : all_orders) {
        for (const DType dtype : all_dtypes) {
          for (const StrideKind kind : all_stride_kinds) {
            FramePair frames(ImageDesc{size.width, size.height, pixel, order}, rng);
            const Rect roi = rng.uniform_int(0, 3) == 0
                                 ? Rect{0, 0, size.width, size.height}
                                 : random_region(size.width, size.height, false, rng);
            const TensorShape shape{2, 3, roi.height, roi.width};
            TensorView tensor{nullptr, shape, dtype, strides_for(shape, kind, rng)};
            std::vector<unsigned char> from_interleaved = random_bytes(span_bytes(tensor), rng);
            std::vector<unsigned char> from_planar = from_interleaved;
            const int n = rng.uniform_int(0, 1);
            tensor.data = from_interleaved.data();
            frame_to_tensor_cpu(FrameView{frames.interleaved_format, frames.interleaved()}, roi,
                                tensor, n);
            tensor.data = from_planar.data();
            frame_to_tensor_cpu(FrameView{frames.planar_format, frames.planar()}, roi, tensor, n);
            EXPECT_EQ(first_difference(from_planar, from_interleaved), "")
                << describe(frames.planar_format, roi, dtype, kind, n);
          }
        }
      }
    }
  }
}

// A crop of slice n into a region of each frame: the same samples, the padding left alone.
TEST(PlanarRgb, CropsWriteTheInterleavedFramesSamples) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const Size size : planar_sizes) {
    for (const PixelType pixel : all_pixels) {
      for (const ChannelOrder order : all_orders) {
        for (const DType dtype : all_dtypes) {
          for (const StrideKind kind : all_stride_kinds) {
            FramePair frames(ImageDesc{size.width, size.height, pixel, order}, rng);
            const std::vector<unsigned char> planar_before = frames.planar_bytes;
            const Rect destination = rng.uniform_int(0, 3) == 0
                                         ? Rect{0, 0, size.width, size.height}
                                         : random_region(size.width, size.height, false, rng);
            const TensorShape shape{2, 3, destination.height + rng.uniform_int(0, 2),
                                    destination.width + rng.uniform_int(0, 2)};
            const Rect crop{rng.uniform_int(0, shape.w - destination.width),
                            rng.uniform_int(0, shape.h - destination.height), destination.width,
                            destination.height};
            TensorView tensor{nullptr, shape, dtype, strides_for(shape, kind, rng)};
            std::vector<unsigned char> values =
                random_tensor(span_bytes(tensor) / bytes_of(dtype), dtype, pixel, rng);
            tensor.data = values.data();
            const int n = rng.uniform_int(0, 1);
            tensor_to_frame_cpu(tensor, n, crop,
                                FrameView{frames.interleaved_format, frames.interleaved()},
                                destination.x, destination.y);
            tensor_to_frame_cpu(tensor, n, crop, FrameView{frames.planar_format, frames.planar()},
                                destination.x, destination.y);
            const std::string where = describe(frames.planar_format, destination, dtype, kind, n);
            EXPECT_EQ(frames.first_sample_difference(), "") << where;
            // The padding: only samples changed.
            std::vector<unsigned char> padding_check = planar_before;
            copy_samples(frames.planar_format, frames.planar(), frames.planar_format,
                         frames.planar_layout.on(padding_check.data()));
            EXPECT_EQ(first_difference(padding_check, frames.planar_bytes), "") << where;
          }
        }
      }
    }
  }
}

template <class T>
std::vector<T> values_of(const std::vector<unsigned char>& bytes) {
  std::vector<T> out(bytes.size() / sizeof(T));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
  return out;
}

template <class T>
std::vector<unsigned char> bytes_from(const std::vector<T>& values) {
  std::vector<unsigned char> out(values.size() * sizeof(T));
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// Float samples are the tensor's values as they are: out of [0, 1], negative zero, tiny and huge
// values survive frame -> tensor -> frame through a tensor of the same precision bit for bit.
TEST(PlanarRgb, FloatSamplesGoThroughUnscaledAndUnclamped) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  const ImageDesc f32{9, 4, PixelType::f32, ChannelOrder::rgb, ImageLayout::planar};
  std::vector<float> samples(f32.pixels() * 3);
  for (auto& v : samples) {
    v = rng.uniform(-0.5F, 1.5F);
  }
  samples[0] = -0.0F;
  samples[1] = 1e-40F;  // subnormal
  samples[2] = 3e38F;
  samples[3] = -INFINITY;
  const std::vector<unsigned char> frame = bytes_from(samples);
  std::vector<unsigned char> tensor(frame.size());
  frame_to_tensor_cpu(f32, frame.data(), DType::f32, tensor.data());
  EXPECT_EQ(first_difference(tensor, frame), "") << "an f32 frame is its f32 tensor";
  std::vector<unsigned char> back(frame.size());
  tensor_to_frame_cpu(DType::f32, tensor.data(), f32, back.data());
  EXPECT_EQ(first_difference(back, frame), "");

  const ImageDesc f16{9, 4, PixelType::f16, ChannelOrder::bgr, ImageLayout::planar};
  std::vector<std::uint16_t> halves(f16.pixels() * 3);
  for (auto& h : halves) {
    h = float_to_half_bits(rng.uniform(-2.0F, 3.0F));
  }
  halves[5] = 0x0001;  // the smallest subnormal
  halves[6] = 0x7bff;  // the largest finite
  const std::vector<unsigned char> half_frame = bytes_from(halves);
  std::vector<unsigned char> half_tensor(half_frame.size());
  frame_to_tensor_cpu(f16, half_frame.data(), DType::f16, half_tensor.data());
  // BGR: the tensor's R plane is the frame's third plane.
  const std::size_t plane = f16.pixels() * 2;
  EXPECT_EQ(std::memcmp(half_tensor.data(), half_frame.data() + 2 * plane, plane), 0);
  EXPECT_EQ(std::memcmp(half_tensor.data() + plane, half_frame.data() + plane, plane), 0);
  EXPECT_EQ(std::memcmp(half_tensor.data() + 2 * plane, half_frame.data(), plane), 0);
  std::vector<unsigned char> half_back(half_frame.size());
  tensor_to_frame_cpu(DType::f16, half_tensor.data(), f16, half_back.data());
  EXPECT_EQ(first_difference(half_back, half_frame), "");

  // f32 into f16 samples: rounded to nearest even, 1 + 2^-11 (a tie) to 1.
  const ImageDesc one{1, 1, PixelType::f16, ChannelOrder::rgb, ImageLayout::planar};
  const std::vector<float> ties = {1.0F + 0x1p-11F, 1.0F + 3 * 0x1p-11F, -7.0F};
  std::vector<std::uint16_t> out(3);
  tensor_to_frame_cpu(DType::f32, ties.data(), one, out.data());
  EXPECT_EQ(out, (std::vector<std::uint16_t>{0x3c00, 0x3c02, 0xc700}));
}

// NaN of any kind becomes one quiet NaN, the same on both backends.
TEST(PlanarRgb, NanBecomesTheQuietNan) {
  const ImageDesc f32{3, 1, PixelType::f32, ChannelOrder::rgb, ImageLayout::planar};
  const std::vector<float> frame = {std::numeric_limits<float>::signaling_NaN(), -NAN, 0.25F,
                                    NAN, 0.5F, 0.75F, 1.0F, 0.0F, std::bit_cast<float>(0x7f800001U)};
  std::vector<std::uint16_t> tensor(9);
  frame_to_tensor_cpu(f32, frame.data(), DType::f16, tensor.data());
  EXPECT_EQ(tensor[0], 0x7e00);
  EXPECT_EQ(tensor[1], 0x7e00);
  EXPECT_EQ(tensor[2], 0x3400);
  EXPECT_EQ(tensor[3], 0x7e00);
  EXPECT_EQ(tensor[8], 0x7e00);
  std::vector<std::uint16_t> bf(9);
  frame_to_tensor_cpu(f32, frame.data(), DType::bf16, bf.data());
  EXPECT_EQ(bf[0], 0x7fc0);
  std::vector<float> back(9);
  const std::vector<std::uint16_t> nan_tensor(9, 0x7d01);  // a signaling f16 NaN
  tensor_to_frame_cpu(DType::f16, nan_tensor.data(), f32, back.data());
  for (const float v : back) {
    EXPECT_EQ(std::bit_cast<std::uint32_t>(v), 0x7fc00000U);
  }
}

// 10-bit planes (RGB30): codes of 1023, the six bits above them ignored, written back exactly
// through f32 and f16 tensors (f16 steps by at most 2^-11 under 1, under half a 10-bit step).
TEST(PlanarRgb, TenBitCodesRoundTripAndIgnoreTheirTopBits) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  const ImageDesc ten{31, 33, PixelType::u16, ChannelOrder::bgr, ImageLayout::planar, 10};
  EXPECT_EQ(to_string(FrameFormat{ten}), "31x33 bgr u16 10-bit planar");
  std::vector<std::uint16_t> codes(ten.pixels() * 3);
  for (std::size_t i = 0; i < codes.size(); ++i) {
    codes[i] = static_cast<std::uint16_t>(i < 1024 ? i : rng.next() % 1024);
  }
  std::vector<std::uint16_t> dirty = codes;
  for (auto& c : dirty) {
    c = static_cast<std::uint16_t>(c | (rng.next() & 0xfc00U));
  }
  for (const DType dtype : {DType::f32, DType::f16}) {
    const std::size_t bytes = tensor_shape_of(ten).elements() * bytes_of(dtype);
    std::vector<unsigned char> clean_tensor(bytes);
    std::vector<unsigned char> dirty_tensor(bytes);
    frame_to_tensor_cpu(ten, codes.data(), dtype, clean_tensor.data());
    frame_to_tensor_cpu(ten, dirty.data(), dtype, dirty_tensor.data());
    EXPECT_EQ(first_difference(dirty_tensor, clean_tensor), "") << to_string(dtype);
    std::vector<std::uint16_t> back(codes.size());
    tensor_to_frame_cpu(dtype, clean_tensor.data(), ten, back.data());
    EXPECT_EQ(back, codes) << to_string(dtype);
  }
  // 1 is code 1023, and above it too; 0.5 is 511.5, a tie, to the even 512.
  const ImageDesc one{1, 1, PixelType::u16, ChannelOrder::rgb, ImageLayout::planar, 10};
  const std::vector<float> values = {1.0F, 7.0F, 0.5F};
  std::vector<std::uint16_t> out(3);
  tensor_to_frame_cpu(DType::f32, values.data(), one, out.data());
  EXPECT_EQ(out, (std::vector<std::uint16_t>{1023, 1023, 512}));
  // Only planar u16 frames have fewer bits.
  for (const ImageDesc& bad :
       {ImageDesc{4, 4, PixelType::u16, ChannelOrder::rgb, ImageLayout::interleaved, 10},
        ImageDesc{4, 4, PixelType::u8, ChannelOrder::rgb, ImageLayout::planar, 10},
        ImageDesc{4, 4, PixelType::u16, ChannelOrder::rgb, ImageLayout::planar, 8}}) {
    EXPECT_THROW(FrameToTensor(Backend::host, bad, Rect{},
                               TensorView{nullptr, TensorShape{1, 3, 4, 4}, DType::f16}),
                 UsageError)
        << to_string(FrameFormat{bad});
  }
}

TEST(PlanarRgb, InterleavedFramesRefuseFloatSamples) {
  const ImageDesc f32{4, 4, PixelType::f32, ChannelOrder::rgb};
  std::vector<float> frame(3 * 4 * 4);
  std::vector<float> tensor(3 * 4 * 4);
  try {
    frame_to_tensor_cpu(f32, frame.data(), DType::f32, tensor.data());
    ADD_FAILURE() << "an interleaved f32 frame passed";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "pre: f32 samples come in planar frames only, not interleaved ones");
  }
  EXPECT_THROW(FrameToTensor(Backend::host, f32, Rect{},
                             TensorView{nullptr, TensorShape{1, 3, 4, 4}, DType::f16}),
               UsageError);
}

}  // namespace
}  // namespace pyn::test
