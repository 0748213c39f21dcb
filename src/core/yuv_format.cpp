// The YUV vocabulary's names.

#include "pynference/core/yuv_format.hpp"

#include <string>

#include "name_table.hpp"

namespace pyn {
namespace {

using detail::NameTable;
using detail::parse;

constexpr NameTable<ChromaLayout, 4> chroma_names{{
    {"yuv420", ChromaLayout::yuv420},
    {"yuv444", ChromaLayout::yuv444},
    {"420", ChromaLayout::yuv420},
    {"444", ChromaLayout::yuv444},
}};

constexpr NameTable<ColorMatrix, 9> matrix_names{{
    {"bt601", ColorMatrix::bt601},
    {"bt709", ColorMatrix::bt709},
    {"bt2020", ColorMatrix::bt2020},
    {"smpte240m", ColorMatrix::smpte240m},
    {"601", ColorMatrix::bt601},
    {"709", ColorMatrix::bt709},
    {"bt2020nc", ColorMatrix::bt2020},
    {"2020", ColorMatrix::bt2020},
    {"240m", ColorMatrix::smpte240m},
}};

constexpr NameTable<ColorRange, 6> range_names{{
    {"limited", ColorRange::limited},
    {"full", ColorRange::full},
    {"tv", ColorRange::limited},
    {"mpeg", ColorRange::limited},
    {"pc", ColorRange::full},
    {"jpeg", ColorRange::full},
}};

template <class Enum, std::size_t N>
std::string_view name_of(const NameTable<Enum, N>& names, Enum value) noexcept {
  for (const auto& [text, known] : names) {
    if (known == value) {
      return text;
    }
  }
  return "unknown";
}

}  // namespace

std::string_view to_string(ChromaLayout layout) noexcept { return name_of(chroma_names, layout); }
std::string_view to_string(ColorMatrix matrix) noexcept { return name_of(matrix_names, matrix); }
std::string_view to_string(ColorRange range) noexcept { return name_of(range_names, range); }

ChromaLayout parse_chroma_layout(std::string_view name) {
  return parse(chroma_names, "chroma layout", name);
}
ColorMatrix parse_color_matrix(std::string_view name) {
  return parse(matrix_names, "colour matrix", name);
}
ColorRange parse_color_range(std::string_view name) {
  return parse(range_names, "colour range", name);
}

std::string to_string(const YuvDesc& desc) {
  return std::to_string(desc.width) + "x" + std::to_string(desc.height) + " " +
         std::string(to_string(desc.chroma)) + " " + std::to_string(desc.bits) + "-bit " +
         std::string(to_string(desc.matrix)) + " " + std::string(to_string(desc.range)) +
         (desc.interleaved_chroma ? " interleaved-chroma" : "") +
         (desc.msb_aligned ? " msb-aligned" : "");
}

}  // namespace pyn
