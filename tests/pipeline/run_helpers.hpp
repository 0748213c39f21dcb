#pragma once
// Shared by the pipeline tests: run one configuration with a deadline, so a deadlock fails the
// test instead of hanging the suite.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>

#include "pynference/engine/synthetic.hpp"
#include "pynference/io/sinks.hpp"
#include "pynference/io/synthetic.hpp"
#include "pynference/io/synthetic_reference.hpp"
#include "pynference/pipeline/pipeline.hpp"

namespace pyn::test {

template <class Fn>
auto within(std::chrono::seconds limit, Fn&& fn) {
  auto future = std::async(std::launch::async, std::forward<Fn>(fn));
  if (future.wait_for(limit) != std::future_status::ready) {
    std::fprintf(stderr, "deadlock: the run did not finish within %lld s\n",
                 static_cast<long long>(limit.count()));
    std::fflush(stderr);
    std::abort();  // a hung thread cannot be joined; end the test binary with a clear message
  }
  return future.get();
}

// What a HashSink kept of a run.
struct Hashed {
  std::vector<std::uint64_t> hashes;
  std::vector<std::int64_t> indices;
  FrameFormat format;
};

struct Workload {
  FrameFormat image;
  int scale = 1;
  DType dtype = DType::f16;
  std::int64_t frames = 24;
  double compute_ms = 0.0;
};

inline PipelineOptions options_for(Strategy strategy) {
  PipelineOptions options;
  options.strategy = strategy;
  options.workers = 3;
  options.compute_streams = 3;
  return options;
}

}  // namespace pyn::test
