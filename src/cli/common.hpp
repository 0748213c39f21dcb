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

// Set by SIGINT, SIGTERM or SIGHUP once installed: the run stops after the frames in flight. A
// second signal, SIGQUIT, or any of them while an output is watched and has no frame yet (see
// watch_output) ends the process at once: the partial output is removed, one line goes to stderr
// and the exit code is 128 + the signal.
[[nodiscard]] const std::atomic<bool>& install_stop_handler();
// The signal that set the stop flag; 0 while none has.
[[nodiscard]] int stop_signal() noexcept;
// 128 + stop_signal() (130 for SIGINT, 143 for SIGTERM); 0 while no signal came.
[[nodiscard]] int stop_exit_code() noexcept;
// From now until the first note_frame_written(), a signal exits at once (nothing worth keeping is
// written yet), removing `part` (empty: no file) if it exists; any later exit from the handler
// removes it too.
void watch_output(const std::string& part);
// A frame has reached the output: a first signal now stops after the frames in flight.
void note_frame_written() noexcept;

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

// Before a run: throw UsageError where write_file(path) could not write (no such directory, a
// directory of that name, no permission), or where `dir` cannot be made or written to, so that a
// long run does not end in an error about its report.
void check_writable_file(const std::string& path, std::string_view option);
void check_writable_dir(const std::string& dir, std::string_view option);

}  // namespace pyn::cli
