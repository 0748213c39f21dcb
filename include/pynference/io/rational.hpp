#pragma once
// A ratio as containers store frame rates, time bases and aspect ratios.

namespace pyn {

// 0:0 means unknown.
struct Rational {
  int num = 0;
  int den = 0;
  friend constexpr bool operator==(const Rational&, const Rational&) = default;
};

}  // namespace pyn
