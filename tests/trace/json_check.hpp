#pragma once
// A small strict JSON parser for the trace tests (RFC 8259: no trailing commas, no comments, no
// NaN), into a tree the tests can walk.

#include <cstddef>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pyn::test {

struct JsonValue {
  enum class Type { null, boolean, number, string, array, object };
  Type type = Type::null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<JsonValue> array;
  std::map<std::string, JsonValue> object;

  [[nodiscard]] const JsonValue& at(const std::string& key) const {
    const auto found = object.find(key);
    if (type != Type::object || found == object.end()) {
      throw std::runtime_error("JSON: no member \"" + key + "\"");
    }
    return found->second;
  }
  [[nodiscard]] bool has(const std::string& key) const {
    return type == Type::object && object.count(key) != 0;
  }
};

class JsonParser {
 public:
  // Throws std::runtime_error naming the offset of the first fault.
  static JsonValue parse(std::string_view text) {
    JsonParser parser(text);
    JsonValue value = parser.value();
    parser.skip_space();
    if (parser.at_ != text.size()) {
      parser.fail("content after the value");
    }
    return value;
  }

 private:
  explicit JsonParser(std::string_view text) : text_(text) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("JSON: " + what + " at offset " + std::to_string(at_));
  }
  void skip_space() {
    while (at_ < text_.size() &&
           (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\t' || text_[at_] == '\r')) {
      ++at_;
    }
  }
  char peek() {
    skip_space();
    if (at_ >= text_.size()) {
      fail("unexpected end");
    }
    return text_[at_];
  }
  void expect(char c) {
    if (peek() != c) {
      fail(std::string("expected '") + c + "'");
    }
    ++at_;
  }
  void literal(std::string_view word) {
    if (text_.substr(at_, word.size()) != word) {
      fail("a bad literal");
    }
    at_ += word.size();
  }

  JsonValue value() {
    JsonValue v;
    switch (peek()) {
      case '{':
        v.type = JsonValue::Type::object;
        ++at_;
        if (peek() == '}') {
          ++at_;
          return v;
        }
        for (;;) {
          if (peek() != '"') {
            fail("an object key that is not a string");
          }
          std::string key = string();
          expect(':');
          JsonValue member = value();
          if (!v.object.emplace(std::move(key), std::move(member)).second) {
            fail("a repeated key");
          }
          if (peek() == ',') {
            ++at_;
            continue;
          }
          expect('}');
          return v;
        }
      case '[':
        v.type = JsonValue::Type::array;
        ++at_;
        if (peek() == ']') {
          ++at_;
          return v;
        }
        for (;;) {
          v.array.push_back(value());
          if (peek() == ',') {
            ++at_;
            continue;
          }
          expect(']');
          return v;
        }
      case '"':
        v.type = JsonValue::Type::string;
        v.string = string();
        return v;
      case 't':
        literal("true");
        v.type = JsonValue::Type::boolean;
        v.boolean = true;
        return v;
      case 'f':
        literal("false");
        v.type = JsonValue::Type::boolean;
        return v;
      case 'n':
        literal("null");
        return v;
      default:
        v.type = JsonValue::Type::number;
        v.number = number();
        return v;
    }
  }

  std::string string() {
    ++at_;  // '"'
    std::string out;
    for (;;) {
      if (at_ >= text_.size()) {
        fail("an unfinished string");
      }
      const char c = text_[at_++];
      if (c == '"') {
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        fail("a raw control character in a string");
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_ >= text_.size()) {
        fail("an unfinished escape");
      }
      const char e = text_[at_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          if (at_ + 4 > text_.size()) {
            fail("a short \\u escape");
          }
          const std::string hex(text_.substr(at_, 4));
          char* end = nullptr;
          const long code = std::strtol(hex.c_str(), &end, 16);
          if (end != hex.c_str() + 4) {
            fail("a bad \\u escape");
          }
          at_ += 4;
          out += code < 0x80 ? static_cast<char>(code) : '?';  // ASCII is all the tests need
          break;
        }
        default:
          fail("an unknown escape");
      }
    }
  }

  double number() {
    // -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
    const std::size_t begin = at_;
    auto digits = [&] {
      const std::size_t from = at_;
      while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') {
        ++at_;
      }
      if (at_ == from) {
        fail("expected a digit");
      }
    };
    if (text_[at_] == '-') {
      ++at_;
    }
    if (at_ < text_.size() && text_[at_] == '0') {
      ++at_;
    } else {
      digits();
    }
    if (at_ < text_.size() && text_[at_] == '.') {
      ++at_;
      digits();
    }
    if (at_ < text_.size() && (text_[at_] == 'e' || text_[at_] == 'E')) {
      ++at_;
      if (at_ < text_.size() && (text_[at_] == '+' || text_[at_] == '-')) {
        ++at_;
      }
      digits();
    }
    return std::strtod(std::string(text_.substr(begin, at_ - begin)).c_str(), nullptr);
  }

  std::string_view text_;
  std::size_t at_ = 0;
};

}  // namespace pyn::test
