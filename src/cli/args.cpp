#include "args.hpp"

#include <charconv>
#include <cstdio>

#include "pynference/device/error.hpp"

namespace pyn::cli {

Args::Args(const std::vector<OptionSpec>& specs, const std::vector<std::string_view>& argv)
    : specs_(specs) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    std::string_view arg = argv[i];
    if (!arg.starts_with("--") || arg.size() == 2) {
      throw UsageError("unexpected argument '" + std::string(arg) + "'");
    }
    arg.remove_prefix(2);
    std::optional<std::string_view> inline_value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      inline_value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    const OptionSpec& option = spec(arg);
    if (option.value.empty()) {
      if (inline_value) {
        throw UsageError("--" + option.name + " takes no value");
      }
      values_.insert_or_assign(option.name, std::string(1, '1'));  // a flag: present
      continue;
    }
    if (inline_value) {
      values_[option.name] = std::string(*inline_value);
    } else if (i + 1 < argv.size()) {
      values_[option.name] = std::string(argv[++i]);
    } else {
      throw UsageError("--" + option.name + " needs a value (" + option.value + ")");
    }
    repeated_[option.name].push_back(values_[option.name]);
  }
}

const OptionSpec& Args::spec(std::string_view name) const {
  for (const OptionSpec& option : specs_) {
    if (option.name == name) {
      return option;
    }
  }
  throw UsageError("unknown option --" + std::string(name) + " (see --help)");
}

bool Args::flag(std::string_view name) const { return values_.contains(spec(name).name); }
bool Args::has(std::string_view name) const { return values_.contains(spec(name).name); }

std::string Args::str(std::string_view name) const {
  const OptionSpec& option = spec(name);
  const auto it = values_.find(option.name);
  return it != values_.end() ? it->second : option.fallback;
}

std::vector<std::string> Args::all(std::string_view name) const {
  const auto it = repeated_.find(spec(name).name);
  return it != repeated_.end() ? it->second : std::vector<std::string>{};
}

long long Args::integer(std::string_view name, long long min, long long max) const {
  const std::string text = str(name);
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
    throw UsageError("--" + std::string(name) + " must be a whole number from " + std::to_string(min) +
                     " to " + std::to_string(max) + ", got '" + text + "'");
  }
  return value;
}

double Args::number(std::string_view name, double min, double max) const {
  const std::string text = str(name);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || !(value >= min && value <= max)) {
    char range[64];
    std::snprintf(range, sizeof range, "%g to %g", min, max);
    throw UsageError("--" + std::string(name) + " must be a number from " + range + ", got '" + text + "'");
  }
  return value;
}

std::string describe_options(const std::vector<OptionSpec>& specs) {
  std::string text;
  for (const OptionSpec& option : specs) {
    std::string left = "  --" + option.name + (option.value.empty() ? "" : " " + option.value);
    left.resize(std::max<std::size_t>(left.size() + 2, 28), ' ');
    text += left + option.help;
    if (!option.fallback.empty()) {
      text += " (default: " + option.fallback + ")";
    }
    text += "\n";
  }
  return text;
}

std::pair<int, int> parse_size(std::string_view text) {
  const auto x = text.find('x');
  int w = 0;
  int h = 0;
  if (x != std::string_view::npos) {
    const auto [wend, wec] = std::from_chars(text.data(), text.data() + x, w);
    const auto [hend, hec] = std::from_chars(text.data() + x + 1, text.data() + text.size(), h);
    if (wec == std::errc{} && hec == std::errc{} && wend == text.data() + x &&
        hend == text.data() + text.size() && w > 0 && h > 0 && w <= 16384 && h <= 16384) {
      return {w, h};
    }
  }
  throw UsageError("bad size '" + std::string(text) + "': expected WIDTHxHEIGHT, e.g. 1920x1080");
}

}  // namespace pyn::cli
