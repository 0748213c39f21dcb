// Names of strategies and stages, and the stage error.

#include <string>

#include "pynference/device/error.hpp"
#include "pynference/pipeline/stage.hpp"
#include "pynference/pipeline/strategy.hpp"

namespace pyn {

std::string_view to_string(Strategy strategy) noexcept {
  switch (strategy) {
    case Strategy::serial_pageable:
      return "serial-pageable";
    case Strategy::serial_pinned:
      return "serial-pinned";
    case Strategy::worker_streams:
      return "worker-streams";
    case Strategy::split_streams:
      return "split-streams";
    case Strategy::multi_compute:
      return "multi-compute";
  }
  return "?";
}

std::vector<Strategy> parse_strategies(std::string_view text) {
  if (text == "all") {
    return {kAllStrategies.begin(), kAllStrategies.end()};
  }
  std::vector<Strategy> strategies;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view name = text.substr(0, comma);
    bool known = false;
    for (Strategy strategy : kAllStrategies) {
      if (to_string(strategy) == name) {
        strategies.push_back(strategy);
        known = true;
      }
    }
    if (!known) {
      std::string valid;
      for (Strategy strategy : kAllStrategies) {
        valid += std::string(valid.empty() ? "" : ", ") + std::string(to_string(strategy));
      }
      throw UsageError("unknown strategy '" + std::string(name) + "': expected all or one of " + valid);
    }
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  if (strategies.empty()) {
    throw UsageError("no strategy given");
  }
  return strategies;
}

std::string_view to_string(Stage stage) noexcept {
  switch (stage) {
    case Stage::source:
      return "source";
    case Stage::h2d:
      return "h2d";
    case Stage::pre:
      return "pre";
    case Stage::engine:
      return "engine";
    case Stage::post:
      return "post";
    case Stage::d2h:
      return "d2h";
    case Stage::sink:
      return "sink";
  }
  return "?";
}

namespace {
std::string describe(Stage stage, std::int64_t frame, const std::string& cause) {
  std::string where = std::string(to_string(stage)) + " stage failed";
  if (frame >= 0) {
    where += " at frame " + std::to_string(frame);
  }
  return where + ": " + cause;
}
}  // namespace

StageError::StageError(Stage stage, std::int64_t frame, const std::string& cause)
    : Error(describe(stage, frame, cause)), stage_(stage), frame_(frame) {}

}  // namespace pyn
