#include "plan.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "pynference/core/error.hpp"

namespace pyn::native {

namespace {

constexpr int kMaxChannels = 4096;
constexpr int kVersion = 2;

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
  if (text == "silu") {
    return Activation::silu;
  }
  if (text.starts_with("leaky:")) {
    char* end = nullptr;
    slope = std::strtof(text.c_str() + 6, &end);
    if (end != text.c_str() + 6 && *end == '\0') {
      return Activation::leaky;
    }
  }
  throw UsageError(where + ": unknown activation '" + text +
                   "' (expected none, relu, prelu, silu or leaky:SLOPE)");
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

// One line of the plan, word by word, with errors that name it.
class Line {
 public:
  Line(const std::string& text, std::string where) : words_(text), text_(text), where_(std::move(where)) {}

  [[nodiscard]] const std::string& where() const { return where_; }
  [[noreturn]] void fail(const std::string& why) const { throw UsageError(where_ + ": " + why); }

  std::string word() {
    std::string w;
    if (!(words_ >> w)) {
      fail("'" + text_ + "' ends early");
    }
    return w;
  }
  int number(int low, int high) {
    const std::string w = word();
    char* end = nullptr;
    const long value = std::strtol(w.c_str(), &end, 10);
    if (*end != '\0' || value < low || value > high) {
      fail("'" + w + "' is not a number from " + std::to_string(low) + " to " + std::to_string(high));
    }
    return static_cast<int>(value);
  }
  float real() {
    const std::string w = word();
    char* end = nullptr;
    const float value = std::strtof(w.c_str(), &end);
    if (*end != '\0' || w.empty()) {
      fail("'" + w + "' is not a number");
    }
    return value;
  }
  // "%3", a tensor made before this line.
  int tensor(const Plan& plan) { return tensor_of(word(), plan); }
  int tensor_of(const std::string& w, const Plan& plan) const {
    char* end = nullptr;
    const long index = w.size() > 1 && w[0] == '%' ? std::strtol(w.c_str() + 1, &end, 10) : -1;
    if (index < 0 || (end != nullptr && *end != '\0') ||
        index >= static_cast<long>(plan.tensors.size())) {
      fail("'" + w + "' is not a tensor made before this line");
    }
    return static_cast<int>(index);
  }
  void end() {
    std::string extra;
    if (words_ >> extra) {
      fail("unexpected '" + extra + "'");
    }
  }

 private:
  std::istringstream words_;
  std::string text_;
  std::string where_;
};

// Reads one operator's line after "%N =" and its weights; fills `op` and the tensor it makes.
TensorInfo read_op(Line& line, const Plan& plan, std::ifstream& weights, const std::string& bin,
                   Op& op) {
  const std::string kind = line.word();
  const auto info = [&](int index) { return plan.tensors[static_cast<std::size_t>(index)]; };
  if (kind == "conv") {
    op.kind = OpKind::conv;
    op.kernel = line.number(1, 3);
    if (op.kernel == 2) {
      line.fail("a convolution is 3x3 or 1x1");
    }
    std::stringstream names(line.word());
    std::string name;
    int cin = 0;
    int factor = 0;
    while (std::getline(names, name, ',')) {
      const int index = line.tensor_of(name, plan);
      if (factor != 0 && info(index).factor != factor) {
        line.fail("a convolution of inputs of different sizes");
      }
      factor = info(index).factor;
      cin += info(index).channels;
      op.inputs.push_back(index);
    }
    op.channels = line.number(1, kMaxChannels);
    op.activation = parse_activation(line.word(), op.slope, line.where());
    const auto k2 = static_cast<std::size_t>(op.kernel * op.kernel);
    op.weight = take(weights, static_cast<std::size_t>(op.channels) * static_cast<std::size_t>(cin) * k2, bin);
    op.bias = take(weights, static_cast<std::size_t>(op.channels), bin);
    if (op.activation == Activation::prelu) {
      op.alpha = take(weights, static_cast<std::size_t>(op.channels), bin);
    }
    return {op.channels, factor};
  }
  const int a = line.tensor(plan);
  op.inputs = {a};
  op.channels = info(a).channels;
  TensorInfo made = info(a);
  if (kind == "act") {
    op.kind = OpKind::act;
    op.activation = parse_activation(line.word(), op.slope, line.where());
    if (op.activation == Activation::prelu) {
      op.alpha = take(weights, static_cast<std::size_t>(op.channels), bin);
    }
  } else if (kind == "affine") {
    op.kind = OpKind::affine;
    op.alpha = take(weights, static_cast<std::size_t>(op.channels), bin);  // scale
    op.bias = take(weights, static_cast<std::size_t>(op.channels), bin);   // shift
  } else if (kind == "add" || kind == "axpy" || kind == "gate") {
    op.kind = kind == "add" ? OpKind::add : kind == "axpy" ? OpKind::axpy : OpKind::gate;
    if (op.kind == OpKind::axpy) {
      op.scalar = line.real();
    }
    const int b = line.tensor(plan);
    if (info(b).channels != info(a).channels || info(b).factor != info(a).factor) {
      line.fail(kind + " of tensors of different shapes (%" + std::to_string(a) + ", %" +
                std::to_string(b) + ")");
    }
    op.inputs.push_back(b);
  } else if (kind == "upsample" || kind == "shuffle") {
    op.kind = kind == "upsample" ? OpKind::upsample : OpKind::shuffle;
    op.factor = line.number(1, 16);
    if (op.kind == OpKind::shuffle) {
      if (op.channels % (op.factor * op.factor) != 0) {
        line.fail(std::to_string(op.channels) + " channels cannot be pixel-shuffled by " +
                  std::to_string(op.factor));
      }
      op.channels /= op.factor * op.factor;
    }
    made = {op.channels, made.factor * op.factor};
  } else {
    line.fail("unknown operator '" + kind + "'");
  }
  return made;
}

}  // namespace

int Plan::cin(const Op& op) const {
  int c = 0;
  for (const int index : op.inputs) {
    c += tensors[static_cast<std::size_t>(index)].channels;
  }
  return c;
}

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
  std::string text;
  int number = 0;
  bool has_output = false;
  while (std::getline(file, text)) {
    ++number;
    Line line(text, plan_path + ":" + std::to_string(number));
    if (number == 1) {
      if (text != "pynference-native " + std::to_string(kVersion)) {
        throw UsageError(plan_path + " is not a native plan of version " + std::to_string(kVersion) +
                         " (its cache entry is older than this pynference: `pynference cache clear`)");
      }
      continue;
    }
    if (text.find_first_not_of(" \t") == std::string::npos) {
      continue;
    }
    if (has_output) {
      line.fail("an operator after the output");
    }
    const std::string first = line.word();
    if (first == "arch") {
      plan.arch = line.word();
    } else if (first == "input") {
      plan.tensors = {{line.number(1, 16), 1}};
    } else if (first == "scale") {
      plan.scale = line.number(1, 16);
    } else if (first == "output") {
      plan.output = line.tensor(plan);
      has_output = true;
    } else if (first.starts_with("%")) {
      if (plan.tensors.empty()) {
        line.fail("an operator before the input's line");
      }
      std::string name = std::to_string(plan.tensors.size());
      name.insert(name.begin(), '%');  // not "%" + ...: GCC 12 warns falsely (-Wrestrict) on that
      if (first != name || line.word() != "=") {
        line.fail("expected '" + name + " = OPERATOR ...'");
      }
      Op op;
      plan.tensors.push_back(read_op(line, plan, weights, bin, op));
      plan.ops.push_back(std::move(op));
    } else {
      line.fail("unknown line '" + text + "'");
    }
    line.end();
  }
  if (number == 0) {
    throw UsageError(plan_path + " is empty");
  }
  if (!has_output || plan.output == 0) {
    throw UsageError(plan_path + " names no output made by an operator");
  }
  const TensorInfo& out = plan.tensors[static_cast<std::size_t>(plan.output)];
  if (out.channels != plan.input_channels()) {
    throw UsageError(plan_path + ": the network gives " + std::to_string(out.channels) +
                     " channels for its input's " + std::to_string(plan.input_channels()));
  }
  if (out.factor != plan.scale) {
    throw UsageError(plan_path + ": the network scales by " + std::to_string(out.factor) +
                     ", not its scale " + std::to_string(plan.scale));
  }
  if (weights.peek() != std::ifstream::traits_type::eof()) {
    throw UsageError(bin + " is longer than its plan says");
  }
  return plan;
}

std::vector<float> negative_slopes(const Op& op) {
  const auto n = static_cast<std::size_t>(op.channels);
  switch (op.activation) {
    case Activation::none:
      return std::vector<float>(n, 1.0F);
    case Activation::relu:
      return std::vector<float>(n, 0.0F);
    case Activation::leaky:
      return std::vector<float>(n, op.slope);
    case Activation::prelu:
      return op.alpha;
    case Activation::silu:
      break;
  }
  return {};
}

std::vector<int> last_uses(const Plan& plan) {
  std::vector<int> last(plan.tensors.size(), -1);
  for (std::size_t i = 0; i < plan.ops.size(); ++i) {
    for (const int index : plan.ops[i].inputs) {
      last[static_cast<std::size_t>(index)] = static_cast<int>(i);
    }
  }
  last[static_cast<std::size_t>(plan.output)] = static_cast<int>(plan.ops.size());
  return last;
}

double flop_per_frame(const Plan& plan, int width, int height) {
  double flop = 0;
  for (const Op& op : plan.ops) {
    if (op.kind == OpKind::conv) {
      const int f = plan.tensors[static_cast<std::size_t>(op.inputs.front())].factor;
      flop += 2.0 * op.kernel * op.kernel * plan.cin(op) * op.channels * width * f *
              static_cast<double>(height * f);
    }
  }
  return flop;
}

}  // namespace pyn::native
