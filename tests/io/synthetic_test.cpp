#include <gtest/gtest.h>

#include <vector>

#include "pynference/device/error.hpp"
#include "pynference/io/sinks.hpp"
#include "pynference/io/synthetic.hpp"
#include "pynference/io/synthetic_reference.hpp"

namespace pyn {
namespace {

TEST(SyntheticSource, PrimeThenReadGivesTheRenderedFrame) {
  const SyntheticSource probe(ImageDesc{37, 11, PixelType::u16, ChannelOrder::bgr}, 5);
  SyntheticSource source(probe.format(), 5);
  std::vector<std::byte> slot(bytes_of(source.format()));
  std::vector<std::byte> rendered(slot.size());
  source.prime(slot);
  for (std::int64_t i = 0; i < 5; ++i) {
    FrameInfo info{i, std::nullopt};
    ASSERT_TRUE(source.read(slot, info));
    EXPECT_FALSE(info.time.has_value()) << "synthetic frames have no time";
    source.render(rendered, i);
    EXPECT_EQ(slot, rendered) << "frame " << i;
  }
  FrameInfo end{5, std::nullopt};
  EXPECT_FALSE(source.read(slot, end));
}

TEST(SyntheticSource, FramesDifferAndAreNotFlat) {
  SyntheticSource source(ImageDesc{64, 4, PixelType::u8, ChannelOrder::rgb}, 3);
  std::vector<std::byte> a(bytes_of(source.format()));
  std::vector<std::byte> b(a.size());
  source.render(a, 0);
  source.render(b, 1);
  EXPECT_NE(hash_bytes(a), hash_bytes(b));
  int distinct = 0;
  for (std::size_t i = 1; i < a.size(); ++i) {
    distinct += a[i] != a[i - 1] ? 1 : 0;
  }
  EXPECT_GT(distinct, static_cast<int>(a.size() / 2));
}

TEST(SyntheticSource, RejectsEmptyFrames) {
  EXPECT_THROW(SyntheticSource(ImageDesc{0, 4, PixelType::u8, ChannelOrder::rgb}, 1), UsageError);
}

TEST(ExpectedOutput, InvertsAndUpscales) {
  SyntheticSource source(ImageDesc{5, 3, PixelType::u8, ChannelOrder::rgb}, 1);
  std::vector<std::byte> in(bytes_of(source.format()));
  source.render(in, 0);
  const std::vector<std::byte> out = expected_synthetic_output(source, 0, DType::f32, 2);
  ASSERT_EQ(out.size(), in.size() * 4);
  // Output pixel (y, x) comes from input pixel (y / 2, x / 2), each channel inverted: 255 - v.
  const std::size_t out_row = 10 * 3;
  for (std::size_t y = 0; y < 6; ++y) {
    for (std::size_t x = 0; x < 10; ++x) {
      for (std::size_t c = 0; c < 3; ++c) {
        const auto src = static_cast<int>(in[(y / 2) * 15 + (x / 2) * 3 + c]);
        EXPECT_EQ(static_cast<int>(out[y * out_row + x * 3 + c]), 255 - src);
      }
    }
  }
}

TEST(CheckingSink, NamesTheFirstDifference) {
  CheckingSink sink([](std::int64_t) { return std::vector<std::byte>(4, std::byte{7}); });
  std::vector<std::byte> frame(4, std::byte{7});
  sink.write(frame, FrameInfo{0, std::nullopt});
  frame[2] = std::byte{8};
  try {
    sink.write(frame, FrameInfo{1, std::nullopt});
    FAIL() << "a different frame must be reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("frame 1"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("byte 2"), std::string::npos);
  }
  EXPECT_EQ(sink.checked(), 1);
}

}  // namespace
}  // namespace pyn
