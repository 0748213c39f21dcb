#pragma once
// A minimal JSON writer for reports: objects, arrays, strings, numbers, booleans.

#include <string>
#include <string_view>

namespace pyn::cli {

class Json {
 public:
  Json& begin_object(std::string_view key = {});
  Json& end_object();
  Json& begin_array(std::string_view key = {});
  Json& end_array();
  Json& field(std::string_view key, std::string_view value);
  Json& field(std::string_view key, const char* value) { return field(key, std::string_view(value)); }
  Json& field(std::string_view key, double value);
  Json& field(std::string_view key, long long value);
  Json& field(std::string_view key, int value) { return field(key, static_cast<long long>(value)); }
  Json& field(std::string_view key, bool value);
  // An element of the array being written.
  Json& value(double number) { return field({}, number); }
  [[nodiscard]] const std::string& str() const { return text_; }

 private:
  void key(std::string_view name);
  std::string text_;
  bool first_ = true;
};

}  // namespace pyn::cli
