#pragma once
// What every command shares: opening the device the user named, the SIGINT stop flag, and
// rendering reports as a table or JSON.

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "pynference/device/device.hpp"
#include "pynference/pipeline/report.hpp"

namespace pyn::cli {

// "auto" picks cuda:0 where a GPU exists, else the CPU (and says so on stderr).
[[nodiscard]] Device open_device(std::string_view name);

// Set by SIGINT/SIGTERM once installed; a second signal ends the process at once.
[[nodiscard]] const std::atomic<bool>& install_stop_handler();

[[nodiscard]] std::string device_line(const DeviceInfo& info);

// fps of every repetition of one strategy's run (the report is the median one).
using FpsRuns = std::vector<double>;

// One row per strategy, the columns the issue and the docs use; with repetitions, their spread.
[[nodiscard]] std::string report_table(const std::vector<RunReport>& reports,
                                       const std::vector<FpsRuns>& runs = {});

struct WorkloadInfo {
  int width = 0;
  int height = 0;
  int scale = 1;
  double compute_ms = 0;
  std::string dtype;
  std::string pixel;
  std::string engine;
  long long frames = 0;
};

[[nodiscard]] std::string report_json(const DeviceInfo& device, const WorkloadInfo& workload,
                                      const std::vector<RunReport>& reports,
                                      const std::vector<FpsRuns>& runs = {});

void write_file(const std::string& path, std::string_view text);

}  // namespace pyn::cli
