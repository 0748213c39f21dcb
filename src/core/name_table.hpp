#pragma once
// Enum names for the kernels' parsers: a table of (name, value) pairs, looked up ignoring case,
// with an error that lists what is accepted.

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <string_view>
#include <utility>

#include "pynference/core/error.hpp"

namespace pyn::detail {

// First name of each value is the canonical one, the one to_string gives.
template <class Enum, std::size_t N>
using NameTable = std::array<std::pair<std::string_view, Enum>, N>;

inline bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

template <class Enum, std::size_t N>
Enum parse(const NameTable<Enum, N>& names, std::string_view what, std::string_view name) {
  for (const auto& [text, value] : names) {
    if (equal_ignoring_case(text, name)) {
      return value;
    }
  }
  std::string valid;
  for (const auto& [text, value] : names) {
    valid += valid.empty() ? "" : ", ";
    valid += text;
  }
  throw UsageError("unknown " + std::string(what) + " '" + std::string(name) +
                   "' (valid: " + valid + ")");
}

}  // namespace pyn::detail
