// Span kinds by name and colour. The GPU colours follow the study's legend (green H2D, blue
// compute, red/purple D2H); host work is muted so the eye goes to the GPU lanes first.

#include "pynference/trace/timeline.hpp"

namespace pyn {

std::string_view to_string(SpanKind kind) noexcept {
  switch (kind) {
    case SpanKind::h2d:
      return "h2d";
    case SpanKind::compute:
      return "compute";
    case SpanKind::d2h:
      return "d2h";
    case SpanKind::source:
      return "source";
    case SpanKind::sink:
      return "sink";
    case SpanKind::issue:
      return "issue";
  }
  return "?";
}

std::string_view span_colour(SpanKind kind) noexcept {
  switch (kind) {
    case SpanKind::h2d:
      return "#2ca02c";
    case SpanKind::compute:
      return "#4a6cd4";
    case SpanKind::d2h:
      return "#c043b0";
    case SpanKind::source:
      return "#d9a53f";
    case SpanKind::sink:
      return "#b08d5a";
    case SpanKind::issue:
      return "#a3a3a3";
  }
  return "#000000";
}

}  // namespace pyn
