#pragma once
// Text the trace writers share: numbers that read the same on every machine and locale, and
// escaping for the two formats they write.

#include <string>
#include <string_view>

namespace pyn::trace {

// `value` with exactly `decimals` digits after the point; never "-0", never "nan" (non-finite
// values are written as 0, since neither JSON nor SVG can hold them).
[[nodiscard]] std::string fixed(double value, int decimals);

// For XML text and attribute values alike.
[[nodiscard]] std::string xml_escape(std::string_view text);

// A JSON string literal, quotes included.
[[nodiscard]] std::string json_string(std::string_view text);

}  // namespace pyn::trace
