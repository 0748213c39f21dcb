#pragma once
// A small XML well-formedness checker for the SVG tests: balanced tags, quoted attributes, no raw
// '<' or stray '&' in text or attribute values, one root element. It keeps every element with
// its attributes and unescaped text, so tests can look at what was drawn.

#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pyn::test {

struct XmlElement {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::string text;  // direct character data, entities resolved
  int parent = -1;   // index in the document's elements
};

class XmlDocument {
 public:
  // Throws std::runtime_error naming the offset of the first fault.
  explicit XmlDocument(std::string_view xml) : xml_(xml) { parse(); }

  [[nodiscard]] const std::vector<XmlElement>& elements() const { return elements_; }

  [[nodiscard]] std::vector<const XmlElement*> all(std::string_view name) const {
    std::vector<const XmlElement*> found;
    for (const XmlElement& element : elements_) {
      if (element.name == name) {
        found.push_back(&element);
      }
    }
    return found;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("XML: " + what + " at offset " + std::to_string(at_));
  }
  [[nodiscard]] bool done() const { return at_ >= xml_.size(); }
  [[nodiscard]] bool starts(std::string_view prefix) const {
    return xml_.substr(at_, prefix.size()) == prefix;
  }
  void skip_space() {
    while (!done() &&
           (xml_[at_] == ' ' || xml_[at_] == '\n' || xml_[at_] == '\t' || xml_[at_] == '\r')) {
      ++at_;
    }
  }
  static bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == ':' || c == '.';
  }
  std::string name() {
    const std::size_t begin = at_;
    while (!done() && name_char(xml_[at_])) {
      ++at_;
    }
    if (at_ == begin) {
      fail("expected a name");
    }
    return std::string(xml_.substr(begin, at_ - begin));
  }
  // Resolves one entity at at_ (pointing at '&').
  std::string entity() {
    const std::size_t end = xml_.find(';', at_);
    if (end == std::string_view::npos || end - at_ > 10) {
      fail("a raw '&'");
    }
    const std::string_view body = xml_.substr(at_ + 1, end - at_ - 1);
    at_ = end + 1;
    if (body == "amp") return "&";
    if (body == "lt") return "<";
    if (body == "gt") return ">";
    if (body == "quot") return "\"";
    if (body == "apos") return "'";
    if (body.size() > 1 && body[0] == '#') {
      return "?";  // a character reference; its value does not matter here
    }
    fail("an unknown entity");
  }
  // Character data up to the next '<' (or `quote` inside an attribute).
  std::string characters(char quote) {
    std::string text;
    while (!done() && xml_[at_] != (quote != 0 ? quote : '<')) {
      if (xml_[at_] == '<') {
        fail("a raw '<' in an attribute value");
      }
      if (xml_[at_] == '&') {
        text += entity();
      } else {
        text += xml_[at_++];
      }
    }
    return text;
  }

  void parse() {
    skip_space();
    if (starts("<?xml")) {
      const std::size_t end = xml_.find("?>", at_);
      if (end == std::string_view::npos) {
        fail("an unfinished XML declaration");
      }
      at_ = end + 2;
    }
    skip_space();
    if (done() || xml_[at_] != '<') {
      fail("no root element");
    }
    parse_element(-1);
    skip_space();
    if (!done()) {
      fail("content after the root element");
    }
  }

  void parse_element(int parent) {
    ++at_;  // '<'
    XmlElement element;
    element.name = name();
    element.parent = parent;
    for (;;) {
      skip_space();
      if (done()) {
        fail("an unfinished start tag");
      }
      if (starts("/>") || xml_[at_] == '>') {
        break;
      }
      const std::string attribute = name();
      skip_space();
      if (done() || xml_[at_] != '=') {
        fail("an attribute without a value");
      }
      ++at_;
      skip_space();
      if (done() || (xml_[at_] != '"' && xml_[at_] != '\'')) {
        fail("an unquoted attribute value");
      }
      const char quote = xml_[at_++];
      std::string value = characters(quote);
      if (done()) {
        fail("an unfinished attribute value");
      }
      ++at_;
      if (!element.attributes.emplace(attribute, std::move(value)).second) {
        fail("a repeated attribute");
      }
    }
    const int index = static_cast<int>(elements_.size());
    elements_.push_back(element);
    if (starts("/>")) {
      at_ += 2;
      return;
    }
    ++at_;  // '>'
    for (;;) {
      std::string text = characters(0);
      elements_[static_cast<std::size_t>(index)].text += text;
      if (done()) {
        fail("<" + element.name + "> is never closed");
      }
      if (starts("</")) {
        at_ += 2;
        const std::string closing = name();
        if (closing != element.name) {
          fail("</" + closing + "> closes <" + element.name + ">");
        }
        skip_space();
        if (done() || xml_[at_] != '>') {
          fail("an unfinished end tag");
        }
        ++at_;
        return;
      }
      if (starts("<!--")) {
        const std::size_t end = xml_.find("-->", at_);
        if (end == std::string_view::npos) {
          fail("an unfinished comment");
        }
        at_ = end + 3;
        continue;
      }
      parse_element(index);
    }
  }

  std::string_view xml_;
  std::size_t at_ = 0;
  std::vector<XmlElement> elements_;
};

}  // namespace pyn::test
