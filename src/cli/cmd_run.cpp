// `pynference run`: frames from a video, a pipe or a synthetic source through a network into a
// video or a pipe, with one of the study's strategies (split-streams by default).

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include "args.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "engine_choice.hpp"
#include "progress.hpp"
#include "pynference/device/error.hpp"
#include "pynference/pipeline/pipeline.hpp"
#include "run_io.hpp"
#include "trace_files.hpp"

namespace pyn::cli {

namespace {

const std::vector<OptionSpec>& run_options() {
  static const std::vector<OptionSpec> specs = with_engine_options({
      {"input", "IN", "-i: a video file, an image sequence (frames/%04d.png), a .y4m file, - (Y4M on "
                      "standard input), raw:WxH:PIXFMT:PATH (raw planar YUV; PATH may be -) or "
                      "synthetic:WxH:FRAMES[:PIXFMT]", ""},
      {"output", "OUT", "-o: a video file (.mkv .mp4 .mov ...), an image sequence, a .y4m file, - (Y4M on "
                        "standard output), raw:PATH (raw planar YUV; PATH may be -) or null (drop the "
                        "frames)", ""},
      {"strategy", "NAME", "serial-pageable, serial-pinned, worker-streams, split-streams or multi-compute",
       "split-streams"},
      {"device", "D", "auto, cpu, cuda or cuda:N", "auto"},
      {"ss", "T", "-ss: start at this input time (seconds or [HH:]MM:SS[.frac])", ""},
      {"t", "T", "-t: take this much of the input", ""},
      {"to", "T", "-to: stop at this input time", ""},
      {"encoder", "NAME", "video encoder: libx264, libx265, ffv1, ... (default: by the output's kind)", ""},
      {"crf", "N", "constant rate factor of libx264/libx265 (lower is better)", ""},
      {"preset", "P", "encoder preset (libx264/libx265: ultrafast ... veryslow)", ""},
      {"pix-fmt", "F", "output pixel format (yuv420p, yuv444p, yuv420p10le, yuv444p10le, rgb24 ... are made "
                       "on the GPU)", "the input's"},
      {"no-audio", "", "do not copy audio and subtitle streams", ""},
      {"workers", "N", "threads (and streams) of worker-streams", "3"},
      {"compute-streams", "K", "inference streams of multi-compute", "2"},
      {"slots", "N", "frames in flight; 0 picks per strategy", "0"},
      {"cuda-graph", "", "capture pre + network + post per slot as CUDA graphs (TorchScript and the synthetic "
                         "engine)", ""},
      {"trace", "DIR", "record every span and write a timeline (SVG) and a Perfetto trace", ""},
      {"y", "", "-y: overwrite the output if it exists", ""},
      {"quiet", "", "no progress line and no summary (errors still go to stderr)", ""},
      {"help", "", "show this help", ""},
  });
  return specs;
}

// ffmpeg-style single-dash options -> the parser's long names.
std::vector<std::string_view> long_names(const std::vector<std::string_view>& argv) {
  std::vector<std::string_view> out;
  for (std::string_view arg : argv) {
    if (arg == "-i") {
      arg = "--input";
    } else if (arg == "-o") {
      arg = "--output";
    } else if (arg == "-ss") {
      arg = "--ss";
    } else if (arg == "-t") {
      arg = "--t";
    } else if (arg == "-to") {
      arg = "--to";
    } else if (arg == "-y") {
      arg = "--y";
    }
    out.push_back(arg);
  }
  return out;
}

// The file a -i/-o argument names, if any.
std::string file_of(const std::string& spec) {
  if (spec == "-" || spec == "null" || spec.starts_with("synthetic:")) {
    return {};
  }
  if (spec.starts_with("raw:")) {
    const std::size_t last = spec.find(':', spec.find(':', 4) + 1);  // raw:WxH:FMT:PATH or raw:PATH
    const std::string path = last == std::string::npos ? spec.substr(4) : spec.substr(last + 1);
    return path == "-" ? std::string() : path;
  }
  return spec;
}

}  // namespace

int cmd_run(const std::vector<std::string_view>& argv) {
  const Args args(run_options(), long_names(argv));
  if (args.flag("help")) {
    std::printf("usage: pynference run -i IN -o OUT -m MODEL [options]\n\nRuns a network over every frame "
                "of IN and writes the result to OUT. Frames are decoded and encoded on their own threads; "
                "colour conversion, normalisation and the network run on the GPU. Output is written to "
                "OUT.part and renamed when the run succeeds; Ctrl-C ends the run after the frames in flight "
                "with a valid, shorter OUT.\n\n  -m synthetic:xS[:MS] runs the synthetic engine (scale S, MS "
                "ms per frame) instead of a network.\n\n%s",
                describe_options(run_options()).c_str());
    return 0;
  }
  for (const auto& [name, shown] : {std::pair{"input", "-i IN"}, {"output", "-o OUT"}, {"model", "-m MODEL"}}) {
    if (!args.has(name)) {
      throw UsageError(std::string("run needs ") + shown + " (see pynference run --help)");
    }
  }
  const std::string in_spec = args.str("input");
  const std::string out_spec = args.str("output");
  if (args.has("t") && args.has("to")) {
    throw UsageError("give -t or -to, not both");
  }
  TimeWindow window;
  if (args.has("ss")) {
    window.start_s = parse_time(args.str("ss"));
  }
  if (args.has("t")) {
    window.duration_s = parse_time(args.str("t"));
  }
  if (args.has("to")) {
    window.end_s = parse_time(args.str("to"));
    if (*window.end_s <= window.start_s) {
      throw UsageError("-to must be later than -ss");
    }
  }
  if (const std::string out_file = file_of(out_spec); !out_file.empty()) {
    std::error_code ec;
    const std::string in_file = file_of(in_spec);
    if (!in_file.empty() && std::filesystem::equivalent(in_file, out_file, ec)) {
      throw UsageError("the output is the input file: choose another name for -o");
    }
    if (std::filesystem::exists(out_file, ec) && !args.flag("y")) {
      throw UsageError(out_file + " exists: add -y to overwrite it");
    }
  }
  PipelineOptions options;
  options.strategy = parse_strategies(args.str("strategy")).front();
  if (args.str("strategy").find(',') != std::string::npos || args.str("strategy") == "all") {
    throw UsageError("run takes one strategy; `pynference bench` compares them");
  }
  options.workers = static_cast<int>(args.integer("workers", 1, 64));
  options.compute_streams = static_cast<int>(args.integer("compute-streams", 1, 64));
  options.slots = static_cast<int>(args.integer("slots", 0, 1024));
  options.trace = args.has("trace");
  options.cuda_graph = args.flag("cuda-graph");
  const OutputOptions output{out_spec,
                             args.has("encoder") ? args.str("encoder") : "",
                             args.has("crf") ? std::optional<int>(static_cast<int>(args.integer("crf", 0, 63)))
                                             : std::nullopt,
                             args.has("preset") ? args.str("preset") : "",
                             args.has("pix-fmt") ? args.str("pix-fmt") : "",
                             !args.flag("no-audio")};
  const bool quiet = args.flag("quiet");

  const Device device = open_device(args.str("device"));
  const std::unique_ptr<Input> input = open_input(in_spec, window);
  const FrameFormat in_format = input->source().format();
  if (!output.pix_fmt.empty()) {
    options.output_format = pixel_format(output.pix_fmt, in_format);
  }
  if (!options.output_format && std::holds_alternative<ImageDesc>(in_format) &&
      (out_spec == "-" || out_spec.ends_with(".y4m") || out_spec.starts_with("raw:"))) {
    // Y4M (and our raw output) holds YUV only: RGB frames become 4:4:4 on the GPU, 10-bit for 16-bit samples.
    const bool deep = std::get<ImageDesc>(in_format).pixel == PixelType::u16;
    options.output_format = pixel_format(deep ? "yuv444p10le" : "yuv444p", in_format);
  }
  const std::unique_ptr<Engine> engine = make_engine(device, args, SyntheticOptions{0.0, 2, chosen_dtype(args, DType::f16)},
                                                      width_of(in_format), height_of(in_format));
  const std::unique_ptr<Sink> sink = open_output(output, *input);
  if (!quiet) {
    std::fprintf(stderr, "pynference: %s -> %s: %s, %s, %s on %s\n", in_spec.c_str(), out_spec.c_str(),
                 input->description().c_str(), engine->name().c_str(),
                 std::string(to_string(options.strategy)).c_str(), device_line(device.info()).c_str());
  }

  options.stop = &install_stop_handler();
  CountingSink counting(*sink);
  ProgressLine progress(counting, input->source().frame_count(), !quiet && isatty(STDERR_FILENO) == 1);
  const RunReport report = run_pipeline(device, *engine, input->source(), counting, options);
  progress.finish();

  if (args.has("trace")) {
    write_trace_files(args.str("trace"), report, std::string(to_string(options.strategy)) + " (" + engine->name() + ")");
  }
  if (!quiet) {
    std::fprintf(stderr, "pynference: %s %lld frames in %.1f s (%.1f fps, %.2f of the bound)%s\n",
                 report.interrupted ? "interrupted after" : "wrote", static_cast<long long>(report.frames),
                 report.wall_s, report.fps, report.efficiency,
                 out_spec == "null" ? "" : (" to " + out_spec).c_str());
  }
  return report.interrupted ? 130 : 0;
}

}  // namespace pyn::cli
