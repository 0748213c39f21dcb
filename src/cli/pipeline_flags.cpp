#include "pipeline_flags.hpp"

#include <string>

#include "pynference/device/error.hpp"
#include "pynference/pipeline/processor.hpp"

namespace pyn::cli {

PipelineOptions pipeline_flags(const Args& args, Strategy strategy, const Device& device) {
  PipelineOptions options;
  options.strategy = strategy;
  options.workers = static_cast<int>(args.integer("workers", 1, 64));
  options.compute_streams = static_cast<int>(args.integer("compute-streams", 1, 64));
  options.slots = static_cast<int>(args.integer("slots", 0, 1024));
  const bool serial = strategy == Strategy::serial_pageable || strategy == Strategy::serial_pinned;
  if (options.slots == 1 && !serial) {
    throw UsageError("--slots must be at least 2 for " + std::string(to_string(strategy)));
  }
  options.cuda_graph = args.flag("cuda-graph");
  if (options.cuda_graph && device.backend() != Backend::cuda) {
    throw UsageError("--cuda-graph needs a CUDA device");
  }
  options.trace = args.has("trace");
  return options;
}

int batch_flag(const Args& args) {
  const int batch = static_cast<int>(args.integer("batch", 1, kMaxBatch));
  if (batch > 1 && args.flag("cuda-graph")) {
    throw UsageError("--cuda-graph captures one frame per graph; it does not take --batch " +
                     std::to_string(batch));
  }
  if (batch > 1 && (args.has("max-vram") || (args.has("tile") && args.str("tile") == "auto"))) {
    throw UsageError(std::string(args.has("max-vram") ? "--max-vram" : "--tile auto") +
                     " sizes tiles and slots for one frame per inference; it does not take "
                     "--batch " +
                     std::to_string(batch) + " yet (give --tile WxH)");
  }
  return batch;
}

}  // namespace pyn::cli
