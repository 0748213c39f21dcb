#pragma once

#include "pynference/pipeline/report.hpp"
#include "run.hpp"

namespace pyn::detail {

RunReport run_serial(Run& run, Strategy strategy);
RunReport run_worker_streams(Run& run);
// split-streams, and multi-compute when the run has several lanes.
RunReport run_split_streams(Run& run, Strategy strategy);

}  // namespace pyn::detail
