#include "reference.hpp"

#include <cmath>
#include <cstddef>
#include <vector>

namespace pyn::native {

namespace {

// One image's tensor: NHWC [h][w][c], fp32.
struct Tensor {
  int h = 0;
  int w = 0;
  int c = 0;
  std::vector<float> v;
  [[nodiscard]] std::size_t pixels() const { return static_cast<std::size_t>(h) * w; }
};

float activate(float x, Activation a, float negative) {
  if (a == Activation::silu) {
    return x / (1.0F + std::exp(-x));
  }
  return x > 0.0F ? x : x * negative;
}

// A KxK convolution, zero padding K/2, of the inputs concatenated along the channels.
Tensor conv_cpu(const Op& op, const std::vector<const Tensor*>& inputs) {
  const int h = inputs.front()->h;
  const int w = inputs.front()->w;
  int cin = 0;
  for (const Tensor* t : inputs) {
    cin += t->c;
  }
  const int k = op.kernel;
  const int taps = k * k;
  const int cout = op.channels;
  // [tap][co][ci]: the inner loop runs along ci in both operands.
  std::vector<float> packed(op.weight.size());
  for (int co = 0; co < cout; ++co) {
    for (int ci = 0; ci < cin; ++ci) {
      for (int t = 0; t < taps; ++t) {
        packed[(static_cast<std::size_t>(t) * cout + co) * cin + ci] =
            op.weight[(static_cast<std::size_t>(co) * cin + ci) * taps + t];
      }
    }
  }
  const std::vector<float> slopes = negative_slopes(op);
  Tensor out{h, w, cout, std::vector<float>(static_cast<std::size_t>(h) * w * cout)};
  std::vector<float> pixel(static_cast<std::size_t>(cin));
  std::vector<float> sum(static_cast<std::size_t>(cout));
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      sum.assign(op.bias.begin(), op.bias.end());
      for (int t = 0; t < taps; ++t) {
        const int sy = y + t / k - k / 2;
        const int sx = x + t % k - k / 2;
        if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
          continue;
        }
        std::size_t at = 0;
        for (const Tensor* in : inputs) {  // the concatenation, gathered
          const float* src = in->v.data() + (static_cast<std::size_t>(sy) * w + sx) * in->c;
          for (int c = 0; c < in->c; ++c) {
            pixel[at++] = src[c];
          }
        }
        const float* tap = packed.data() + static_cast<std::size_t>(t) * cout * cin;
        for (int co = 0; co < cout; ++co) {
          float acc = 0.0F;
          for (int ci = 0; ci < cin; ++ci) {
            acc += tap[static_cast<std::size_t>(co) * cin + ci] * pixel[static_cast<std::size_t>(ci)];
          }
          sum[static_cast<std::size_t>(co)] += acc;
        }
      }
      float* dst = out.v.data() + (static_cast<std::size_t>(y) * w + x) * cout;
      for (int co = 0; co < cout; ++co) {
        dst[co] = activate(sum[static_cast<std::size_t>(co)], op.activation,
                           slopes.empty() ? 0.0F : slopes[static_cast<std::size_t>(co)]);
      }
    }
  }
  return out;
}

Tensor run_op(const Op& op, const std::vector<Tensor>& tensors) {
  const Tensor& a = tensors[static_cast<std::size_t>(op.inputs.front())];
  if (op.kind == OpKind::conv) {
    std::vector<const Tensor*> inputs;
    for (const int index : op.inputs) {
      inputs.push_back(&tensors[static_cast<std::size_t>(index)]);
    }
    return conv_cpu(op, inputs);
  }
  Tensor out{a.h, a.w, op.channels, {}};
  const auto c = static_cast<std::size_t>(a.c);
  if (op.kind == OpKind::upsample || op.kind == OpKind::shuffle) {
    const int f = op.factor;
    out.h = a.h * f;
    out.w = a.w * f;
    out.v.resize(out.pixels() * static_cast<std::size_t>(out.c));
    for (int y = 0; y < out.h; ++y) {
      for (int x = 0; x < out.w; ++x) {
        const float* src = a.v.data() + (static_cast<std::size_t>(y / f) * a.w + x / f) * c;
        float* dst = out.v.data() + (static_cast<std::size_t>(y) * out.w + x) * out.c;
        for (int k = 0; k < out.c; ++k) {
          // PixelShuffle: input channel k * f^2 + i * f + j goes to (y * f + i, x * f + j).
          dst[k] = op.kind == OpKind::upsample ? src[k] : src[k * f * f + (y % f) * f + x % f];
        }
      }
    }
    return out;
  }
  out.v.resize(a.v.size());
  const std::vector<float>* b = op.inputs.size() > 1 ? &tensors[static_cast<std::size_t>(op.inputs[1])].v : nullptr;
  const std::vector<float> slopes = op.kind == OpKind::act ? negative_slopes(op) : std::vector<float>{};
  for (std::size_t i = 0; i < a.v.size(); ++i) {
    const float x = a.v[i];
    const std::size_t k = i % c;
    switch (op.kind) {
      case OpKind::act:
        out.v[i] = activate(x, op.activation, slopes.empty() ? 0.0F : slopes[k]);
        break;
      case OpKind::affine:
        out.v[i] = x * op.alpha[k] + op.bias[k];
        break;
      case OpKind::add:
        out.v[i] = x + (*b)[i];
        break;
      case OpKind::axpy:
        out.v[i] = x * op.scalar + (*b)[i];
        break;
      case OpKind::gate:
        out.v[i] = (x + (*b)[i]) * (1.0F / (1.0F + std::exp(-x)) - 0.5F);
        break;
      default:
        break;
    }
  }
  return out;
}

}  // namespace

void forward_cpu(const Plan& plan, const float* in, int n, int h, int w, float* out) {
  const int cin = plan.input_channels();
  const int cout = plan.output_channels();
  const std::size_t pixels = static_cast<std::size_t>(h) * w;
  for (int image = 0; image < n; ++image) {
    const float* src = in + static_cast<std::size_t>(image) * cin * pixels;
    std::vector<Tensor> tensors;
    tensors.reserve(plan.tensors.size());
    Tensor input{h, w, cin, std::vector<float>(pixels * cin)};
    for (int c = 0; c < cin; ++c) {
      for (std::size_t p = 0; p < pixels; ++p) {
        input.v[p * cin + c] = src[c * pixels + p];
      }
    }
    tensors.push_back(std::move(input));
    const std::vector<int> last = last_uses(plan);
    for (std::size_t i = 0; i < plan.ops.size(); ++i) {
      tensors.push_back(run_op(plan.ops[i], tensors));
      for (std::size_t t = 0; t < tensors.size(); ++t) {  // what no later operator reads
        if (last[t] == static_cast<int>(i)) {
          tensors[t].v = {};
        }
      }
    }
    const Tensor& result = tensors[static_cast<std::size_t>(plan.output)];
    float* dst = out + static_cast<std::size_t>(image) * cout * result.pixels();
    for (int c = 0; c < cout; ++c) {
      for (std::size_t p = 0; p < result.pixels(); ++p) {
        dst[c * result.pixels() + p] = result.v[p * cout + c];
      }
    }
  }
}

}  // namespace pyn::native
