#pragma once
// Writes a run's timeline as <dir>/<strategy>.svg and <dir>/<strategy>.trace.json.

#include <string>

#include "pynference/pipeline/report.hpp"

namespace pyn::cli {

void write_trace_files(const std::string& dir, const RunReport& report, const std::string& title);

}  // namespace pyn::cli
