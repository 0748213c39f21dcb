#include "axis.hpp"

#include <algorithm>
#include <cmath>

namespace pyn::trace {

Ticks nice_ticks(double begin_ms, double end_ms, double length, double spacing) {
  Ticks ticks;
  const double span = end_ms - begin_ms;
  if (!(span > 0) || !(length > 0) || !(spacing > 0)) {
    return ticks;
  }
  const double raw = span / std::max(1.0, std::floor(length / spacing));
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * magnitude;
  for (const double factor : {1.0, 2.0, 5.0}) {
    if (factor * magnitude >= raw) {
      step = factor * magnitude;
      break;
    }
  }
  ticks.decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  // Integer multiples of the step, so ticks land on round values without drift.
  const auto first = static_cast<long long>(std::ceil(begin_ms / step - 1e-9));
  const auto last = static_cast<long long>(std::floor(end_ms / step + 1e-9));
  for (long long k = first; k <= last; ++k) {
    ticks.values_ms.push_back(static_cast<double>(k) * step);
  }
  return ticks;
}

}  // namespace pyn::trace
