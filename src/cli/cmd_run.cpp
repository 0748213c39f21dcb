// `pynference run`: frames from a video, a pipe or a synthetic source through a network into a
// video or a pipe, with one of the study's strategies (split-streams by default).

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include "args.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "engine_choice.hpp"
#include "pipeline_flags.hpp"
#include "progress.hpp"
#include "pynference/device/error.hpp"
#include "pynference/engine/model.hpp"
#include "pynference/io/video.hpp"
#include "pynference/io/video_stream.hpp"
#include "pynference/pipeline/pipeline.hpp"
#include "run_command.hpp"
#include "run_io.hpp"
#include "tile_flags.hpp"
#include "trace_files.hpp"

namespace pyn::cli {

const std::vector<OptionSpec>& run_options() {
  static const std::vector<OptionSpec> specs = with_engine_options(with_tile_options({
      {"input", "IN",
       "-i: a video file, an image sequence (frames/%04d.png), a .y4m file, - (standard "
       "input: Y4M, or a container that streams: matroska, nut, mpegts), raw:WxH:PIXFMT:PATH (raw "
       "planar YUV; PATH may be -) or synthetic:WxH:FRAMES[:PIXFMT]",
       ""},
      {"input-format", "NAME",
       "the input's demuxer by FFmpeg's name (matroska, nut, mpegts, yuv4mpegpipe, ...) instead of "
       "probing it",
       ""},
      {"start-number", "N", "an image sequence's first frame number (default: the lowest there is)",
       ""},
      {"input-rate", "R", "an image sequence's frame rate (25, 30000/1001, 29.97)", "25"},
      {"output", "OUT",
       "-o: a video file (.mkv .mp4 .mov ...), an image sequence, a .y4m file, - (Y4M on "
       "standard output), raw:PATH (raw planar YUV; PATH may be -) or null (drop the "
       "frames)",
       ""},
      {"strategy", "NAME",
       "serial-pageable, serial-pinned, worker-streams, split-streams or multi-compute",
       "split-streams"},
      {"device", "D", "auto, cpu, cuda or cuda:N", "auto"},
      {"hwdec", "MODE",
       "where the input video is decoded: none (FFmpeg on the CPU), cuda (NVDEC on --device's GPU, "
       "frames stay on the GPU: no CPU decode, no upload; an error where it cannot) or auto (NVDEC "
       "where codec, pixel format and size allow, else the CPU, with one line saying why; by "
       "default auto on a GPU, none on the CPU and with --cuda-graph)",
       "auto"},
      {"ss", "T", "-ss: start at this input time (seconds or [HH:]MM:SS[.frac])", ""},
      {"t", "T", "-t: take this much of the input", ""},
      {"to", "T", "-to: stop at this input time", ""},
      {"encoder", "NAME",
       "video encoder: libx264, libx265, ffv1, ... (default: by the output's kind)", ""},
      {"crf", "N", "constant rate factor of libx264/libx265 (lower is better)", ""},
      {"preset", "P", "encoder preset (libx264/libx265: ultrafast ... veryslow)", ""},
      {"pix-fmt", "F",
       "output pixel format (yuv420p, yuv444p, yuv420p10le, yuv444p10le, rgb24 ... are made "
       "on the GPU)",
       "the input's"},
      {"format", "NAME",
       "-f: the output's container by FFmpeg's name (matroska, nut, mpegts, mp4, ...) instead of "
       "its "
       "extension; with -o - a container that streams (matroska, nut, mpegts)",
       ""},
      {"no-audio", "", "do not copy audio and subtitle streams", ""},
      {"map", "SPEC",
       "-map: keep these audio and subtitle streams, repeatable: a, s (all of a kind), a:N, s:N "
       "(the Nth), -a, -s:N (leave out), none; the video is always the network's",
       "every stream"},
      {"audio-codec", "NAME",
       "copy, or an audio encoder (aac, libopus, flac, ac3, ...) for every audio stream; copy "
       "converts a stream the output cannot hold to its default encoder",
       "copy"},
      {"audio-bitrate", "B", "bits per second of an audio encoder (128k, 96000)", "the encoder's"},
      {"workers", "N", "threads (and streams) of worker-streams", "3"},
      {"compute-streams", "K", "inference streams of multi-compute", "2"},
      {"slots", "N", "frames in flight; 0 picks per strategy", "0"},
      {"batch", "N",
       "frames per inference, 1 to 64: N consecutive frames through the network at once (in "
       "order, the same output as 1; the last group padded with copies of the last frame); "
       "--slots then counts groups of N; a .pt2 must be made for that batch",
       "1"},
      {"cuda-graph", "",
       "capture pre + network + post per slot as CUDA graphs (TorchScript and the synthetic "
       "engine)",
       ""},
      {"measure", "",
       "time each stage alone before the first frame and report the run's efficiency (fps over "
       "the bound); off, the run measures nothing",
       ""},
      {"trace", "DIR",
       "record every span and write a timeline (SVG) and a Perfetto trace (implies --measure)", ""},
      {"on-error", "MODE",
       "damaged input (read through FFmpeg): stop (fail, write nothing), skip (conceal or drop "
       "what cannot be decoded and go on, as ffmpeg does; counted in the summary) or keep (stop at "
       "the damage, keep the frames done, exit 1)",
       "stop"},
      {"y", "", "-y: overwrite the output if it exists", ""},
      {"quiet", "", "no progress line and no summary (errors still go to stderr)", ""},
      {"verbose", "",
       "FFmpeg's own warnings and errors on stderr too, and what the first frame waited for", ""},
      {"help", "", "show this help", ""},
  }));
  return specs;
}

namespace {

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
    } else if (arg == "-map") {
      arg = "--map";
    } else if (arg == "-f") {
      arg = "--format";
    } else if (arg == "-h") {
      arg = "--help";
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

// "128k", "1.5M", "96000" -> bits per second.
std::int64_t parse_bitrate(const std::string& text) {
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  const std::string unit = end != nullptr ? end : "";
  value *= unit == "k" || unit == "K" ? 1e3 : unit == "M" ? 1e6 : 1.0;
  if (text.empty() || !(unit.empty() || unit == "k" || unit == "K" || unit == "M") ||
      !(value >= 1000) || value > 1e9) {
    throw UsageError("bad --audio-bitrate '" + text +
                     "': expected bits per second from 1000, e.g. 128k or 96000");
  }
  return static_cast<std::int64_t>(value);
}

// Holds OUT.part open under an exclusive lock for the whole run, so that a second run writing the
// same output refuses at once instead of sharing the file. The writer opens the same path (the
// same file) later; what it renames into place stays locked until this is gone. Removes the file
// where it is still there, still this one: a run that failed before writing.
class OutputLock {
 public:
  explicit OutputLock(const std::string& out) : part_(out + ".part") {
    fd_ = ::open(part_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd_ < 0) {
      throw UsageError("cannot create " + part_ + ": " + std::strerror(errno));
    }
    struct stat st {};
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0 || ::fstat(fd_, &st) != 0) {
      const int error = errno;
      ::close(fd_);
      throw UsageError(error == EWOULDBLOCK
                           ? out + " is being written by another run (" + part_ + " is locked)"
                           : "cannot lock " + part_ + ": " + std::strerror(error));
    }
    device_ = st.st_dev;
    inode_ = st.st_ino;
  }
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;
  ~OutputLock() {
    struct stat st {};
    if (::stat(part_.c_str(), &st) == 0 && st.st_dev == device_ && st.st_ino == inode_) {
      ::unlink(part_.c_str());
    }
    ::close(fd_);
  }
  [[nodiscard]] const std::string& part() const { return part_; }

 private:
  std::string part_;
  int fd_ = -1;
  dev_t device_ = 0;
  ino_t inode_ = 0;
};

}  // namespace

Args run_args(const std::vector<std::string_view>& argv) {
  return Args(run_options(), long_names(argv));
}

int cmd_run(const std::vector<std::string_view>& argv) {
  const Args args = run_args(argv);
  if (args.flag("help")) {
    std::printf(
        "usage: pynference run -i IN -o OUT -m MODEL [options]\n\nRuns a network over every frame "
        "of IN and writes the result to OUT. Frames are decoded and encoded on their own threads; "
        "colour conversion, normalisation and the network run on the GPU. Output is written to "
        "OUT.part and renamed when the run succeeds; Ctrl-C ends the run after the frames in "
        "flight "
        "with a valid, shorter OUT.\n\n  -m synthetic:xS[:MS] runs the synthetic engine (scale S, "
        "MS "
        "ms per frame) instead of a network.\n\n%s",
        describe_options(run_options()).c_str());
    return 0;
  }
  RunHooks hooks;
  hooks.signals = true;
  const RunOutcome outcome = run_command(args, hooks);
  if (outcome.nothing_written) {
    std::fprintf(stderr,
                 "pynference: interrupted before the first frame was written; nothing written\n");
    return stop_exit_code();
  }
  if (!outcome.kept.empty() && !outcome.interrupted) {
    // --on-error keep: the frames before the damage are in place; the run still failed.
    std::fprintf(stderr, "pynference: %s\n", outcome.kept_line.c_str());
    return 1;
  }
  return outcome.interrupted ? stop_exit_code() : 0;
}

RunOutcome run_command(const Args& args, const RunHooks& hooks) {
  const std::atomic<bool>* stop = hooks.stop;
  if (hooks.signals) {
    // From here a signal before the first frame exits at once: nothing worth keeping exists yet.
    watch_output("");
    stop = &install_stop_handler();
  }
  const auto stopped = [&] {
    return hooks.signals ? stop_signal() != 0 : stop != nullptr && stop->load();
  };
  for (const auto& [name, shown] :
       {std::pair{"input", "-i IN"}, {"output", "-o OUT"}, {"model", "-m MODEL"}}) {
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
  std::unique_ptr<OutputLock> lock;
  if (const std::string out_file = file_of(out_spec); !out_file.empty()) {
    check_output_name(file_of(in_spec), out_file, args.flag("y"));
    if (!is_pattern(out_file)) {
      lock = std::make_unique<OutputLock>(out_file);
      if (hooks.signals) {
        watch_output(lock->part());
      }
    }
  }
  if (args.has("trace")) {
    check_writable_dir(args.str("trace"), "trace");
  }
  const Strategy strategy = parse_strategies(args.str("strategy")).front();
  if (args.str("strategy").find(',') != std::string::npos || args.str("strategy") == "all") {
    throw UsageError("run takes one strategy; `pynference bench` compares them");
  }
  const OutputOptions output{
      out_spec,
      args.has("encoder") ? args.str("encoder") : "",
      args.has("crf") ? std::optional<int>(static_cast<int>(args.integer("crf", 0, 63)))
                      : std::nullopt,
      args.has("preset") ? args.str("preset") : "",
      args.has("pix-fmt") ? args.str("pix-fmt") : "",
      !args.flag("no-audio"),
      args.str("audio-codec"),
      args.has("audio-bitrate") ? parse_bitrate(args.str("audio-bitrate")) : 0,
      args.has("format") ? args.str("format") : "",
      args.all("map")};
  if (args.flag("no-audio") && args.has("audio-codec")) {
    throw UsageError("give --no-audio or --audio-codec, not both");
  }
  if (args.flag("no-audio") && args.has("map")) {
    throw UsageError("give --no-audio or --map, not both");
  }
  const bool quiet = args.flag("quiet");
  set_ffmpeg_verbose(args.flag("verbose"));

  const Device device = open_device(args.str("device"));
  PipelineOptions options = pipeline_flags(args, strategy, device);
  options.batch = batch_flag(args);
  options.measure = args.flag("measure");
  const TileFlags tiles = read_tile_flags(args);
  const HwDecodeFlags hwdec =
      hwdec_flags(args.has("hwdec") ? args.str("hwdec") : default_hwdec(device, options),
                  args.str("device"), device, options, quiet);
  std::unique_ptr<Input> input =
      open_input(in_spec, window, parse_on_error(args.str("on-error")),
                 args.has("input-format") ? args.str("input-format") : "",
                 args.has("start-number")
                     ? std::optional<std::int64_t>(args.integer("start-number", 0, 1000000000))
                     : std::nullopt,
                 args.has("input-rate") ? args.str("input-rate") : "", hwdec);
  if (options.cuda_graph && input->source().lends() == Memory::device) {
    throw UsageError("--cuda-graph does not take NVDEC's frames: give --hwdec none with it");
  }
  const FrameFormat in_format = input->source().format();
  if (!output.pix_fmt.empty()) {
    options.output_format = pixel_format(output.pix_fmt, in_format);
  }
  if (!options.output_format && std::holds_alternative<ImageDesc>(in_format) &&
      ((out_spec == "-" && !args.has("format")) || out_spec.ends_with(".y4m") ||
       out_spec.starts_with("raw:"))) {
    // Y4M (and our raw output) holds YUV only: RGB frames become 4:4:4 on the GPU, 10-bit for
    // 16-bit samples.
    const bool deep = std::get<ImageDesc>(in_format).pixel == PixelType::u16;
    options.output_format = pixel_format(deep ? "yuv444p10le" : "yuv444p", in_format);
  }
  const auto [engine_width, engine_height] = engine_frame_size(tiles, in_format);
  const std::unique_ptr<Engine> engine =
      make_engine(device, args, SyntheticOptions{0.0, 2, chosen_dtype(args, DType::f16)},
                  engine_width, engine_height);
  const bool fixed_size = args.has("model") && model_needs_frame_size(args.str("model"));
  const std::string tiling =
      apply_tile_flags(tiles, device, *engine, in_format, fixed_size, options);
  const std::unique_ptr<Sink> sink = open_output(output, *input);
  if (!quiet) {
    std::fprintf(stderr, "pynference: %s -> %s: %s, %s, %s%s%s on %s\n", in_spec.c_str(),
                 out_spec.c_str(), input->description().c_str(), engine->name().c_str(),
                 std::string(to_string(options.strategy)).c_str(),
                 tiling.empty() ? "" : (", " + tiling).c_str(),
                 options.batch > 1 ? (", batch " + std::to_string(options.batch)).c_str() : "",
                 device_line(device.info()).c_str());
  }

  options.stop = stop;
  CountingSink counting(*sink, hooks.on_frame);
  if (hooks.on_start) {
    hooks.on_start(input->source().frame_count());
  }
  ProgressLine progress(counting, input->source().frame_count(),
                        !quiet && isatty(STDERR_FILENO) == 1);
  std::optional<StoppableSource> stoppable;
  // Lent frames (NVDEC) are not read, so a stalled pipe cannot be read around.
  if (input_may_stall(in_spec) && stop != nullptr && !input->source().lends()) {
    stoppable.emplace(input->source(), *stop);
  }
  // A read abandoned at a stop may still be running in its thread: the input then lives on.
  const auto keep_input = [&] {
    if (stoppable && stoppable->abandoned()) {
      (void)input.release();
    }
  };
  RunReport report;
  try {
    report = run_pipeline(device, *engine,
                          stoppable ? static_cast<Source&>(*stoppable) : input->source(), counting,
                          options);
    keep_input();
  } catch (const std::exception&) {
    keep_input();
    if (stopped() && counting.written() == 0) {
      progress.finish();
      RunOutcome outcome;
      outcome.interrupted = true;
      outcome.nothing_written = true;
      return outcome;
    }
    throw;
  }
  progress.finish();
  // What the input says of damage, unless a read of it is still going on (`input` let go).
  const std::string kept = input ? input->error_kept() : "";
  if (report.frames == 0 && !kept.empty()) {
    throw Error(kept + "; no frames before it, nothing written");
  }
  if (report.frames == 0) {
    // -ss past the end, -t 0: a file output has refused to close by now; the others say so here.
    throw Error(
        "no frames in " + in_spec +
        (window.start_s > 0 || window.duration_s || window.end_s ? " within -ss/-t/-to" : "") +
        "; nothing written");
  }

  if (args.has("trace")) {
    write_trace_files(args.str("trace"), report,
                      std::string(to_string(options.strategy)) + " (" + engine->name() + ")");
  }
  // A signal while the input blocked ends the run at the input's end, not as interrupted: the
  // signal still decides the exit code.
  const bool interrupted = report.interrupted || stopped();
  if (!quiet && kept.empty()) {  // keep's line below says what was written
    const auto* video = dynamic_cast<const VideoSink*>(sink.get());
    const std::string as =
        video != nullptr && !video->description().empty() ? " as " + video->description() : "";
    char bound[64] = "";
    if (report.bound_fps > 0) {  // measured runs only
      std::snprintf(bound, sizeof bound, ", %.2f of the bound", report.efficiency);
    }
    const std::int64_t damaged = input ? input->frames_damaged() : 0;
    const std::string damage = damaged == 0
                                   ? ""
                                   : "; " + std::to_string(damaged) + " damaged frame" +
                                         (damaged == 1 ? "" : "s") + " concealed or dropped";
    // How the frames went through the network: tiles, batches.
    std::string how =
        options.plan && options.plan->jobs() > 1 ? "; " + describe(*options.plan) : "";
    if (report.batch > 1) {
      how += "; " + std::to_string(report.batch) + " frames per inference";
      if (options.plan && options.plan->jobs() > 1) {
        how += " (" + std::to_string(report.batch * options.plan->input.n) + " tiles in each)";
      }
    }
    std::fprintf(
        stderr,
        "pynference: %s %lld frames in %.1f s (%.1f fps%s, first frame after %.0f ms%s)%s%s%s\n",
        interrupted ? "interrupted after" : "wrote", static_cast<long long>(report.frames),
        report.wall_s, report.fps, bound, report.first_frame_ms, how.c_str(),
        out_spec == "null" ? "" : (" to " + out_spec).c_str(), as.c_str(), damage.c_str());
    if (args.flag("verbose") && report.frames > 0) {
      std::fprintf(
          stderr,
          "pynference: first frame after %.1f ms: %.1f ms device buffers and output, %.1f ms "
          "warm-up, %.1f ms the frame%s\n",
          report.first_frame_ms, report.setup_ms, report.warmup_ms,
          report.first_frame_ms - report.setup_ms - report.warmup_ms,
          report.stand_in_slots > 0
              ? "; its host buffers pageable stand-ins, pinned from that slot's next frame"
              : "");
      if (report.bound_fps > 0) {  // --measure: what bounds the run, and what the run made of it
        std::fprintf(
            stderr,
            "pynference: each stage alone: h2d %.3f ms, compute %.3f ms, d2h %.3f ms, both "
            "copies %.3f ms; in the run: h2d %.3f ms, compute %.3f ms, d2h %.3f ms, %.3f "
            "ms between computes\n",
            report.stages.h2d_ms, report.stages.compute_ms, report.stages.d2h_ms,
            report.stages.duplex_ms, report.in_run.h2d_ms, report.in_run.compute_ms,
            report.in_run.d2h_ms, report.compute_gap_ms);
      }
    }
  }
  RunOutcome outcome;
  outcome.report = report;
  outcome.interrupted = interrupted;
  outcome.kept = kept;
  if (!kept.empty()) {
    outcome.kept_line = kept + "; kept the " + std::to_string(report.frames) + " frames before it" +
                        (out_spec == "null" ? "" : " in " + out_spec);
  }
  return outcome;
}

}  // namespace pyn::cli
