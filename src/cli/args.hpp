#pragma once
// A small command-line parser: `--name value`, `--name=value` and flags, with the usage text the
// command was declared with, so every error can say what is accepted.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pyn::cli {

struct OptionSpec {
  std::string name;       // without the leading dashes
  std::string value;      // value placeholder shown in help ("N", "FILE"); empty for a flag
  std::string help;
  std::string fallback;   // default shown in help and returned when absent; empty for none
};

class Args {
 public:
  // Throws UsageError for an unknown option, a missing value or a stray argument.
  Args(const std::vector<OptionSpec>& specs, const std::vector<std::string_view>& argv);

  [[nodiscard]] bool flag(std::string_view name) const;
  [[nodiscard]] bool has(std::string_view name) const;
  [[nodiscard]] std::string str(std::string_view name) const;
  // Every value a repeated option was given, in order (str() gives the last).
  [[nodiscard]] std::vector<std::string> all(std::string_view name) const;
  [[nodiscard]] long long integer(std::string_view name, long long min, long long max) const;
  [[nodiscard]] double number(std::string_view name, double min, double max) const;

 private:
  const OptionSpec& spec(std::string_view name) const;
  std::vector<OptionSpec> specs_;
  std::map<std::string, std::string, std::less<>> values_;
  std::map<std::string, std::vector<std::string>, std::less<>> repeated_;
};

// "  --name VALUE   help (default: x)" lines for --help.
[[nodiscard]] std::string describe_options(const std::vector<OptionSpec>& specs);

// "1920x1080" -> {1920, 1080}; throws UsageError.
[[nodiscard]] std::pair<int, int> parse_size(std::string_view text);

}  // namespace pyn::cli
