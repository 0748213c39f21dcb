#pragma once
// A convolutional stand-in network for the tiling tests, on the host backend only: two weighted
// (2r + 1) x (2r + 1) filters that mix the channels, a smoothstep between them, and a nearest
// upscale. Each output pixel depends on the inputs up to `radius` = r1 + r2 pixels away (the
// frame's edge replicated beyond it), as a real network's receptive field makes it, so a tiled run
// equals a whole-frame run exactly when the tiles' overlap covers that radius and differs when it
// does not.

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <string>
#include <vector>

#include "pynference/core/error.hpp"
#include "pynference/device/device.hpp"
#include "pynference/device/stream.hpp"
#include "pynference/engine/engine.hpp"

namespace pyn::test {

struct ConvOptions {
  int r1 = 1;
  int r2 = 2;
  int scale = 2;
  int multiple = 1;  // output_shape refuses inputs whose sides are not multiples of this
};

// One filter layer over one slice: out[c] = 0.75 * f(in[c]) + 0.25 * f(in[(c + 1) % 3]), f the
// filter with weights 1 / ((|dx| + 1)(|dy| + 1)), normalised.
inline void conv_layer(const float* in, float* out, int width, int height, int r) {
  float total = 0;
  for (int dy = -r; dy <= r; ++dy) {
    for (int dx = -r; dx <= r; ++dx) {
      total += 1.0F / static_cast<float>((std::abs(dx) + 1) * (std::abs(dy) + 1));
    }
  }
  const std::size_t plane = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  std::vector<float> filtered(3 * plane);
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        float sum = 0;
        for (int dy = -r; dy <= r; ++dy) {
          const int sy = std::clamp(y + dy, 0, height - 1);
          for (int dx = -r; dx <= r; ++dx) {
            const int sx = std::clamp(x + dx, 0, width - 1);
            sum += in[static_cast<std::size_t>(c) * plane +
                      static_cast<std::size_t>(sy) * static_cast<std::size_t>(width) +
                      static_cast<std::size_t>(sx)] /
                   static_cast<float>((std::abs(dx) + 1) * (std::abs(dy) + 1));
          }
        }
        filtered[static_cast<std::size_t>(c) * plane +
                 static_cast<std::size_t>(y) * static_cast<std::size_t>(width) +
                 static_cast<std::size_t>(x)] = sum / total;
      }
    }
  }
  for (int c = 0; c < 3; ++c) {
    const float* own = filtered.data() + static_cast<std::size_t>(c) * plane;
    const float* next = filtered.data() + static_cast<std::size_t>((c + 1) % 3) * plane;
    for (std::size_t i = 0; i < plane; ++i) {
      out[static_cast<std::size_t>(c) * plane + i] = 0.75F * own[i] + 0.25F * next[i];
    }
  }
}

// The whole network over every slice of contiguous f32 NCHW tensors.
inline void conv_net(const TensorView& in, const TensorView& out, const ConvOptions& o) {
  const int w = in.shape.w;
  const int h = in.shape.h;
  const std::size_t plane = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
  const std::size_t out_plane = plane * static_cast<std::size_t>(o.scale * o.scale);
  std::vector<float> a(3 * plane);
  std::vector<float> b(3 * plane);
  for (int n = 0; n < in.shape.n; ++n) {
    const float* src = static_cast<const float*>(in.data) + static_cast<std::size_t>(n) * 3 * plane;
    float* dst = static_cast<float*>(out.data) + static_cast<std::size_t>(n) * 3 * out_plane;
    conv_layer(src, a.data(), w, h, o.r1);
    for (float& v : a) {
      v = v * v * (3.0F - 2.0F * v);
    }
    conv_layer(a.data(), b.data(), w, h, o.r2);
    const int ow = w * o.scale;
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < h * o.scale; ++y) {
        for (int x = 0; x < ow; ++x) {
          dst[static_cast<std::size_t>(c) * out_plane +
              static_cast<std::size_t>(y) * static_cast<std::size_t>(ow) +
              static_cast<std::size_t>(x)] =
              b[static_cast<std::size_t>(c) * plane +
                static_cast<std::size_t>(y / o.scale) * static_cast<std::size_t>(w) +
                static_cast<std::size_t>(x / o.scale)];
        }
      }
    }
  }
}

class ConvEngine final : public Engine {
 public:
  explicit ConvEngine(ConvOptions options) : options_(options) {}

  [[nodiscard]] std::string name() const override { return "conv-test"; }
  [[nodiscard]] DType dtype() const override { return DType::f32; }
  [[nodiscard]] int radius() const noexcept { return options_.r1 + options_.r2; }
  [[nodiscard]] TensorShape output_shape(const TensorShape& input) const override {
    if (input.w % options_.multiple != 0 || input.h % options_.multiple != 0) {
      throw UsageError("conv-test takes sides that are multiples of " +
                       std::to_string(options_.multiple) + ", not " + std::to_string(input.w) +
                       "x" + std::to_string(input.h));
    }
    return {input.n, input.c, input.h * options_.scale, input.w * options_.scale};
  }
  void prepare(Stream& stream, const TensorShape& /*input*/) override {
    if (stream.backend() != Backend::host) {
      throw UsageError("conv-test runs on the host backend only");
    }
  }
  void run(Stream& stream, const TensorView& in, const TensorView& out) override {
    stream.enqueue([in, out, o = options_] { conv_net(in, out, o); });
  }

 private:
  ConvOptions options_;
};

}  // namespace pyn::test
