#include <cmath>
#include <cstdint>

#include "element.hpp"
#include "ops.hpp"

namespace pyn::native {

namespace {

float sigmoid(float x) { return 1.0F / (1.0F + std::exp(-x)); }

}  // namespace

void pointwise_cpu(const PointwiseArgs& p) {
  const auto* a = static_cast<const std::uint16_t*>(p.a);
  const auto* b = static_cast<const std::uint16_t*>(p.b);
  auto* out = static_cast<std::uint16_t*>(p.out);
  const std::size_t total = p.pixels * static_cast<std::size_t>(p.cp);
  for (std::size_t i = 0; i < total; ++i) {
    const auto k = static_cast<std::size_t>(i % static_cast<std::size_t>(p.cp));
    const float x = decode(a[i], p.dtype);
    float y = 0.0F;
    switch (p.kind) {
      case Pointwise::act:
        y = p.activation == Activation::silu ? x * sigmoid(x) : (x > 0.0F ? x : x * p.slopes[k]);
        break;
      case Pointwise::affine:
        y = std::fma(x, p.scale[k], p.shift[k]);  // as the GPU's contraction does
        break;
      case Pointwise::add:
        y = x + decode(b[i], p.dtype);
        break;
      case Pointwise::axpy:
        y = std::fma(x, p.scalar, decode(b[i], p.dtype));
        break;
      case Pointwise::gate:
        y = (x + decode(b[i], p.dtype)) * (sigmoid(x) - 0.5F);
        break;
    }
    out[i] = encode(y, p.dtype);
  }
}

void resize_cpu(const ResizeArgs& r) {
  const auto* in = static_cast<const std::uint16_t*>(r.in);
  auto* out = static_cast<std::uint16_t*>(r.out);
  const int f = r.factor;
  const int oh = r.h * f;
  const int ow = r.w * f;
  for (int image = 0; image < r.n; ++image) {
    for (int y = 0; y < oh; ++y) {
      for (int x = 0; x < ow; ++x) {
        const std::size_t src =
            ((static_cast<std::size_t>(image) * r.h + y / f) * r.w + x / f) * r.in_cp;
        const std::size_t dst = ((static_cast<std::size_t>(image) * oh + y) * ow + x) * r.out_cp;
        for (int k = 0; k < r.out_cp; ++k) {
          const int from = r.shuffle ? k * f * f + (y % f) * f + x % f : k;
          out[dst + k] = k < r.out_c ? in[src + from] : 0;
        }
      }
    }
  }
}

void concat_cpu(const ConcatArgs& c) {
  const auto* in = static_cast<const std::uint16_t*>(c.in);
  auto* out = static_cast<std::uint16_t*>(c.out);
  for (std::size_t p = 0; p < c.pixels; ++p) {
    for (int k = 0; k < c.in_cp; ++k) {
      out[p * c.out_cp + c.offset + k] = in[p * c.in_cp + k];
    }
  }
}

void to_nchw_cpu(const ToNchwArgs& t) {
  const auto* in = static_cast<const std::uint16_t*>(t.in);
  auto* out = static_cast<std::uint16_t*>(t.out);
  const std::size_t pixels = static_cast<std::size_t>(t.h) * t.w;
  for (int image = 0; image < t.n; ++image) {
    for (int c = 0; c < t.c; ++c) {
      for (std::size_t p = 0; p < pixels; ++p) {
        out[(static_cast<std::size_t>(image) * t.c + c) * pixels + p] =
            in[(image * pixels + p) * t.cp + c];
      }
    }
  }
}

}  // namespace pyn::native
