#pragma once
// The pipeline options that run and bench both take, read from their flags and checked in the
// flags' own words before the library sees them (its errors name fields, not flags).

#include "args.hpp"
#include "pynference/device/device.hpp"
#include "pynference/pipeline/options.hpp"

namespace pyn::cli {

// --workers, --compute-streams, --slots, --cuda-graph and --trace for `strategy` on `device`.
[[nodiscard]] PipelineOptions pipeline_flags(const Args& args, Strategy strategy,
                                             const Device& device);

// --batch (run and bench): frames per inference, 1..64, refused with --cuda-graph above 1.
[[nodiscard]] int batch_flag(const Args& args);

}  // namespace pyn::cli
