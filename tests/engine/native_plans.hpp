#pragma once
// What the native engine's two test programs share (native_test.cpp on the CPU, native_gpu_test.cpp
// on a GPU): plans written operator by operator with random weights, the folder they are written
// into, the networks of the three architectures' shapes, and random inputs.

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace pyn::native_testing {

namespace fs = std::filesystem;

// A plan to write: operators appended one by one, tracking each tensor's channels and size, with
// random weights of a trained net's magnitude (1/sqrt(fan-in)) unless given.
class PlanText {
 public:
  PlanText(int input, int scale, unsigned seed) : rng_(seed) {
    text_ = "pynference-native 2\narch Test\ninput " + std::to_string(input) + "\nscale " +
            std::to_string(scale) + "\n";
    channels_ = {input};
    factors_ = {1};
  }

  int conv(int k, const std::vector<int>& inputs, int cout, const std::string& act) {
    std::string names;
    int cin = 0;
    for (const int i : inputs) {
      names += (names.empty() ? "%" : ",%") + std::to_string(i);
      cin += channels_[static_cast<std::size_t>(i)];
    }
    std::normal_distribution<float> weight(0.0F, 1.0F / std::sqrt(static_cast<float>(k * k * cin)));
    for (int i = 0; i < cout * cin * k * k; ++i) {
      weights_.push_back(weight(rng_));
    }
    add_bias(cout);
    if (act == "prelu") {
      add_slopes(cout);
    }
    return op("conv " + std::to_string(k) + " " + names + " " + std::to_string(cout) + " " + act, cout,
              factors_[static_cast<std::size_t>(inputs.front())]);
  }
  int act(int a, const std::string& act) {
    if (act == "prelu") {
      add_slopes(channels(a));
    }
    return op("act %" + std::to_string(a) + " " + act, channels(a), factor(a));
  }
  int affine(int a) {
    std::uniform_real_distribution<float> scale(0.5F, 2.0F);
    for (int i = 0; i < channels(a); ++i) {
      weights_.push_back(scale(rng_));
    }
    add_bias(channels(a));
    return op("affine %" + std::to_string(a), channels(a), factor(a));
  }
  int binary(const std::string& kind, int a, int b) {
    return op(kind + " %" + std::to_string(a) + " %" + std::to_string(b), channels(a), factor(a));
  }
  int axpy(int a, float s, int b) {
    return op("axpy %" + std::to_string(a) + " " + std::to_string(s) + " %" + std::to_string(b),
              channels(a), factor(a));
  }
  int resize(const std::string& kind, int a, int f) {
    const int c = kind == "shuffle" ? channels(a) / (f * f) : channels(a);
    return op(kind + " %" + std::to_string(a) + " " + std::to_string(f), c, factor(a) * f);
  }
  [[nodiscard]] int channels(int t) const { return channels_[static_cast<std::size_t>(t)]; }
  [[nodiscard]] int factor(int t) const { return factors_[static_cast<std::size_t>(t)]; }
  [[nodiscard]] std::string text(int output) const { return text_ + "output %" + std::to_string(output) + "\n"; }
  [[nodiscard]] const std::vector<float>& weights() const { return weights_; }

 private:
  int op(const std::string& text, int channels, int factor) {
    const auto made = static_cast<int>(channels_.size());
    text_ += "%" + std::to_string(made) + " = " + text + "\n";
    channels_.push_back(channels);
    factors_.push_back(factor);
    return made;
  }
  void add_bias(int n) {
    std::uniform_real_distribution<float> small(-0.1F, 0.1F);
    for (int i = 0; i < n; ++i) {
      weights_.push_back(small(rng_));
    }
  }
  void add_slopes(int n) {
    std::uniform_real_distribution<float> slope(0.0F, 0.5F);
    for (int i = 0; i < n; ++i) {
      weights_.push_back(slope(rng_));
    }
  }

  std::mt19937 rng_;
  std::string text_;
  std::vector<int> channels_;
  std::vector<int> factors_;
  std::vector<float> weights_;
};

// Writes native.plan and native.bin into a fresh folder; returns the plan's path.
class PlanFolder {
 public:
  explicit PlanFolder(const std::string& name)
      : dir_(fs::temp_directory_path() / ("pyn-native-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  PlanFolder(const PlanFolder&) = delete;
  PlanFolder& operator=(const PlanFolder&) = delete;
  ~PlanFolder() { fs::remove_all(dir_); }

  [[nodiscard]] std::string write(const std::string& text, const std::vector<float>& weights) const {
    std::ofstream(dir_ / "native.plan") << text;
    std::ofstream bin(dir_ / "native.bin", std::ios::binary);
    bin.write(reinterpret_cast<const char*>(weights.data()),
              static_cast<std::streamsize>(weights.size() * sizeof(float)));
    return (dir_ / "native.plan").string();
  }
  [[nodiscard]] std::string write(const PlanText& plan, int output) const {
    return write(plan.text(output), plan.weights());
  }

 private:
  fs::path dir_;
};

// The networks the GPU test and the host test run: the shapes of Compact (its tail fused), SPAN
// (input affine, SiLU, attention gates, a 1x1 convolution of four tensors, a shuffle with no
// skip) and ESRGAN (dense concatenations, scaled residuals, a shortcut, nearest upsampling in the
// network, an activation after a shuffle), and odd channel counts that need padding.
inline std::string compact_like(const PlanFolder& folder, int features, int scale, const std::string& act, unsigned seed) {
  PlanText p(3, scale, seed);
  int x = p.conv(3, {0}, features, act);
  x = p.conv(3, {x}, features, act);
  x = p.conv(3, {x}, 3 * scale * scale, "none");
  const int shuffled = p.resize("shuffle", x, scale);
  return folder.write(p, p.binary("add", shuffled, p.resize("upsample", 0, scale)));
}

inline std::string span_like(const PlanFolder& folder, unsigned seed) {
  PlanText p(3, 2, seed);
  const int normed = p.affine(0);
  const int feature = p.conv(3, {normed}, 24, "none");
  int out = feature;
  int first = 0;
  for (int block = 0; block < 2; ++block) {
    first = p.conv(3, {out}, 24, "none");
    const int act1 = p.act(first, "silu");
    const int out2 = p.conv(3, {act1}, 24, "silu");
    const int out3 = p.conv(3, {out2}, 24, "none");
    out = p.binary("gate", out3, out);
  }
  const int b = p.conv(3, {out}, 24, "none");
  const int cat = p.conv(1, {feature, b, out, first}, 24, "none");
  const int up = p.conv(3, {cat}, 12, "none");
  return folder.write(p, p.resize("shuffle", up, 2));
}

inline std::string esrgan_like(const PlanFolder& folder, unsigned seed) {
  PlanText p(3, 4, seed);
  const int fea = p.conv(3, {0}, 16, "none");
  int x = fea;
  for (int rdb = 0; rdb < 2; ++rdb) {
    std::vector<int> made = {x};
    for (int k = 1; k <= 4; ++k) {
      made.push_back(p.conv(3, made, 12, "leaky:0.2"));
    }
    const int x5 = p.conv(3, made, 16, "none");
    x = p.axpy(x5, 0.2F, x);
  }
  x = p.axpy(x, 0.2F, fea);
  x = p.binary("add", fea, p.conv(3, {x}, 16, "none"));
  x = p.conv(3, {p.resize("upsample", x, 2)}, 16, "leaky:0.2");
  x = p.act(p.resize("shuffle", p.conv(3, {x}, 64, "none"), 2), "prelu");
  x = p.conv(3, {x}, 16, "leaky:0.2");
  return folder.write(p, p.conv(3, {x}, 3, "none"));
}

inline std::vector<float> random_values(std::size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(0.0F, 1.0F);
  std::vector<float> out(count);
  for (float& v : out) {
    v = value(rng);
  }
  return out;
}

}  // namespace pyn::native_testing
