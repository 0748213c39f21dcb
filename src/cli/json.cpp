#include "json.hpp"

#include "pynference/trace/text.hpp"

#include <cmath>
#include <cstdio>

namespace pyn::cli {

void Json::key(std::string_view name) {
  if (!first_) {
    text_ += ',';
  }
  first_ = false;
  if (!name.empty()) {
    text_ += trace::json_string(name) + ':';
  }
}

Json& Json::begin_object(std::string_view name) {
  key(name);
  text_ += '{';
  first_ = true;
  return *this;
}

Json& Json::end_object() {
  text_ += '}';
  first_ = false;
  return *this;
}

Json& Json::begin_array(std::string_view name) {
  key(name);
  text_ += '[';
  first_ = true;
  return *this;
}

Json& Json::end_array() {
  text_ += ']';
  first_ = false;
  return *this;
}

Json& Json::field(std::string_view name, std::string_view value) {
  key(name);
  text_ += trace::json_string(value);
  return *this;
}

Json& Json::field(std::string_view name, double value) {
  key(name);
  if (!std::isfinite(value)) {
    text_ += "null";
    return *this;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  text_ += buffer;
  return *this;
}

Json& Json::field(std::string_view name, long long value) {
  key(name);
  text_ += std::to_string(value);
  return *this;
}

Json& Json::field(std::string_view name, bool value) {
  key(name);
  text_ += value ? "true" : "false";
  return *this;
}

}  // namespace pyn::cli
