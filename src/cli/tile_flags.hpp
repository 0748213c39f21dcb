#pragma once
// --tile, --tile-overlap, --tile-batch and --max-vram, which run and bench both take: read and
// checked in the flags' own words, then turned into the run's compute plan and slots (tile_plan,
// choose_for_vram), the library's field names turned back into the flags.

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "args.hpp"
#include "pynference/device/device.hpp"
#include "pynference/engine/engine.hpp"
#include "pynference/pipeline/options.hpp"

namespace pyn::cli {

// A command's own options with the four tile options before --help (the last).
[[nodiscard]] std::vector<OptionSpec> with_tile_options(std::vector<OptionSpec> own);

struct TileFlags {
  std::optional<std::pair<int, int>> size;  // --tile WxH
  bool automatic = false;                   // --tile auto
  int overlap = 16;
  int batch = 1;
  std::optional<std::size_t> max_vram;  // bytes
  [[nodiscard]] bool any() const noexcept { return size || automatic || max_vram; }
};

// Throws UsageError naming the flag.
[[nodiscard]] TileFlags read_tile_flags(const Args& args);

// The frame size an engine compiled for one size (a state dict, .onnx) is made for: the tile's
// where --tile WxH is given, else the frame's.
[[nodiscard]] std::pair<int, int> engine_frame_size(const TileFlags& tiles,
                                                    const FrameFormat& input);

// Sets options.plan (and, with --max-vram or --tile auto, options.slots) for frames of `input`
// through `engine`; `fixed_size` says the engine was compiled for one frame size, which tiles of
// a size chosen here cannot use. Returns what the summary says of it ("" for whole frames).
[[nodiscard]] std::string apply_tile_flags(const TileFlags& tiles, const Device& device,
                                           Engine& engine, const FrameFormat& input,
                                           bool fixed_size, PipelineOptions& options);

// "8G", "512M", "1.5G", "8GiB", plain bytes: powers of 1024. UsageError naming `flag`.
[[nodiscard]] std::size_t parse_bytes(const std::string& text, const std::string& flag);

}  // namespace pyn::cli
