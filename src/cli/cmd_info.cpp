// `pynference info`: the build, the devices, and a self-check of the pre/post kernels.

#include <cstdio>
#include <string>

#include "args.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "selfcheck.hpp"
#include "version.hpp"

namespace pyn::cli {

namespace {
const std::vector<OptionSpec>& info_options() {
  static const std::vector<OptionSpec> specs = {
      {"device", "D", "device to check: auto, cpu, cuda or cuda:N", "auto"},
      {"no-check", "", "skip the pre/post kernel self-check", ""},
      {"help", "", "show this help", ""},
  };
  return specs;
}
}  // namespace

int cmd_info(const std::vector<std::string_view>& argv) {
  const Args args(info_options(), argv);
  if (args.flag("help")) {
    std::printf("usage: pynference info [options]\n\nShows the build, the CUDA devices, and checks the "
                "pre/post kernels against their CPU reference.\n\n%s",
                describe_options(info_options()).c_str());
    return 0;
  }
  std::printf("pynference %s (commit %s)\n", kVersion, kCommit);
  const int count = Device::cuda_device_count();
  std::printf("CUDA devices: %d\n", count);
  for (int i = 0; i < count; ++i) {
    std::printf("  %s\n", device_line(Device::open(DeviceSpec{Backend::cuda, i}).info()).c_str());
  }
  const Device device = open_device(args.str("device"));
  std::printf("using %s\n", device_line(device.info()).c_str());
  if (args.flag("no-check")) {
    return 0;
  }
  bool all_ok = true;
  std::printf("pre/post self-check against the CPU reference (641x359, BGR):\n");
  for (const SelfCheck& check : self_check(device)) {
    std::printf("  %-4s -> %-4s pre %-4s post %s\n", std::string(to_string(check.pixel)).c_str(),
                std::string(to_string(check.dtype)).c_str(), check.pre_ok ? "ok" : "FAIL",
                check.post_ok ? "ok" : "FAIL");
    all_ok = all_ok && check.pre_ok && check.post_ok;
  }
  std::printf("self-check: %s\n", all_ok ? "passed" : "FAILED");
  return all_ok ? 0 : 1;
}

}  // namespace pyn::cli
