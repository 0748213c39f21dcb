#pragma once
// The five schedules of the study, by the names used in the CLI, the code and the docs.

#include <array>
#include <string_view>
#include <vector>

namespace pyn {

enum class Strategy {
  serial_pageable,  // one thread, one stream, pageable host memory
  serial_pinned,    // one thread, one stream, pinned host memory
  worker_streams,   // N threads, each runs whole frames on its own stream
  split_streams,    // a thread and a stream per stage: H2D, compute, D2H
  multi_compute,    // split-streams with K compute streams
};

inline constexpr std::array<Strategy, 5> kAllStrategies = {
    Strategy::serial_pageable, Strategy::serial_pinned, Strategy::worker_streams,
    Strategy::split_streams, Strategy::multi_compute};

[[nodiscard]] std::string_view to_string(Strategy strategy) noexcept;
// One name, or "all", or a comma-separated list; throws UsageError naming the valid ones.
[[nodiscard]] std::vector<Strategy> parse_strategies(std::string_view text);

}  // namespace pyn
