#include "hwdec_flags.hpp"

#include <algorithm>
#include <cstdio>

#include "pynference/core/error.hpp"
#include "pynference/device/error.hpp"

namespace pyn::cli {

VideoInputOptions::HwDecode parse_hwdec(const std::string& name) {
  if (name == "none") {
    return VideoInputOptions::HwDecode::none;
  }
  if (name == "auto") {
    return VideoInputOptions::HwDecode::automatic;
  }
  if (name == "cuda") {
    return VideoInputOptions::HwDecode::cuda;
  }
  throw UsageError("--hwdec takes auto, cuda or none, not '" + name + "'");
}

std::string default_hwdec(const Device& device, const PipelineOptions& options) {
  return device.backend() == Backend::cuda && !options.cuda_graph ? "auto" : "none";
}

HwDecodeFlags hwdec_flags(const std::string& name, const std::string& device_flag,
                          const Device& device, const PipelineOptions& options, bool quiet) {
  HwDecodeFlags flags;
  flags.mode = parse_hwdec(name);
  if (flags.mode == VideoInputOptions::HwDecode::none) {
    return flags;
  }
  if (device.backend() != Backend::cuda) {
    if (flags.mode == VideoInputOptions::HwDecode::cuda) {
      if (device_flag == "cpu") {
        throw UsageError("--hwdec cuda decodes on the GPU: it does not go with --device cpu");
      }
      throw DeviceUnavailable(
          "--hwdec cuda: no CUDA device on this machine (no NVIDIA GPU, or no working NVIDIA "
          "driver); use --hwdec none or auto");
    }
    if (!quiet) {
      std::fprintf(stderr, "pynference: --hwdec auto: decoding on the CPU: the pipeline runs on "
                           "the CPU\n");
    }
    flags.mode = VideoInputOptions::HwDecode::none;
    return flags;
  }
  flags.cuda_device = device.info().index;
  // Every slot of the pipeline may hold a lent frame, and a batch needs all its frames lent before
  // it runs (serial strategies give nothing back before then): the bound must not be below that.
  // The frames come from the CUDA frame pool, which grows as needed; the reader asks nvdec for a
  // few extra decode surfaces only (io/video.hpp).
  const int slots = options.slots > 0 ? options.slots : default_slots(options);
  flags.device_frames = std::clamp(slots * std::max(1, options.batch), 2, 256);
  return flags;
}

}  // namespace pyn::cli
