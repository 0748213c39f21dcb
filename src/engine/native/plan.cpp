#include "plan.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "pynference/core/error.hpp"

namespace pyn::native {

namespace {

constexpr int kMaxChannels = 1024;

Activation parse_activation(const std::string& text, float& slope, const std::string& where) {
  if (text == "none") {
    return Activation::none;
  }
  if (text == "relu") {
    return Activation::relu;
  }
  if (text == "prelu") {
    return Activation::prelu;
  }
  if (text.starts_with("leaky:")) {
    char* end = nullptr;
    slope = std::strtof(text.c_str() + 6, &end);
    if (end != text.c_str() + 6 && *end == '\0') {
      return Activation::leaky;
    }
  }
  throw UsageError(where + ": unknown activation '" + text +
                   "' (expected none, relu, prelu or leaky:SLOPE)");
}

// Reads `count` floats from `weights`, or throws naming the file.
std::vector<float> take(std::ifstream& weights, std::size_t count, const std::string& bin) {
  std::vector<float> values(count);
  weights.read(reinterpret_cast<char*>(values.data()),
               static_cast<std::streamsize>(count * sizeof(float)));
  if (static_cast<std::size_t>(weights.gcount()) != count * sizeof(float)) {
    throw UsageError(bin + " is shorter than its plan says");
  }
  return values;
}

}  // namespace

Plan load_plan(const std::string& plan_path) {
  std::ifstream file(plan_path);
  if (!file) {
    throw UsageError("cannot open the native plan " + plan_path);
  }
  const std::string bin = (std::filesystem::path(plan_path).parent_path() / "native.bin").string();
  std::ifstream weights(bin, std::ios::binary);
  if (!weights) {
    throw UsageError("cannot open " + bin + ", the native plan's weights");
  }
  Plan plan;
  std::string line;
  int number = 0;
  int channels = -1;  // what the last operator gives
  bool has_shuffle = false;
  while (std::getline(file, line)) {
    ++number;
    const std::string where = plan_path + ":" + std::to_string(number);
    std::istringstream words(line);
    std::string op;
    words >> op;
    if (number == 1) {
      int version = 0;
      if (op != "pynference-native" || !(words >> version) || version != 1) {
        throw UsageError(plan_path + " is not a native plan of version 1");
      }
      continue;
    }
    if (op.empty()) {
      continue;
    }
    auto number_word = [&](int low, int high) {
      int value = 0;
      if (!(words >> value) || value < low || value > high) {
        throw UsageError(where + ": '" + line + "' needs a number from " + std::to_string(low) +
                         " to " + std::to_string(high));
      }
      return value;
    };
    if (op == "arch") {
      words >> plan.arch;
    } else if (op == "input") {
      plan.input = number_word(1, 16);
      channels = plan.input;
    } else if (op == "output") {
      plan.output = number_word(1, 16);
    } else if (op == "scale") {
      plan.scale = number_word(1, 16);
    } else if (op == "conv") {
      if (has_shuffle) {
        throw UsageError(where + ": a convolution after the pixel shuffle");
      }
      ConvLayer layer;
      layer.cin = number_word(1, kMaxChannels);
      layer.cout = number_word(1, kMaxChannels);
      std::string activation;
      words >> activation;
      layer.activation = parse_activation(activation, layer.slope, where);
      if (layer.cin != channels) {
        throw UsageError(where + ": a convolution of " + std::to_string(layer.cin) +
                         " channels in after " + std::to_string(channels));
      }
      const auto cin = static_cast<std::size_t>(layer.cin);
      const auto cout = static_cast<std::size_t>(layer.cout);
      layer.weight = take(weights, cout * cin * 9, bin);
      layer.bias = take(weights, cout, bin);
      if (layer.activation == Activation::prelu) {
        layer.alpha = take(weights, cout, bin);
      }
      channels = layer.cout;
      plan.convs.push_back(std::move(layer));
    } else if (op == "shuffle") {
      plan.shuffle = number_word(1, 16);
      if (channels % (plan.shuffle * plan.shuffle) != 0) {
        throw UsageError(where + ": " + std::to_string(channels) +
                         " channels cannot be pixel-shuffled by " + std::to_string(plan.shuffle));
      }
      channels /= plan.shuffle * plan.shuffle;
      has_shuffle = true;
    } else if (op == "skip") {
      std::string kind;
      words >> kind;
      if (kind != "nearest") {
        throw UsageError(where + ": unknown skip '" + kind + "' (expected nearest)");
      }
      plan.skip_nearest = true;
    } else {
      throw UsageError(where + ": unknown operator '" + op + "'");
    }
  }
  if (number == 0) {
    throw UsageError(plan_path + " is empty");
  }
  if (plan.convs.empty()) {
    throw UsageError(plan_path + " has no convolution");
  }
  if (channels != plan.output) {
    throw UsageError(plan_path + ": the network gives " + std::to_string(channels) +
                     " channels, not its output's " + std::to_string(plan.output));
  }
  if (plan.shuffle != plan.scale) {
    throw UsageError(plan_path + ": a pixel shuffle of " + std::to_string(plan.shuffle) +
                     " for a network of scale " + std::to_string(plan.scale));
  }
  if (plan.skip_nearest && plan.input != plan.output) {
    throw UsageError(plan_path + ": a skip of " + std::to_string(plan.input) + " channels onto " +
                     std::to_string(plan.output));
  }
  if (weights.peek() != std::ifstream::traits_type::eof()) {
    throw UsageError(bin + " is longer than its plan says");
  }
  return plan;
}

std::vector<float> negative_slopes(const ConvLayer& layer) {
  switch (layer.activation) {
    case Activation::none:
      return std::vector<float>(static_cast<std::size_t>(layer.cout), 1.0F);
    case Activation::relu:
      return std::vector<float>(static_cast<std::size_t>(layer.cout), 0.0F);
    case Activation::leaky:
      return std::vector<float>(static_cast<std::size_t>(layer.cout), layer.slope);
    case Activation::prelu:
      return layer.alpha;
  }
  return {};
}

double flop_per_frame(const Plan& plan, int width, int height) {
  double flop = 0;
  for (const ConvLayer& layer : plan.convs) {
    flop += 2.0 * 9.0 * layer.cin * layer.cout * width * static_cast<double>(height);
  }
  return flop;
}

}  // namespace pyn::native
