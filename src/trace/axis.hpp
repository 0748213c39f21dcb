#pragma once
// Tick marks for a time axis at round values (1, 2 or 5 times a power of ten), as a reader
// expects from a profiler's ruler.

#include <vector>

namespace pyn::trace {

struct Ticks {
  std::vector<double> values_ms;
  int decimals = 0;  // enough to tell neighbouring ticks apart
};

// About one tick per `spacing` of `length` units (pixels) over [begin_ms, end_ms].
[[nodiscard]] Ticks nice_ticks(double begin_ms, double end_ms, double length, double spacing);

}  // namespace pyn::trace
