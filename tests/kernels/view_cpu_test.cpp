// Frame and tensor views (core/view.hpp, TensorView's strides) and the conversions over them
// (kernels/convert.hpp) on the CPU: a region of a pitched frame into slice n of a strided tensor,
// and a crop of slice n into a region of a pitched frame, against the packed CPU reference run on
// the region cut out; the bytes around them (padding, other slices, the rest of the frame) stay.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "kernels/prepost_test_util.hpp"
#include "kernels/view_test_util.hpp"
#include "pynference/core/error.hpp"
#include "pynference/device/device.hpp"
#include "pynference/device/stream.hpp"
#include "pynference/kernels/convert.hpp"
#include "pynference/kernels/frame.hpp"

namespace pyn::test {
namespace {

TEST(FrameView, PackedViewLaysPlanesOutAsBytesOf) {
  const YuvDesc desc{1920, 1080, ChromaLayout::yuv420, 10};
  std::vector<unsigned char> buffer(desc.bytes());
  const FrameView view = packed_view(desc, buffer.data());
  const auto* base = reinterpret_cast<std::byte*>(buffer.data());
  EXPECT_EQ(view.planes[0].data, base);
  EXPECT_EQ(view.planes[1].data, base + desc.u_offset());
  EXPECT_EQ(view.planes[2].data, base + desc.v_offset());
  EXPECT_EQ(view.planes[0].pitch, 1920U * 2);
  EXPECT_EQ(view.planes[1].pitch, 960U * 2);
  EXPECT_EQ(plane_rows(desc, 2), 540);
  EXPECT_TRUE(is_packed(view));
  FrameView pitched = view;
  pitched.planes[1].pitch += 64;
  EXPECT_FALSE(is_packed(pitched));

  const ImageDesc image{5, 3, PixelType::u16, ChannelOrder::bgr};
  EXPECT_EQ(plane_count(image), 1);
  EXPECT_EQ(plane_row_bytes(image, 0), 5U * 3 * 2);
  EXPECT_EQ(plane_row_bytes(image, 1), 0U);
  EXPECT_TRUE(is_packed(packed_view(image, buffer.data())));
}

TEST(FrameView, CheckNamesThePlaneAndTheValues) {
  const YuvDesc desc{1920, 1080, ChromaLayout::yuv420, 8};
  std::vector<unsigned char> buffer(desc.bytes());
  FrameView view = packed_view(desc, buffer.data());
  EXPECT_NO_THROW(check_view(view));
  view.planes[1].pitch = 100;
  try {
    check_view(view);
    ADD_FAILURE() << "a pitch under its row passed";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "FrameView plane 1 pitch 100 is under its row of 960 bytes");
  }
  view = packed_view(desc, buffer.data());
  view.planes[2].data = nullptr;
  EXPECT_THROW(check_view(view), UsageError);
  const YuvDesc deep{8, 2, ChromaLayout::yuv444, 10};
  view = packed_view(deep, buffer.data());
  view.planes[0].pitch = 17;  // over the row, not a whole number of samples
  EXPECT_THROW(check_view(view), UsageError);
}

TEST(TensorView, StridesDefaultToContiguousAndSliceSelectsOneBatch) {
  std::vector<std::uint16_t> storage(3 * 3 * 4 * 5);
  const TensorView t{storage.data(), TensorShape{3, 3, 4, 5}, DType::f16};
  EXPECT_TRUE(t.contiguous());
  EXPECT_EQ(t.layout(), contiguous_strides(t.shape));
  const TensorView second = t.slice(2);
  EXPECT_EQ(second.shape, (TensorShape{1, 3, 4, 5}));
  EXPECT_EQ(second.data, storage.data() + 2 * 3 * 4 * 5);
  EXPECT_TRUE(second.contiguous());
  const TensorView strided{storage.data(), TensorShape{2, 3, 2, 2}, DType::f16, {20, 1, 6, 3}};
  EXPECT_FALSE(strided.contiguous());
  EXPECT_EQ(strided.slice(1).data, storage.data() + 20);
  EXPECT_EQ(strided.slice(1).strides, strided.strides);
}

// One frame_to_tensor over views against the packed reference on the region cut out.
void check_to_tensor(const FrameFormat& format, DType dtype, StrideKind kind, Rng& rng) {
  const Rect roi = random_region(width_of(format), height_of(format), is_420(format), rng);
  const PlaneLayout layout = plane_layout(format, rng);
  std::vector<unsigned char> frame = random_bytes(layout.bytes, rng);
  const std::vector<unsigned char> frame_before = frame;
  const FramePlanes planes = layout.on(frame.data());

  const TensorShape shape{3, 3, roi.height, roi.width};
  TensorView tensor{nullptr, shape, dtype, strides_for(shape, kind, rng)};
  std::vector<unsigned char> storage = random_bytes(span_bytes(tensor), rng);
  std::vector<unsigned char> expected = storage;
  tensor.data = storage.data();
  const int n = rng.uniform_int(0, 2);

  frame_to_tensor_cpu(FrameView{format, planes}, roi, tensor, n);

  const FrameFormat small = region_format(format, roi);
  const std::vector<unsigned char> cut = extract_region(format, planes, roi);
  std::vector<unsigned char> packed(tensor_shape_of(small).elements() * bytes_of(dtype));
  frame_to_tensor_cpu(small, cut.data(), dtype, packed.data());
  paste_slice(TensorView{expected.data(), shape, dtype, tensor.strides}, n,
              Rect{0, 0, roi.width, roi.height}, packed);
  EXPECT_EQ(first_difference(storage, expected), "") << describe(format, roi, dtype, kind, n);
  EXPECT_EQ(frame, frame_before) << "the source frame was written";
}

// One tensor_to_frame over views against the packed reference, pasted into the frame.
void check_to_frame(const FrameFormat& format, DType dtype, StrideKind kind, Rng& rng) {
  const Rect destination = random_region(width_of(format), height_of(format), is_420(format), rng);
  const TensorShape shape{3, 3, destination.height + rng.uniform_int(0, 3),
                          destination.width + rng.uniform_int(0, 3)};
  const Rect crop{rng.uniform_int(0, shape.w - destination.width),
                  rng.uniform_int(0, shape.h - destination.height), destination.width,
                  destination.height};
  TensorView tensor{nullptr, shape, dtype, strides_for(shape, kind, rng)};
  const std::size_t elements = span_bytes(tensor) / bytes_of(dtype);
  std::vector<unsigned char> storage = random_tensor(
      elements, dtype, sample_bytes_of(format) == 1 ? PixelType::u8 : PixelType::u16, rng);
  const std::vector<unsigned char> storage_before = storage;
  tensor.data = storage.data();
  const int n = rng.uniform_int(0, 2);

  const PlaneLayout layout = plane_layout(format, rng);
  std::vector<unsigned char> frame = random_bytes(layout.bytes, rng);
  std::vector<unsigned char> expected = frame;
  tensor_to_frame_cpu(tensor, n, crop, FrameView{format, layout.on(frame.data())}, destination.x,
                      destination.y);

  const FrameFormat small = region_format(format, destination);
  const std::vector<unsigned char> cut = extract_slice(tensor, n, crop);
  std::vector<unsigned char> packed(bytes_of(small));
  tensor_to_frame_cpu(dtype, cut.data(), small, packed.data());
  paste_region(format, layout.on(expected.data()), destination, packed);
  EXPECT_EQ(first_difference(frame, expected), "")
      << describe(format, destination, dtype, kind, n) << " crop " << to_string(crop);
  EXPECT_EQ(storage, storage_before) << "the source tensor was written";
}

constexpr Size view_sizes[] = {{1, 1}, {2, 2}, {7, 5}, {16, 9}, {33, 18}, {64, 47}};

TEST(FrameToTensorCpu, RegionsOfPitchedFramesIntoSlicesOfStridedTensors) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const Size size : view_sizes) {
    for (const FrameFormat& format : view_formats(size.width, size.height)) {
      for (const DType dtype : all_dtypes) {
        for (const StrideKind kind : all_stride_kinds) {
          for (int round = 0; round < 3; ++round) {
            check_to_tensor(format, dtype, kind, rng);
          }
        }
      }
    }
  }
}

TEST(TensorToFrameCpu, CropsOfStridedSlicesIntoRegionsOfPitchedFrames) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const Size size : view_sizes) {
    for (const FrameFormat& format : view_formats(size.width, size.height)) {
      for (const DType dtype : all_dtypes) {
        for (const StrideKind kind : all_stride_kinds) {
          for (int round = 0; round < 3; ++round) {
            check_to_frame(format, dtype, kind, rng);
          }
        }
      }
    }
  }
}

// The whole packed frame through the view API takes the packed path: the same bytes as the
// packed entry points, in slice n of an N = 3 tensor.
TEST(FrameToTensorCpu, WholePackedFrameIntoSliceNMatchesThePackedCall) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const FrameFormat& format : view_formats(18, 11)) {
    for (const DType dtype : all_dtypes) {
      const std::vector<unsigned char> frame = random_bytes(bytes_of(format), rng);
      const TensorShape one = tensor_shape_of(format);
      std::vector<unsigned char> packed(one.elements() * bytes_of(dtype));
      frame_to_tensor_cpu(format, frame.data(), dtype, packed.data());
      const TensorShape three{3, 3, one.h, one.w};
      std::vector<unsigned char> storage = random_bytes(three.elements() * bytes_of(dtype), rng);
      std::vector<unsigned char> expected = storage;
      std::memcpy(expected.data() + packed.size(), packed.data(), packed.size());
      frame_to_tensor_cpu(packed_view(format, frame.data()), Rect{},
                          TensorView{storage.data(), three, dtype}, 1);
      EXPECT_EQ(first_difference(storage, expected), "") << to_string(format);
    }
  }
}

class ViewHostStream : public ::testing::Test {
 protected:
  Device device_ = Device::open(DeviceSpec::parse("cpu"));
  Stream stream_ = device_.make_stream();
};

// A conversion prepared once runs frame after frame in stream order, each into its own slice, and
// gives what the CPU reference gives on the calling thread.
TEST_F(ViewHostStream, PreparedConversionsRunInStreamOrder) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const FrameFormat& format : view_formats(21, 14)) {
    const DType dtype = all_dtypes[rng.next() % 3];
    const Rect roi = random_region(21, 14, is_420(format), rng);
    const TensorShape shape{3, 3, roi.height, roi.width};
    TensorView layout{nullptr, shape, dtype, strides_for(shape, StrideKind::padded, rng)};
    const FrameToTensor to_tensor(Backend::host, format, roi, layout);
    const TensorToFrame to_frame(Backend::host, layout, Rect{}, format, roi.x, roi.y);

    const PlaneLayout planes = plane_layout(format, rng);
    std::vector<std::vector<unsigned char>> frames;
    for (int n = 0; n < 3; ++n) {
      frames.push_back(random_bytes(planes.bytes, rng));
    }
    std::vector<unsigned char> tensor = random_bytes(span_bytes(layout), rng);
    std::vector<unsigned char> expected_tensor = tensor;
    for (int n = 0; n < 3; ++n) {
      to_tensor(stream_, planes.on(frames[static_cast<std::size_t>(n)].data()), tensor.data(), n);
      to_tensor.run_cpu(planes.on(frames[static_cast<std::size_t>(n)].data()),
                        expected_tensor.data(), n);
    }
    std::vector<unsigned char> out = random_bytes(planes.bytes, rng);
    std::vector<unsigned char> expected_out = out;
    stream_.synchronize();
    to_frame(stream_, tensor.data(), 1, planes.on(out.data()));
    to_frame.run_cpu(expected_tensor.data(), 1, planes.on(expected_out.data()));
    stream_.synchronize();
    EXPECT_EQ(first_difference(tensor, expected_tensor), "") << to_string(format);
    EXPECT_EQ(first_difference(out, expected_out), "") << to_string(format);
  }
}

TEST_F(ViewHostStream, ViewCallsThroughTheStream) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  const YuvDesc desc{20, 10, ChromaLayout::yuv420, 10};
  const Rect roi{4, 2, 16, 8};
  const PlaneLayout layout = plane_layout(desc, rng);
  std::vector<unsigned char> frame = random_bytes(layout.bytes, rng);
  const TensorShape shape{2, 3, 8, 16};
  std::vector<unsigned char> tensor(shape.elements() * 2);
  std::vector<unsigned char> expected = tensor;
  const TensorView view{tensor.data(), shape, DType::bf16};
  frame_to_tensor(stream_, FrameView{desc, layout.on(frame.data())}, roi, view, 1);
  stream_.synchronize();
  frame_to_tensor_cpu(FrameView{desc, layout.on(frame.data())}, roi,
                      TensorView{expected.data(), shape, DType::bf16}, 1);
  EXPECT_EQ(first_difference(tensor, expected), "");

  std::vector<unsigned char> out = random_bytes(layout.bytes, rng);
  std::vector<unsigned char> expected_out = out;
  tensor_to_frame(stream_, view, 1, Rect{2, 2, 12, 6}, FrameView{desc, layout.on(out.data())}, 8,
                  4);
  stream_.synchronize();
  tensor_to_frame_cpu(view, 1, Rect{2, 2, 12, 6}, FrameView{desc, layout.on(expected_out.data())},
                      8, 4);
  EXPECT_EQ(first_difference(out, expected_out), "");
}

// Each refusal is a UsageError of one line that names what is wrong.
void expect_refused(const std::function<void()>& call, const std::string& names) {
  try {
    call();
    ADD_FAILURE() << "not refused; wanted an error naming \"" << names << "\"";
  } catch (const UsageError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find(names), std::string::npos) << message;
  }
}

TEST_F(ViewHostStream, RefusesBadRegionsPitchesAndSlices) {
  const YuvDesc desc{8, 6, ChromaLayout::yuv420, 8};
  std::vector<unsigned char> frame(desc.bytes() * 2);
  const FrameView view = packed_view(desc, frame.data());
  std::vector<float> storage(3 * 3 * 6 * 8);
  const auto tensor = [&](int n, int h, int w) {
    return TensorView{storage.data(), TensorShape{n, 3, h, w}, DType::f32};
  };
  // 4:2:0 regions: odd offsets, odd sizes short of the edge; odd sizes at the edge are fine.
  expect_refused(
      [&] {
        frame_to_tensor_cpu(view, Rect{1, 0, 4, 4}, tensor(1, 4, 4), 0);
      },
      "4:2:0 roi {1,0,4,4} starts at an odd x or y");
  expect_refused(
      [&] {
        frame_to_tensor_cpu(view, Rect{0, 2, 3, 4}, tensor(1, 4, 3), 0);
      },
      "4:2:0 roi {0,2,3,4} has an odd width");
  expect_refused(
      [&] {
        frame_to_tensor_cpu(view, Rect{2, 0, 4, 5}, tensor(1, 5, 4), 0);
      },
      "4:2:0 roi {2,0,4,5} has an odd height");
  const YuvDesc odd{7, 5, ChromaLayout::yuv420, 8};
  EXPECT_NO_THROW(
      frame_to_tensor_cpu(packed_view(odd, frame.data()), Rect{4, 2, 3, 3}, tensor(1, 3, 3), 0));
  expect_refused([&] { tensor_to_frame_cpu(tensor(1, 4, 4), 0, Rect{}, view, 3, 0); },
                 "4:2:0 destination {3,0,4,4} starts at an odd x or y");
  // Regions outside the frame or the slice, and a roi of another size than the tensor.
  expect_refused(
      [&] {
        frame_to_tensor_cpu(view, Rect{6, 0, 4, 4}, tensor(1, 4, 4), 0);
      },
      "roi {6,0,4,4} is outside the 8x6 frame");
  expect_refused(
      [&] {
        frame_to_tensor_cpu(view, Rect{-2, 0, 4, 4}, tensor(1, 4, 4), 0);
      },
      "roi {-2,0,4,4} is outside the 8x6 frame");
  expect_refused(
      [&] {
        frame_to_tensor_cpu(view, Rect{0, 0, 4, 4}, tensor(1, 4, 6), 0);
      },
      "roi {0,0,4,4} is 4x4 but the tensor's W x H is 6x4");
  expect_refused(
      [&] {
        tensor_to_frame_cpu(tensor(1, 4, 4), 0, Rect{2, 2, 4, 4}, view, 0, 0);
      },
      "crop {2,2,4,4} is outside the tensor's 4x4 slice");
  expect_refused([&] { tensor_to_frame_cpu(tensor(1, 4, 4), 0, Rect{}, view, 6, 0); },
                 "destination {6,0,4,4} is outside the 8x6 frame");
  // n out of range.
  expect_refused([&] { frame_to_tensor_cpu(view, Rect{}, tensor(3, 6, 8), 3); },
                 "slice n 3 is outside the tensor's N of 3");
  expect_refused([&] { tensor_to_frame_cpu(tensor(3, 6, 8), -1, Rect{}, view, 0, 0); },
                 "slice n -1 is outside the tensor's N of 3");
  // A pitch too small, a null plane, a misaligned 10-bit plane.
  FrameView narrow = view;
  narrow.planes[1].pitch = 3;
  expect_refused([&] { frame_to_tensor_cpu(narrow, Rect{}, tensor(1, 6, 8), 0); },
                 "yuv_to_tensor: FrameView plane 1 pitch 3 is under its row of 4 bytes");
  FrameView missing = view;
  missing.planes[2].data = nullptr;
  expect_refused([&] { tensor_to_frame_cpu(tensor(1, 6, 8), 0, Rect{}, missing, 0, 0); },
                 "FrameView plane 2 pointer is null");
  const YuvDesc deep{8, 6, ChromaLayout::yuv444, 10};
  FrameView shifted = packed_view(deep, frame.data());
  shifted.planes[0].data += 1;
  expect_refused([&] { frame_to_tensor_cpu(shifted, Rect{}, tensor(1, 6, 8), 0); },
                 "FrameView plane 0 pointer is not aligned to its 2-byte samples");
  // Tensors: not 3 channels, strides under 1, a null base; and a stream of another backend.
  expect_refused(
      [&] {
        frame_to_tensor_cpu(view, Rect{}, TensorView{storage.data(), {1, 1, 6, 8}, DType::f32}, 0);
      },
      "tensor shape {1,1,6,8}");
  expect_refused(
      [&] {
        frame_to_tensor_cpu(
            view, Rect{}, TensorView{storage.data(), {1, 3, 6, 8}, DType::f32, {144, 48, 8, 0}}, 0);
      },
      "tensor strides {144,48,8,0}");
  expect_refused(
      [&] {
        frame_to_tensor_cpu(view, Rect{}, TensorView{nullptr, {1, 3, 6, 8}, DType::f32}, 0);
      },
      "tensor pointer is null");
  const FrameToTensor for_gpu(Backend::cuda, desc, Rect{}, tensor(1, 6, 8));
  expect_refused([&] { for_gpu(stream_, view.planes, storage.data(), 0); },
                 "prepared for the cuda one");
}

}  // namespace
}  // namespace pyn::test
