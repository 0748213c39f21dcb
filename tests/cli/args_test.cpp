#include <gtest/gtest.h>

#include "args.hpp"
#include "json.hpp"
#include "pynference/device/error.hpp"

namespace pyn::cli {
namespace {

const std::vector<OptionSpec> kSpecs = {
    {"frames", "N", "frames", "10"},
    {"size", "WxH", "size", "8x8"},
    {"check", "", "a flag", ""},
};

TEST(Args, ValuesFlagsAndDefaults) {
  const Args args(kSpecs, {"--frames", "42", "--check", "--size=3x2"});
  EXPECT_EQ(args.integer("frames", 1, 100), 42);
  EXPECT_TRUE(args.flag("check"));
  EXPECT_EQ(parse_size(args.str("size")), std::make_pair(3, 2));
  const Args none(kSpecs, {});
  EXPECT_EQ(none.integer("frames", 1, 100), 10);
  EXPECT_FALSE(none.flag("check"));
}

TEST(Args, ClearErrors) {
  EXPECT_THROW(Args(kSpecs, {"--nope"}), UsageError);
  EXPECT_THROW(Args(kSpecs, {"--frames"}), UsageError);
  EXPECT_THROW(Args(kSpecs, {"stray"}), UsageError);
  EXPECT_THROW(Args(kSpecs, {"--check=1"}), UsageError);
  EXPECT_THROW((void)Args(kSpecs, {"--frames", "0"}).integer("frames", 1, 100), UsageError);
  EXPECT_THROW((void)Args(kSpecs, {"--frames", "3x"}).integer("frames", 1, 100), UsageError);
  for (const char* bad : {"0x5", "5x", "x5", "5", "axb", "99999x2"}) {
    EXPECT_THROW((void)parse_size(bad), UsageError) << bad;
  }
}

TEST(Json, EscapesAndNests) {
  Json json;
  json.begin_object().field("a\"b", "x\ny").begin_array("list").begin_object().field("n", 1).end_object().end_array();
  json.field("ok", true).end_object();
  EXPECT_EQ(json.str(), R"({"a\"b":"x\ny","list":[{"n":1}],"ok":true})");
}

}  // namespace
}  // namespace pyn::cli
