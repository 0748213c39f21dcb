#pragma once
// The study's report: the strategies side by side, as measured, in Markdown.

#include <string>
#include <vector>

#include "common.hpp"
#include "pynference/device/device.hpp"
#include "pynference/pipeline/report.hpp"

namespace pyn::cli {

[[nodiscard]] std::string study_markdown(const DeviceInfo& device, const WorkloadInfo& workload,
                                         const std::vector<RunReport>& reports);

}  // namespace pyn::cli
