#include "pynference/kernels/image.hpp"

#include <gtest/gtest.h>

#include <string>

#include "pynference/device/error.hpp"

namespace pyn {
namespace {

TEST(ImageNames, ParseAcceptsCanonicalNamesAndAliases) {
  EXPECT_EQ(parse_dtype("f32"), DType::f32);
  EXPECT_EQ(parse_dtype("fp32"), DType::f32);
  EXPECT_EQ(parse_dtype("f16"), DType::f16);
  EXPECT_EQ(parse_dtype("FP16"), DType::f16);
  EXPECT_EQ(parse_dtype("bf16"), DType::bf16);
  EXPECT_EQ(parse_pixel_type("u8"), PixelType::u8);
  EXPECT_EQ(parse_pixel_type("u16"), PixelType::u16);
}

TEST(ImageNames, ToStringRoundTrips) {
  for (const auto t : {DType::f32, DType::f16, DType::bf16}) {
    EXPECT_EQ(parse_dtype(to_string(t)), t);
  }
  for (const auto t : {PixelType::u8, PixelType::u16}) {
    EXPECT_EQ(parse_pixel_type(to_string(t)), t);
  }
  EXPECT_EQ(to_string(ChannelOrder::rgb), "rgb");
  EXPECT_EQ(to_string(ChannelOrder::bgr), "bgr");
}

TEST(ImageNames, UnknownNamesListTheValidOnes) {
  try {
    (void)parse_dtype("f64");
    FAIL() << "f64 was accepted";
  } catch (const UsageError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("f64"), std::string::npos) << message;
    EXPECT_NE(message.find("bf16"), std::string::npos) << message;
  }
  EXPECT_THROW((void)parse_pixel_type("u32"), UsageError);
  EXPECT_THROW((void)parse_pixel_type(""), UsageError);
}

}  // namespace
}  // namespace pyn
