#pragma once
// `pynference run` as a function, for the CLI and for other front ends that run what it runs (the
// Python module's run()): the same arguments, checks, engine, input, output and summary.

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "args.hpp"
#include "pynference/pipeline/report.hpp"

namespace pyn::cli {

// The run command's options (run --help lists them).
[[nodiscard]] const std::vector<OptionSpec>& run_options();
// Parses run's arguments, ffmpeg-style short ones (-i, -o, -ss, ...) included; UsageError for bad
// ones.
[[nodiscard]] Args run_args(const std::vector<std::string_view>& argv);

struct RunHooks {
  // The CLI's: install its signal handlers (a first signal stops after the frames in flight, a
  // second, or one before the first frame, ends the process and removes OUT.part).
  bool signals = false;
  // Without `signals`: set by the caller to stop reading; the frames in flight are finished.
  const std::atomic<bool>* stop = nullptr;
  // Once the input is open: its frame count where known.
  std::function<void(std::optional<std::int64_t>)> on_start;
  // After each frame has reached the output, with the frames written so far (the sink's thread).
  std::function<void(std::int64_t)> on_frame;
};

struct RunOutcome {
  RunReport report;
  bool interrupted = false;      // stopped (signal or hooks.stop) before the input's end
  bool nothing_written = false;  // stopped before the first frame: no output
  // --on-error keep: the damage that ended the run (which still failed), and the line saying what
  // was kept.
  std::string kept;
  std::string kept_line;
};

// Everything `run` does after parsing: throws the library's errors (UsageError, DeviceUnavailable,
// Error) with their one line; the summary and progress lines go to stderr unless --quiet.
[[nodiscard]] RunOutcome run_command(const Args& args, const RunHooks& hooks);

}  // namespace pyn::cli
