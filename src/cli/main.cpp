// The `pynference` program: a thin front over the library. Errors become one line on stderr and
// an exit code: 2 for bad usage, 3 for a missing device, 1 for anything else.

#include <cstdio>
#include <exception>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "pynference/device/error.hpp"
#include "version.hpp"

namespace {

constexpr const char* kUsage =
    "usage: pynference <command> [options]\n"
    "\n"
    "Runs image-to-image networks over frames on NVIDIA GPUs, scheduled one of five ways.\n"
    "\n"
    "commands:\n"
    "  run      a network over a video, a pipe or an image sequence: pynference run -i IN -o OUT -m MODEL\n"
    "  info     the build, the CUDA devices, and a self-check of the pre/post kernels\n"
    "  study    the seed study reproduced: every strategy, a timeline each, a report\n"
    "  bench    the five strategies side by side on a synthetic workload\n"
    "  cache    list or clear the models -m compiled for this machine: pynference cache list|clear\n"
    "  segments a video's key frames and the segments cut at them, as JSON: pynference segments -i IN\n"
    "  join     processed segments joined without re-encoding, the audio copied: pynference join\n"
    "\n"
    "`pynference <command> --help` lists a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::printf("%s", kUsage);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::printf("pynference %s (commit %s)\n", pyn::cli::kVersion, pyn::cli::kCommit);
    return 0;
  }
  std::vector<std::string_view> rest(args.begin() + 1, args.end());
  for (std::string_view& arg : rest) {
    if (arg == "-m") {
      arg = "--model";
    }
  }
  try {
    if (args[0] == "info") {
      return pyn::cli::cmd_info(rest);
    }
    if (args[0] == "bench") {
      return pyn::cli::cmd_bench(rest);
    }
    if (args[0] == "run") {
      return pyn::cli::cmd_run(rest);
    }
    if (args[0] == "cache") {
      return pyn::cli::cmd_cache(rest);
    }
    if (args[0] == "segments") {
      return pyn::cli::cmd_segments(rest);
    }
    if (args[0] == "join") {
      return pyn::cli::cmd_join(rest);
    }
    if (args[0] == "study") {
      return pyn::cli::cmd_study(rest);
    }
    std::fprintf(stderr, "pynference: unknown command '%.*s'\n%s", static_cast<int>(args[0].size()),
                 args[0].data(), kUsage);
    return 2;
  } catch (const pyn::UsageError& e) {
    std::fprintf(stderr, "pynference: %s\n", e.what());
    return 2;
  } catch (const pyn::DeviceUnavailable& e) {
    std::fprintf(stderr, "pynference: %s\n", e.what());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pynference: error: %s\n", e.what());
    return 1;
  }
}
