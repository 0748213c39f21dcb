#include "tile_flags.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "pynference/core/error.hpp"
#include "pynference/pipeline/compute_plan.hpp"
#include "pynference/pipeline/vram_budget.hpp"

namespace pyn::cli {

namespace {

// The library names fields; the user gave flags.
std::string in_flags_words(std::string what) {
  for (const auto& [field, flag] : {std::pair{"TileOptions width", "--tile width"},
                                    {"TileOptions height", "--tile height"},
                                    {"TileOptions overlap", "--tile-overlap"},
                                    {"TileOptions batch", "--tile-batch"},
                                    {"max_vram", "--max-vram"}}) {
    for (std::size_t at = what.find(field); at != std::string::npos; at = what.find(field, at)) {
      what.replace(at, std::string(field).size(), flag);
      at += std::string(flag).size();
    }
  }
  return what;
}

// The engine's scale, asked at the size and N it was made for (one compiled for tiles takes no
// more, one compiled for a batch no other).
int scale_of(Engine& engine, std::pair<int, int> size, int n) {
  return engine.output_shape(TensorShape{n, 3, size.second, size.first}).w / size.first;
}

}  // namespace

std::vector<OptionSpec> with_tile_options(std::vector<OptionSpec> own) {
  std::vector<OptionSpec> tiles = {
      {"tile", "WxH|auto",
       "cut each frame into tiles of WxH input pixels (the last ones moved inward to end at the "
       "frame's edge), run back to back on the GPU and stitched there; auto: the largest that fit "
       "--max-vram (or the GPU's memory)",
       "whole frames"},
      {"tile-overlap", "N",
       "input pixels neighbouring tiles share; each keeps its half, so a network whose receptive "
       "field reaches R pixels gives the whole frame's result with N >= 2R + 2",
       "16"},
      {"tile-batch", "N", "tiles per inference (a model that takes batches)", "1"},
      {"max-vram", "SIZE",
       "stay under this much GPU memory (8G, 512M): tiles and slots are chosen from the "
       "measured footprint of the model (refused where the smallest tiles do not fit)",
       ""},
  };
  own.insert(own.empty() ? own.end() : own.end() - 1, tiles.begin(), tiles.end());
  return own;
}

std::size_t parse_bytes(const std::string& text, const std::string& flag) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  std::string unit = end != nullptr ? end : "";
  if (unit.ends_with("iB")) {
    unit.resize(unit.size() - 2);
  } else if (unit.size() > 1 && unit.ends_with("B")) {
    unit.resize(unit.size() - 1);
  }
  double factor = 0;
  if (unit.empty() || unit == "B") {
    factor = 1;
  } else if (unit == "K" || unit == "k") {
    factor = 1024.0;
  } else if (unit == "M") {
    factor = 1024.0 * 1024.0;
  } else if (unit == "G") {
    factor = 1024.0 * 1024.0 * 1024.0;
  } else if (unit == "T") {
    factor = 1024.0 * 1024.0 * 1024.0 * 1024.0;
  }
  const double bytes = value * factor;
  if (text.empty() || end == text.c_str() || factor == 0 || !(bytes >= 1) || bytes > 1e15) {
    throw UsageError("bad " + flag + " '" + text + "': expected a size such as 8G, 512M or 1.5G");
  }
  return static_cast<std::size_t>(bytes);
}

TileFlags read_tile_flags(const Args& args) {
  TileFlags tiles;
  if (args.has("tile")) {
    const std::string tile = args.str("tile");
    if (tile == "auto") {
      tiles.automatic = true;
    } else {
      try {
        tiles.size = parse_size(tile);
      } catch (const UsageError&) {
        throw UsageError("bad --tile '" + tile + "': expected WIDTHxHEIGHT, e.g. 512x512, or auto");
      }
    }
  }
  if (args.has("max-vram")) {
    tiles.max_vram = parse_bytes(args.str("max-vram"), "--max-vram");
  }
  if (!tiles.any()) {
    for (const char* flag : {"tile-overlap", "tile-batch"}) {
      if (args.has(flag)) {
        throw UsageError("--" + std::string(flag) + " needs --tile or --max-vram");
      }
    }
  }
  tiles.overlap = static_cast<int>(args.integer("tile-overlap", 0, 4096));
  tiles.batch = static_cast<int>(args.integer("tile-batch", 1, 64));
  if (tiles.size && tiles.overlap >= std::min(tiles.size->first, tiles.size->second)) {
    throw UsageError("--tile-overlap " + std::to_string(tiles.overlap) +
                     " must be less than the sides of --tile " + args.str("tile"));
  }
  return tiles;
}

std::pair<int, int> engine_frame_size(const TileFlags& tiles, const FrameFormat& input) {
  const int width = width_of(input);
  const int height = height_of(input);
  if (!tiles.size) {
    return {width, height};
  }
  // The tiles' own size (rounded for 4:2:0 as tile_plan rounds it), whatever the scale.
  try {
    const ComputePlan plan = tile_plan(
        input, TileOptions{tiles.size->first, tiles.size->second, tiles.overlap, 1, 1}, 1);
    return {plan.input.w, plan.input.h};
  } catch (const UsageError& e) {
    throw UsageError(in_flags_words(e.what()));
  }
}

std::string apply_tile_flags(const TileFlags& tiles, const Device& device, Engine& engine,
                             const FrameFormat& input, bool fixed_size, PipelineOptions& options) {
  if (!tiles.any()) {
    return "";
  }
  try {
    const int scale =
        scale_of(engine, engine_frame_size(tiles, input), options.batch * tiles.batch);
    const auto named = [&](const ComputePlan& plan) {
      return plan.jobs() > 1 ? describe(plan) + " (overlap " + std::to_string(tiles.overlap) + ")"
                             : std::string("whole frames (one tile each)");
    };
    if (tiles.size && !tiles.max_vram) {
      options.plan = tile_plan(
          input, TileOptions{tiles.size->first, tiles.size->second, tiles.overlap, tiles.batch, 1},
          scale);
      return named(*options.plan);
    }
    if (fixed_size) {
      throw UsageError(std::string(tiles.automatic ? "--tile auto" : "--max-vram") +
                       " tries tile sizes, which a model compiled for one frame size cannot "
                       "take; give --tile WxH");
    }
    std::size_t budget = 0;
    if (tiles.max_vram) {
      budget = *tiles.max_vram;
    } else if (device.backend() == Backend::cuda) {
      // The probes measure the device's whole use, this process's context and weights included, so
      // the budget is the card's memory; what other processes hold is not known apart from ours.
      budget = device.info().total_memory;
    } else {
      throw UsageError("--tile auto on the CPU needs --max-vram SIZE (there is no GPU memory)");
    }
    const bool serial = options.strategy == Strategy::serial_pageable ||
                        options.strategy == Strategy::serial_pinned;
    VramRequest request;
    request.max_vram = budget;
    request.slots = options.slots > 0 ? options.slots : default_slots(options);
    request.min_slots = options.slots > 0 ? options.slots : serial ? 1 : 2;
    request.tiles = TileOptions{0, 0, tiles.overlap, tiles.batch, 1};
    if (tiles.size) {
      request.tiles.width = tiles.size->first;
      request.tiles.height = tiles.size->second;
    }
    request.scale = scale;
    request.allow_whole = !tiles.automatic && !tiles.size;
    ProcessorOptions processor;
    processor.lanes = lanes_of(options);
    processor.output_format = options.output_format;
    processor.cuda_graph = options.cuda_graph;
    ProcessorProbe probe(device, engine, input, processor);
    const VramChoice choice = choose_for_vram(input, request, probe);
    options.plan = choice.plan;
    options.slots = choice.slots;
    const std::string chosen = "under --max-vram " + format_bytes(static_cast<double>(budget)) +
                               ": " + std::to_string(choice.slots) + " slots, " +
                               format_bytes(static_cast<double>(choice.measured)) + " measured";
    return (choice.plan ? named(*choice.plan) : "whole frames") + ", " + chosen;
  } catch (const UsageError& e) {
    throw UsageError(in_flags_words(e.what()));
  }
}

}  // namespace pyn::cli
