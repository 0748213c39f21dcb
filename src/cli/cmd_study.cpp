// `pynference study`: the seed study reproduced by the tool. Every strategy on one default
// workload, with a timeline per strategy and a report, written to one folder.

#include <cstdio>
#include <string>

#include "args.hpp"
#include "commands.hpp"
#include "engine_choice.hpp"
#include "common.hpp"
#include "pynference/engine/synthetic.hpp"
#include "pynference/io/sinks.hpp"
#include "pynference/io/synthetic.hpp"
#include "pynference/pipeline/pipeline.hpp"
#include "study_report.hpp"
#include "trace_files.hpp"

namespace pyn::cli {

namespace {

const std::vector<OptionSpec>& study_options() {
  static const std::vector<OptionSpec> specs = with_engine_options({
      {"device", "D", "auto, cpu, cuda or cuda:N", "auto"},
      {"out", "DIR", "folder for report.md, report.json and one timeline per strategy", "pynference-study"},
      {"frames", "N", "frames per strategy", "400 on a GPU, 60 on the CPU"},
      {"size", "WxH", "input frame size", "1920x1080; 960x540 with --model; 320x180 on the CPU"},
      {"workers", "N", "threads (and streams) of worker-streams", "3"},
      {"compute-streams", "K", "inference streams of multi-compute", "2"},
      {"help", "", "show this help", ""},
  });
  return specs;
}

}  // namespace

int cmd_study(const std::vector<std::string_view>& argv) {
  const Args args(study_options(), argv);
  if (args.flag("help")) {
    std::printf("usage: pynference study [options]\n\nRuns the five strategies of the study on a built-in "
                "workload (synthetic 1920x1080 frames through a synthetic x2 network costing 1 ms a "
                "frame; 320x180 on the CPU), or through a model given with -m, and writes a Markdown "
                "report with one timeline picture per strategy.\n\n%s",
                describe_options(study_options()).c_str());
    return 0;
  }
  const Device device = open_device(args.str("device"));
  const bool gpu = device.backend() == Backend::cuda;
  if (!gpu) {
    std::fprintf(stderr, "note: the host backend stands in for a GPU here; CPU timings say nothing about GPUs\n");
  }
  const long long frames = args.has("frames") ? args.integer("frames", 10, 1'000'000) : (gpu ? 400 : 60);
  const char* size = !gpu ? "320x180" : args.has("model") ? "960x540" : "1920x1080";
  const auto [width, height] = parse_size(args.has("size") ? args.str("size") : size);
  const ImageDesc image{width, height, PixelType::u8, ChannelOrder::rgb};
  const SyntheticOptions synthetic{gpu ? 1.0 : 2.0, 2, chosen_dtype(args, DType::f16)};
  const std::string out = args.str("out");
  const std::atomic<bool>& stop = install_stop_handler();

  const std::unique_ptr<Engine> engine = make_engine(device, args, synthetic, width, height);
  std::fprintf(stderr, "device: %s\n", device_line(device.info()).c_str());
  std::vector<RunReport> reports;
  for (Strategy strategy : kAllStrategies) {
    if (stop.load()) {
      break;
    }
    std::fprintf(stderr, "running %s ...\n", std::string(to_string(strategy)).c_str());
    PipelineOptions options;
    options.strategy = strategy;
    options.workers = static_cast<int>(args.integer("workers", 1, 64));
    options.compute_streams = static_cast<int>(args.integer("compute-streams", 1, 64));
    options.measure = true;
    options.warmup = std::min<long long>(50, frames / 10);
    options.trace = true;
    options.stop = &stop;
    SyntheticSource source(image, frames);
    NullSink sink;
    reports.push_back(run_pipeline(device, *engine, source, sink, options));
    const RunReport& r = reports.back();
    write_trace_files(out, r, std::string(to_string(strategy)) + ": " + std::to_string(static_cast<int>(r.fps + 0.5)) +
                                  " fps, " + std::to_string(static_cast<int>(r.efficiency * 100 + 0.5)) + "% of bound");
  }
  const int scale = engine->output_shape(tensor_shape_of(image)).w / image.width;
  const WorkloadInfo workload{image.width, image.height, scale, args.has("model") ? 0.0 : synthetic.compute_ms,
                              std::string(to_string(engine->dtype())), std::string(to_string(image.pixel)),
                              engine->name(), frames};
  write_file(out + "/report.md", study_markdown(device.info(), workload, reports));
  write_file(out + "/report.json", report_json(device.info(), workload, reports));
  std::printf("%s", report_table(reports).c_str());
  std::printf("study written to %s/report.md\n", out.c_str());
  return stop.load() ? stop_exit_code() : 0;
}

}  // namespace pyn::cli
