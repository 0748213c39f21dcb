// `pynference info`: the build, the devices, and a self-check of the pre/post kernels.

#include <cstdio>
#include <string>

#include "args.hpp"
#include "commands.hpp"
#include "engine_choice.hpp"
#include "common.hpp"
#include "selfcheck.hpp"
#include "version.hpp"

namespace pyn::cli {

namespace {
const std::vector<OptionSpec>& info_options() {
  static const std::vector<OptionSpec> specs = with_engine_options({
        {"device", "D", "device to check: auto, cpu, cuda or cuda:N", "auto"},
        {"no-check", "", "skip the pre/post kernel self-check", ""},
        {"size", "WxH", "frame size to try a model (--model) on", "960x540"},
        {"help", "", "show this help", ""},
  });
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
  if (args.has("model")) {
    const auto [width, height] = parse_size(args.str("size"));
    const std::unique_ptr<Engine> engine = make_engine(device, args, SyntheticOptions{}, width, height);
    const TensorShape in = tensor_shape_of(ImageDesc{width, height, PixelType::u8, ChannelOrder::rgb});
    const TensorShape out = engine->output_shape(in);
    std::printf("model: %s\n  %dx%dx%dx%d -> %dx%dx%dx%d (x%d), %s\n", engine->name().c_str(), in.n, in.c, in.h,
                in.w, out.n, out.c, out.h, out.w, out.w / in.w, std::string(to_string(engine->dtype())).c_str());
  }
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
