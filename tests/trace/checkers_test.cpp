// The tests' own XML and JSON checkers: a checker that accepts anything proves nothing.

#include <gtest/gtest.h>

#include <stdexcept>

#include "json_check.hpp"
#include "xml_check.hpp"

namespace pyn::test {
namespace {

TEST(XmlCheck, AcceptsWellFormedXml) {
  const XmlDocument doc(
      "<?xml version=\"1.0\"?>\n<svg a=\"1\" b='2'><g><text x=\"0\">a &amp; b &lt;c&gt;</text>"
      "<rect/></g><!-- note --></svg>\n");
  ASSERT_EQ(doc.elements().size(), 4U);
  EXPECT_EQ(doc.all("text").front()->text, "a & b <c>");
  EXPECT_EQ(doc.elements().front().attributes.at("b"), "2");
}

TEST(XmlCheck, RejectsMalformedXml) {
  for (const char* bad : {"<svg><g></svg>", "<svg>", "<svg a=1></svg>", "<svg>a < b</svg>",
                          "<svg>a & b</svg>", "<svg a=\"<\"></svg>", "<svg></svg><svg></svg>",
                          "<svg a=\"1\" a=\"2\"/>", "text", "<svg><rect></svg>"}) {
    EXPECT_THROW(XmlDocument{bad}, std::runtime_error) << bad;
  }
}

TEST(JsonCheck, AcceptsValidJson) {
  const JsonValue v =
      JsonParser::parse(R"({"a":[1,-2.5,3e2,true,false,null],"b":{"c":"x\"y\\z\n\u0041"},"d":[]})");
  EXPECT_EQ(v.at("a").array.size(), 6U);
  EXPECT_DOUBLE_EQ(v.at("a").array[2].number, 300.0);
  EXPECT_EQ(v.at("b").at("c").string, "x\"y\\z\nA");
}

TEST(JsonCheck, RejectsInvalidJson) {
  for (const char* bad : {"{", "[1,]", "{\"a\":1,}", "{a:1}", "[01]", "[1.]", "[nan]", "[\"a\nb\"]",
                          "{\"a\":1}{", "[\"\\x\"]", "{\"a\":1,\"a\":2}", "[.5]"}) {
    EXPECT_THROW(JsonParser::parse(bad), std::runtime_error) << bad;
  }
}

}  // namespace
}  // namespace pyn::test
