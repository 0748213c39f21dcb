// `pynference bench`: the study's strategies side by side on one workload, one table row each.

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include "args.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "engine_choice.hpp"
#include "pipeline_flags.hpp"
#include "pynference/device/error.hpp"
#include "pynference/engine/model.hpp"
#include "pynference/engine/synthetic.hpp"
#include "pynference/io/sinks.hpp"
#include "pynference/io/synthetic.hpp"
#include "pynference/io/synthetic_reference.hpp"
#include "pynference/pipeline/pipeline.hpp"
#include "tile_flags.hpp"
#include "trace_files.hpp"

namespace pyn::cli {

namespace {

const std::vector<OptionSpec>& bench_options() {
  static const std::vector<OptionSpec> specs = with_engine_options(with_tile_options({
      {"strategy", "NAMES",
       "all, or a comma-separated list of serial-pageable, serial-pinned, "
       "worker-streams, split-streams, multi-compute",
       "all"},
      {"device", "D", "auto, cpu, cuda or cuda:N", "auto"},
      {"workload", "W",
       "preset: transfer-bound (3840x2160, x1, 0.3 ms), compute-bound (960x540, x4, "
       "5 ms) or balanced (1920x1080, x2, 1 ms); other options override it",
       ""},
      {"frames", "N", "frames per strategy", "500"},
      {"repeat", "N",
       "runs per strategy; the table shows the run with the median fps and the spread", "3"},
      {"warmup", "N", "first frames left out of the measures", "10% of --frames, at most 50"},
      {"size", "WxH", "input frame size", "1920x1080"},
      {"scale", "S", "upscale factor of the synthetic engine", "2"},
      {"compute-ms", "X", "cost of one inference of the synthetic engine, in ms", "1.0"},
      {"dtype", "T", "tensor type: f32, f16 or bf16", "f16"},
      {"pixel", "P", "frame sample type: u8 or u16", "u8"},
      {"workers", "N", "threads (and streams) of worker-streams", "3"},
      {"compute-streams", "K", "inference streams of multi-compute", "2"},
      {"slots", "N", "frames in flight; 0 picks per strategy", "0"},
      {"batch", "N",
       "frames per inference, 1 to 64: N consecutive frames through the network at once (in "
       "order, the same output as 1; the last group padded with copies of the last frame); "
       "--slots then counts groups of N; a .pt2 must be made for that batch",
       "1"},
      {"cuda-graph", "",
       "capture pre + network + post once per slot and compute stream as a CUDA graph, "
       "launched per frame (CUDA devices; TorchScript models, not .pt2)",
       ""},
      {"check", "", "compare every output frame with the CPU reference (slow)", ""},
      {"json", "FILE", "also write the results, the device and the commit as JSON", ""},
      {"trace", "DIR",
       "record every span and write a timeline (SVG) and a Perfetto trace per strategy", ""},
      {"help", "", "show this help", ""},
  }));
  return specs;
}

struct Preset {
  const char* name;
  const char* size;
  const char* scale;
  const char* compute_ms;
};

constexpr Preset kPresets[] = {
    {"transfer-bound", "3840x2160", "1", "0.3"},
    {"compute-bound", "960x540", "4", "5"},
    {"balanced", "1920x1080", "2", "1"},
};

// The preset's value where the user gave none.
std::string value(const Args& args, const Preset* preset, std::string_view name) {
  if (args.has(name) || preset == nullptr) {
    return args.str(name);
  }
  if (name == "size") {
    return preset->size;
  }
  if (name == "scale") {
    return preset->scale;
  }
  return preset->compute_ms;
}

}  // namespace

int cmd_bench(const std::vector<std::string_view>& argv) {
  std::vector<std::string_view> effective = argv;
  const Args parsed(bench_options(), argv);
  if (parsed.flag("help")) {
    std::printf("usage: pynference bench [options]\n\nRuns the study's strategies on synthetic frames "
                "through the synthetic engine and prints, per strategy: fps, median GPU time of "
                "H2D / compute / D2H per frame, bound = 1/max(stage), efficiency = fps/bound, the "
                "compute-stream gap, latency and peak VRAM.\n\n%s",
                describe_options(bench_options()).c_str());
    return 0;
  }
  const Preset* preset = nullptr;
  if (parsed.has("workload")) {
    const std::string name = parsed.str("workload");
    for (const Preset& p : kPresets) {
      if (name == p.name) {
        preset = &p;
      }
    }
    if (preset == nullptr) {
      throw UsageError("unknown workload '" + name + "': expected transfer-bound, compute-bound or balanced");
    }
  }
  // Re-parse the preset's values through the same validation as the user's.
  std::vector<std::string> preset_args;
  for (const char* name : {"size", "scale", "compute-ms"}) {
    preset_args.push_back(std::string("--") + name + "=" + value(parsed, preset, name));
  }
  for (const std::string& arg : preset_args) {
    effective.emplace_back(arg);
  }
  const Args args(bench_options(), effective);
  const int batch = batch_flag(args);

  const auto strategies = parse_strategies(args.str("strategy"));
  const auto [width, height] = parse_size(args.str("size"));
  const auto frames = args.integer("frames", 2, 10'000'000);
  const auto warmup = args.has("warmup") ? args.integer("warmup", 0, frames - 2) : std::min<long long>(50, frames / 10);
  const ImageDesc image{width, height, parse_pixel_type(args.str("pixel")), ChannelOrder::rgb};
  const SyntheticOptions synthetic{args.number("compute-ms", 0.0, 10'000.0),
                                   static_cast<int>(args.integer("scale", 1, 16)),
                                   chosen_dtype(args, parse_dtype(args.str("dtype")))};
  if (args.has("json")) {
    check_writable_file(args.str("json"), "json");
  }
  if (args.has("trace")) {
    check_writable_dir(args.str("trace"), "trace");
  }
  if (args.flag("check") && args.has("model")) {
    throw UsageError("--check compares frames with the synthetic engine's CPU reference; it cannot check a model");
  }

  const Device device = open_device(args.str("device"));
  std::fprintf(stderr, "device: %s\n", device_line(device.info()).c_str());
  if (args.flag("cuda-graph") && device.backend() != Backend::cuda) {
    throw UsageError("--cuda-graph needs a CUDA device");  // before a model is loaded for nothing
  }
  if (device.backend() == Backend::host) {
    std::fprintf(stderr, "note: host-backend timings measure this CPU; they say nothing about GPUs\n");
  }
  const std::atomic<bool>& stop = install_stop_handler();
  const TileFlags tiles = read_tile_flags(args);
  const auto [engine_width, engine_height] = engine_frame_size(tiles, image);
  const std::unique_ptr<Engine> engine =
      make_engine(device, args, synthetic, engine_width, engine_height);
  const int scale =
      engine->output_shape(TensorShape{batch, 3, engine_height, engine_width}).w / engine_width;
  const bool fixed_size = args.has("model") && model_needs_frame_size(args.str("model"));
  std::fprintf(stderr, "workload: %dx%d %s -> x%d, %s, %s, %lld frames (%lld warm-up)%s%s\n", width, height,
               std::string(to_string(image.pixel)).c_str(), scale, std::string(to_string(engine->dtype())).c_str(),
               engine->name().c_str(), frames, warmup, args.flag("cuda-graph") ? ", CUDA graphs" : "",
               batch > 1 ? (", " + std::to_string(batch) + " frames per inference").c_str() : "");

  const auto repeat = args.integer("repeat", 1, 100);
  std::vector<RunReport> reports;
  std::vector<FpsRuns> fps_runs;
  for (Strategy strategy : strategies) {
    // The tiles (and, under --max-vram, the slots) each strategy runs with, chosen once for it.
    PipelineOptions tiled = pipeline_flags(args, strategy, device);
    tiled.batch = batch;
    if (const std::string tiling =
            apply_tile_flags(tiles, device, *engine, image, fixed_size, tiled);
        !tiling.empty()) {
      std::fprintf(stderr, "%s: %s\n", std::string(to_string(strategy)).c_str(), tiling.c_str());
    }
    std::vector<RunReport> runs;
    for (long long run = 0; run < repeat && !stop.load(); ++run) {
      std::fprintf(stderr, "running %s (%lld of %lld) ...\n", std::string(to_string(strategy)).c_str(), run + 1,
                   repeat);
      PipelineOptions options = tiled;
      options.measure = true;
      options.warmup = warmup;
      options.stop = &stop;
      SyntheticSource source(image, frames);
      std::unique_ptr<Sink> sink;
      if (args.flag("check")) {
        sink = std::make_unique<CheckingSink>([&source, &synthetic](std::int64_t i) {
          return expected_synthetic_output(source, i, synthetic.dtype, synthetic.scale);
        });
      } else {
        sink = std::make_unique<NullSink>();
      }
      runs.push_back(run_pipeline(device, *engine, source, *sink, options));
    }
    if (runs.empty()) {
      break;
    }
    FpsRuns fps;
    for (const RunReport& r : runs) {
      fps.push_back(r.fps);
    }
    std::nth_element(runs.begin(), runs.begin() + static_cast<std::ptrdiff_t>(runs.size() / 2), runs.end(),
                     [](const RunReport& a, const RunReport& b) { return a.fps < b.fps; });
    reports.push_back(std::move(runs[runs.size() / 2]));
    fps_runs.push_back(std::move(fps));
    if (args.has("trace")) {
      write_trace_files(args.str("trace"), reports.back(),
                        std::string(to_string(strategy)) + " (" + engine->name() + ")");
    }
  }
  std::printf("%s", report_table(reports, fps_runs).c_str());
  if (args.flag("check")) {
    std::printf("every output frame matched the CPU reference\n");
  }
  if (args.has("json")) {
    const WorkloadInfo workload{width, height, scale, args.has("model") ? 0.0 : synthetic.compute_ms,
                                std::string(to_string(engine->dtype())), std::string(to_string(image.pixel)),
                                engine->name(), frames};
    write_file(args.str("json"), report_json(device.info(), workload, reports, fps_runs));
  }
  return stop.load() ? stop_exit_code() : 0;
}

}  // namespace pyn::cli
