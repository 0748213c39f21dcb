#include "pynference/pipeline/pipeline.hpp"

#include <string>

#include "pynference/device/error.hpp"
#include "run.hpp"
#include "strategies.hpp"

namespace pyn {

int default_slots(const PipelineOptions& options) noexcept {
  switch (options.strategy) {
    case Strategy::serial_pageable:
    case Strategy::serial_pinned:
      return 1;
    case Strategy::worker_streams:
      return 2 * options.workers + 2;
    case Strategy::split_streams:
      return 6;
    case Strategy::multi_compute:
      return 2 * options.compute_streams + 4;
  }
  return 6;
}

int lanes_of(const PipelineOptions& options) noexcept {
  switch (options.strategy) {
    case Strategy::worker_streams:
      return options.workers;
    case Strategy::multi_compute:
      return options.compute_streams;
    default:
      return 1;
  }
}

RunReport run_pipeline(const Device& device, Engine& engine, Source& source, Sink& sink,
                       const PipelineOptions& options) {
  // Named by field: each front end checks its own flags or arguments first, in its own words.
  if (options.workers < 1 || options.workers > 64) {
    throw UsageError("PipelineOptions::workers must be 1 to 64, got " +
                     std::to_string(options.workers));
  }
  if (options.compute_streams < 1 || options.compute_streams > 64) {
    throw UsageError("PipelineOptions::compute_streams must be 1 to 64, got " +
                     std::to_string(options.compute_streams));
  }
  if (options.slots < 0 || options.slots > 1024) {
    throw UsageError("PipelineOptions::slots must be 0 to 1024, got " +
                     std::to_string(options.slots));
  }
  if (options.slots > 0 && options.strategy != Strategy::serial_pageable &&
      options.strategy != Strategy::serial_pinned && options.slots < 2) {
    throw UsageError("PipelineOptions::slots must be at least 2 for " +
                     std::string(to_string(options.strategy)));
  }
  if (options.cuda_graph && device.backend() != Backend::cuda) {
    throw UsageError("PipelineOptions::cuda_graph needs a CUDA device, not the host backend");
  }
  using detail::Run;
  switch (options.strategy) {
    case Strategy::serial_pageable: {
      Run run(device, engine, source, sink, options, 1, HostMemory::pageable);
      return detail::run_serial(run, options.strategy);
    }
    case Strategy::serial_pinned: {
      Run run(device, engine, source, sink, options, 1, HostMemory::pinned);
      return detail::run_serial(run, options.strategy);
    }
    case Strategy::worker_streams: {
      Run run(device, engine, source, sink, options, options.workers, HostMemory::pinned);
      return detail::run_worker_streams(run);
    }
    case Strategy::split_streams: {
      Run run(device, engine, source, sink, options, 1, HostMemory::pinned);
      return detail::run_split_streams(run, options.strategy);
    }
    case Strategy::multi_compute: {
      Run run(device, engine, source, sink, options, options.compute_streams, HostMemory::pinned);
      return detail::run_split_streams(run, options.strategy);
    }
  }
  throw UsageError("unknown strategy");
}

}  // namespace pyn
