// `pynference segments` (a video's key frames and the segments cut at them, as JSON) and
// `pynference join` (segments' video joined without re-encoding, the input's audio copied once):
// the pieces pynference.distributed runs a video in segments with (docs/distributed.md).

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "pynference/core/error.hpp"
#include "pynference/io/segments.hpp"
#include "run_io.hpp"

namespace pyn::cli {

namespace {

const std::vector<OptionSpec>& segments_options() {
  static const std::vector<OptionSpec> specs = {
      {"input", "FILE", "-i: the video to cut", ""},
      {"segments", "N", "cut into N segments at the key frames nearest N even parts", "1"},
      {"every", "T", "cut at the first key frame after every T (seconds or [HH:]MM:SS) instead",
       ""},
      {"help", "", "show this help", ""},
  };
  return specs;
}

const std::vector<OptionSpec>& join_options() {
  static const std::vector<OptionSpec> specs = {
      {"input", "FILE",
       "-i: the video the segments were cut from (its audio and subtitles are copied)", ""},
      {"output", "FILE", "-o: the joined video (the container from the extension)", ""},
      {"segment", "FILE", "a segment's video, in order (repeat: one per segment)", ""},
      {"start", "T", "that segment's start on the input's timeline, in seconds (repeat: one each)",
       ""},
      {"no-audio", "", "the video only: no audio or subtitles copied", ""},
      {"y", "", "-y: overwrite the output if it exists", ""},
      {"help", "", "show this help", ""},
  };
  return specs;
}

std::vector<std::string_view> short_names(std::vector<std::string_view> argv) {
  for (std::string_view& arg : argv) {
    if (arg == "-i") {
      arg = "--input";
    } else if (arg == "-o") {
      arg = "--output";
    } else if (arg == "-y") {
      arg = "--y";
    }
  }
  return argv;
}

// Seconds as JSON: every digit, so that -ss given the number back reads the same double.
std::string number(double value) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

int cmd_segments(const std::vector<std::string_view>& argv) {
  const Args args(segments_options(), short_names(argv));
  if (args.flag("help")) {
    std::printf(
        "usage: pynference segments -i IN [--segments N | --every T]\n\nLists the video's key "
        "frames and the segments cut at them, as JSON on stdout: each segment's start_s and "
        "end_s on the input's timeline (the last without an end), as -ss and -to take them. "
        "`pynference join` puts the processed segments together again.\n\n%s",
        describe_options(segments_options()).c_str());
    return 0;
  }
  if (!args.has("input")) {
    throw UsageError("segments needs an input: -i FILE");
  }
  const int count = static_cast<int>(args.integer("segments", 1, 1000000));
  const double every = args.has("every") ? parse_time(args.str("every")) : 0.0;
  if (args.has("every") && !(every > 0)) {
    throw UsageError("--every must be a time above 0, not '" + args.str("every") + "'");
  }
  const Keyframes keys = list_keyframes(args.str("input"));
  const std::vector<Segment> segments = plan_segments(keys, count, every);
  std::string json = "{\"input\": " + quoted(args.str("input")) +
                     ", \"end_s\": " + number(keys.end_s) +
                     ", \"packets\": " + std::to_string(keys.packets) + ",\n \"keyframes\": [";
  for (std::size_t k = 0; k < keys.times_s.size(); ++k) {
    json += (k > 0 ? ", " : "") + number(keys.times_s[k]);
  }
  json += "],\n \"segments\": [";
  for (std::size_t k = 0; k < segments.size(); ++k) {
    json +=
        std::string(k > 0 ? ",\n  " : "\n  ") + "{\"start_s\": " + number(segments[k].start_s) +
        ", \"end_s\": " + (segments[k].end_s ? number(*segments[k].end_s) : std::string("null")) +
        "}";
  }
  json += "]}\n";
  std::fputs(json.c_str(), stdout);
  return 0;
}

int cmd_join(const std::vector<std::string_view>& argv) {
  const Args args(join_options(), short_names(argv));
  if (args.flag("help")) {
    std::printf(
        "usage: pynference join -i IN -o OUT --segment SEG0 --start T0 --segment SEG1 --start T1 "
        "...\n\n"
        "Joins segments' video (each made from IN with -ss Tk -to Tk+1 --no-audio) without "
        "re-encoding, each shifted to its start, and copies IN's audio and subtitle streams "
        "once, as a single run copies them.\n\n%s",
        describe_options(join_options()).c_str());
    return 0;
  }
  if (!args.has("input") || !args.has("output")) {
    throw UsageError("join needs an input and an output: -i IN -o OUT");
  }
  JoinOptions options;
  options.input = args.str("input");
  options.output = args.str("output");
  options.segments = args.all("segment");
  options.copy_streams = !args.flag("no-audio");
  for (const std::string& start : args.all("start")) {
    options.starts_s.push_back(parse_time(start));
  }
  std::error_code ec;
  if (!args.flag("y") && std::filesystem::exists(options.output, ec)) {
    throw UsageError(options.output + " exists: add -y to overwrite it");
  }
  const std::int64_t packets = join_segments(options);
  std::fprintf(stderr, "pynference: joined %zu segments, %lld frames, into %s\n",
               options.segments.size(), static_cast<long long>(packets), options.output.c_str());
  return 0;
}

}  // namespace pyn::cli
