#pragma once
// --hwdec auto|cuda|none on run: where the input video is decoded, checked against --device in the
// flags' own words, and turned into the reader's options (io/video.hpp VideoInputOptions).

#include <string>

#include "pynference/device/device.hpp"
#include "pynference/io/video.hpp"
#include "pynference/pipeline/options.hpp"

namespace pyn::cli {

struct HwDecodeFlags {
  VideoInputOptions::HwDecode mode = VideoInputOptions::HwDecode::none;
  int cuda_device = 0;
  int device_frames = 8;
};

// --hwdec NAME: auto, cuda or none; UsageError for other names.
[[nodiscard]] VideoInputOptions::HwDecode parse_hwdec(const std::string& name);

// What a run without --hwdec decodes with: auto on a CUDA device, where NVDEC's frames can go
// straight into the pipeline; none on the CPU backend (nothing to say there) and with --cuda-graph
// (graphs are captured over the slots' own buffers, which lent frames bypass).
[[nodiscard]] std::string default_hwdec(const Device& device, const PipelineOptions& options);

// The reader's options for a run on `device` (`device_flag`: --device as given). cuda on the CPU
// backend: UsageError where --device cpu was asked for, DeviceUnavailable where the machine has no
// CUDA device; auto there decodes on the CPU, with one line saying why (unless `quiet`).
// device_frames: the frames the pipeline keeps in flight (its slots times the batch).
[[nodiscard]] HwDecodeFlags hwdec_flags(const std::string& name, const std::string& device_flag,
                                        const Device& device, const PipelineOptions& options,
                                        bool quiet);

}  // namespace pyn::cli
