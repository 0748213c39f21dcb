#include "pynference/core/types.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <utility>

#include "name_table.hpp"
#include "pynference/core/error.hpp"

namespace pyn {
namespace {

using detail::NameTable;
using detail::parse;

constexpr NameTable<DType, 5> dtype_names{{
    {"f32", DType::f32},
    {"f16", DType::f16},
    {"bf16", DType::bf16},
    {"fp32", DType::f32},
    {"fp16", DType::f16},
}};

constexpr NameTable<PixelType, 2> pixel_names{{
    {"u8", PixelType::u8},
    {"u16", PixelType::u16},
}};

}  // namespace

std::string_view to_string(PixelType t) noexcept {
  switch (t) {
    case PixelType::u8:
      return "u8";
    case PixelType::u16:
      return "u16";
    case PixelType::f16:
      return "f16";
    case PixelType::f32:
      return "f32";
  }
  return "unknown";
}

std::string_view to_string(ImageLayout l) noexcept {
  return l == ImageLayout::interleaved ? "interleaved"
         : l == ImageLayout::planar    ? "planar"
                                       : "unknown";
}

std::string_view to_string(ChannelOrder o) noexcept {
  return o == ChannelOrder::rgb ? "rgb" : o == ChannelOrder::bgr ? "bgr" : "unknown";
}

std::string_view to_string(DType t) noexcept {
  switch (t) {
    case DType::f32:
      return "f32";
    case DType::f16:
      return "f16";
    case DType::bf16:
      return "bf16";
  }
  return "unknown";
}

DType parse_dtype(std::string_view name) { return parse(dtype_names, "dtype", name); }

PixelType parse_pixel_type(std::string_view name) { return parse(pixel_names, "pixel type", name); }

}  // namespace pyn
