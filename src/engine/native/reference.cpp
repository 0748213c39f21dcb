#include "reference.hpp"

#include <cstddef>
#include <vector>

namespace pyn::native {

namespace {

// One 3x3 convolution, zero padding 1, over NHWC [h][w][cin] -> [h][w][cout], then the activation.
void conv_cpu(const ConvLayer& layer, const std::vector<float>& slopes, const float* in, int h,
              int w, float* out) {
  const int cin = layer.cin;
  const int cout = layer.cout;
  // [ky][kx][co][ci]: the inner loop runs along ci in both operands.
  std::vector<float> taps(layer.weight.size());
  for (int co = 0; co < cout; ++co) {
    for (int ci = 0; ci < cin; ++ci) {
      for (int k = 0; k < 9; ++k) {
        taps[(static_cast<std::size_t>(k) * cout + co) * cin + ci] =
            layer.weight[(static_cast<std::size_t>(co) * cin + ci) * 9 + k];
      }
    }
  }
  std::vector<float> sum(static_cast<std::size_t>(cout));
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      sum.assign(layer.bias.begin(), layer.bias.end());
      for (int k = 0; k < 9; ++k) {
        const int sy = y + k / 3 - 1;
        const int sx = x + k % 3 - 1;
        if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
          continue;
        }
        const float* pixel = in + (static_cast<std::size_t>(sy) * w + sx) * cin;
        const float* tap = taps.data() + static_cast<std::size_t>(k) * cout * cin;
        for (int co = 0; co < cout; ++co) {
          float acc = 0.0F;
          for (int ci = 0; ci < cin; ++ci) {
            acc += tap[static_cast<std::size_t>(co) * cin + ci] * pixel[ci];
          }
          sum[static_cast<std::size_t>(co)] += acc;
        }
      }
      float* dst = out + (static_cast<std::size_t>(y) * w + x) * cout;
      for (int co = 0; co < cout; ++co) {
        const float v = sum[static_cast<std::size_t>(co)];
        dst[co] = v > 0.0F ? v : v * slopes[static_cast<std::size_t>(co)];
      }
    }
  }
}

}  // namespace

void forward_cpu(const Plan& plan, const float* in, int n, int h, int w, float* out) {
  const int s = plan.scale;
  const std::size_t pixels = static_cast<std::size_t>(h) * w;
  std::vector<float> a;
  std::vector<float> b;
  for (int image = 0; image < n; ++image) {
    const float* src = in + static_cast<std::size_t>(image) * plan.input * pixels;
    a.assign(pixels * plan.input, 0.0F);
    for (int c = 0; c < plan.input; ++c) {
      for (std::size_t p = 0; p < pixels; ++p) {
        a[p * plan.input + c] = src[c * pixels + p];
      }
    }
    for (const ConvLayer& layer : plan.convs) {
      b.assign(pixels * layer.cout, 0.0F);
      conv_cpu(layer, negative_slopes(layer), a.data(), h, w, b.data());
      a.swap(b);
    }
    // a: [h][w][output * s * s]. Pixel shuffle: channel c * s^2 + i * s + j goes to (y*s+i, x*s+j).
    const int channels = plan.convs.back().cout;
    float* dst = out + static_cast<std::size_t>(image) * plan.output * pixels * s * s;
    const int oh = h * s;
    const int ow = w * s;
    for (int c = 0; c < plan.output; ++c) {
      for (int y = 0; y < oh; ++y) {
        for (int x = 0; x < ow; ++x) {
          const std::size_t p = static_cast<std::size_t>(y / s) * w + x / s;
          float v = a[p * channels + static_cast<std::size_t>(c * s * s + (y % s) * s + x % s)];
          if (plan.skip_nearest) {
            v += src[c * pixels + p];
          }
          dst[(static_cast<std::size_t>(c) * oh + y) * ow + x] = v;
        }
      }
    }
  }
}

}  // namespace pyn::native
