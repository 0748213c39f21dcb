#include "run_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "args.hpp"
#include "pynference/device/error.hpp"
#include "pynference/io/sinks.hpp"
#include "pynference/io/synthetic.hpp"
#include "pynference/io/video_stream.hpp"
#include "pynference/io/y4m_stream.hpp"

namespace pyn::cli {

namespace {

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The frames of `window` at `rate` frames per second: first frame and count.
FrameWindow frames_of(const TimeWindow& window, Rational rate, const std::string& name) {
  if (!window.any()) {
    return {};
  }
  if (rate.num <= 0 || rate.den <= 0) {
    throw UsageError(name + " has no frame rate, so -ss/-t/-to cannot be turned into frames");
  }
  const double fps = static_cast<double>(rate.num) / rate.den;
  // A frame is taken when its start time lies in [start, end).
  const auto first = static_cast<std::int64_t>(std::ceil(window.start_s * fps - 1e-9));
  FrameWindow frames{first, -1};
  if (window.duration_s) {
    frames.count = static_cast<std::int64_t>(std::ceil((window.start_s + *window.duration_s) * fps - 1e-9)) - first;
  } else if (window.end_s) {
    frames.count = static_cast<std::int64_t>(std::ceil(*window.end_s * fps - 1e-9)) - first;
  }
  if (frames.count == 0 || frames.count < -1) {
    frames.count = 0;
  }
  return frames;
}

class SyntheticInput final : public Input {
 public:
  explicit SyntheticInput(const std::string& spec) : source_(parse(spec)) {}
  Source& source() override { return source_; }
  [[nodiscard]] std::string description() const override {
    return "synthetic " + to_string(source_.format());
  }
  [[nodiscard]] Rational frame_rate() const override { return {25, 1}; }

 private:
  static SyntheticSource parse(const std::string& spec) {
    // synthetic:WxH:N[:PIXFMT]
    const std::string usage = "expected synthetic:WxH:FRAMES[:PIXFMT], e.g. synthetic:1920x1080:300, got '" + spec + "'";
    const std::string rest = spec.substr(std::string("synthetic:").size());
    const std::size_t colon = rest.find(':');
    if (colon == std::string::npos) {
      throw UsageError(usage);
    }
    const auto [width, height] = parse_size(rest.substr(0, colon));
    std::string count = rest.substr(colon + 1);
    std::string pix_fmt = "yuv420p";
    if (const std::size_t second = count.find(':'); second != std::string::npos) {
      pix_fmt = count.substr(second + 1);
      count = count.substr(0, second);
    }
    char* end = nullptr;
    const long long frames = std::strtoll(count.c_str(), &end, 10);
    if (count.empty() || *end != '\0' || frames < 1) {
      throw UsageError(usage);
    }
    const FrameFormat like = YuvDesc{width, height};
    const std::optional<FrameFormat> format = pixel_format(pix_fmt, like);
    if (!format) {
      throw UsageError("synthetic frames can be yuv420p, yuv444p, yuv420p10le, yuv444p10le, rgb24, bgr24, "
                       "rgb48le or bgr48le, not '" + pix_fmt + "'");
    }
    return SyntheticSource(with_size(*format, width, height), frames);
  }

  SyntheticSource source_;
};

class Y4mInput final : public Input {
 public:
  Y4mInput(const std::string& path, const TimeWindow& window) : source_(path) {
    source_.select(frames_of(window, source_.header().frame_rate, path == "-" ? "stdin" : path));
  }
  // raw:WxH:PIXFMT:PATH, 25 fps.
  Y4mInput(const std::string& spec, const TimeWindow& window, bool /*raw*/) : source_(raw_path(spec), raw_header(spec)) {
    source_.select(frames_of(window, frame_rate(), spec));
  }
  Source& source() override { return source_; }
  [[nodiscard]] std::string description() const override {
    return (source_.header().framing == Framing::raw ? "raw " : "Y4M ") + to_string(source_.format());
  }
  [[nodiscard]] Rational frame_rate() const override {
    return source_.header().framing == Framing::raw ? Rational{25, 1} : source_.header().frame_rate;
  }
  [[nodiscard]] Rational aspect() const override { return source_.header().aspect; }
  [[nodiscard]] const Y4mHeader& header() const { return source_.header(); }

 private:
  static std::vector<std::string> raw_parts(const std::string& spec) {
    // raw:WxH:PIXFMT:PATH (PATH may hold colons)
    std::vector<std::string> parts;
    std::size_t begin = 4;
    for (int i = 0; i < 2; ++i) {
      const std::size_t colon = spec.find(':', begin);
      if (colon == std::string::npos) {
        throw UsageError("expected raw:WxH:PIXFMT:PATH, e.g. raw:1920x1080:yuv420p:in.yuv, got '" + spec + "'");
      }
      parts.push_back(spec.substr(begin, colon - begin));
      begin = colon + 1;
    }
    parts.push_back(spec.substr(begin));
    if (parts[2].empty()) {
      throw UsageError("expected raw:WxH:PIXFMT:PATH, e.g. raw:1920x1080:yuv420p:in.yuv, got '" + spec + "'");
    }
    return parts;
  }
  static std::string raw_path(const std::string& spec) { return raw_parts(spec)[2]; }
  static Y4mHeader raw_header(const std::string& spec) {
    const std::vector<std::string> parts = raw_parts(spec);
    const auto [width, height] = parse_size(parts[0]);
    const std::optional<FrameFormat> format = pixel_format(parts[1], YuvDesc{width, height});
    if (!format || !std::holds_alternative<YuvDesc>(*format)) {
      throw UsageError("raw frames are yuv420p, yuv444p, yuv420p10le or yuv444p10le, not '" + parts[1] + "'");
    }
    Y4mHeader header;
    header.desc = std::get<YuvDesc>(with_size(*format, width, height));
    // Like Y4M, raw frames carry no matrix: BT.709 for HD, BT.601 for SD, limited range.
    header.desc.matrix = width >= 1280 || height > 576 ? ColorMatrix::bt709 : ColorMatrix::bt601;
    header.framing = Framing::raw;
    return header;
  }

  Y4mSource source_;
};

class VideoInput final : public Input {
 public:
  explicit VideoInput(VideoInputOptions options)
      : options_(std::move(options)), source_(options_) {}
  Source& source() override { return source_; }
  // With --hwdec auto or cuda, where it decodes: "..., decode: hevc on nvdec (cuda:0)".
  [[nodiscard]] std::string description() const override {
    if (options_.hwdec == VideoInputOptions::HwDecode::none) {
      return source_.info().description;
    }
    return source_.info().description + ", decode: " + source_.info().decoder;
  }
  [[nodiscard]] Rational frame_rate() const override { return source_.info().frame_rate; }
  [[nodiscard]] Rational aspect() const override { return source_.info().sample_aspect; }
  [[nodiscard]] std::int64_t frames_damaged() const override { return source_.frames_damaged(); }
  [[nodiscard]] std::string error_kept() const override { return source_.error_kept(); }
  [[nodiscard]] const VideoSource& video() const { return source_; }
  [[nodiscard]] const VideoInputOptions& options() const { return options_; }

 private:
  VideoInputOptions options_;
  VideoSource source_;
};

// Where the frame number goes in a file name: the '%' and one past the 'd'.
std::optional<std::pair<std::size_t, std::size_t>> number_in(const std::string& name) {
  for (std::size_t i = name.find('%'); i != std::string::npos; i = name.find('%', i + 1)) {
    std::size_t j = i + 1;
    while (j < name.size() && name[j] >= '0' && name[j] <= '9') {
      ++j;
    }
    if (j < name.size() && name[j] == 'd') {
      return std::pair{i, j + 1};
    }
  }
  return std::nullopt;
}

// A file that a sequence pattern names (its number in place of %d), where one exists.
std::optional<std::string> existing_frame(const std::string& pattern) {
  namespace fs = std::filesystem;
  const fs::path path(pattern);
  const std::string name = path.filename().string();
  const auto number = number_in(name);
  if (!number) {
    return std::nullopt;
  }
  const std::string prefix = name.substr(0, number->first);
  const std::string suffix = name.substr(number->second);
  std::error_code ec;
  for (const fs::directory_entry& entry :
       fs::directory_iterator(path.has_parent_path() ? path.parent_path() : fs::path("."), ec)) {
    const std::string file = entry.path().filename().string();
    if (file.size() <= prefix.size() + suffix.size() || !file.starts_with(prefix) ||
        !file.ends_with(suffix)) {
      continue;
    }
    const std::string digits =
        file.substr(prefix.size(), file.size() - prefix.size() - suffix.size());
    if (digits.find_first_not_of("0123456789") == std::string::npos) {
      return entry.path().string();
    }
  }
  return std::nullopt;
}

// The first `n` bytes of standard input (fewer at its end), left unread for whoever reads it next:
// pread(2) where it is a file, tee(2) into a pipe of our own where it is a pipe. Empty where it is
// neither (a terminal) or is empty.
std::string peek_stdin(std::size_t n) {
  struct stat st {};
  if (::fstat(STDIN_FILENO, &st) != 0) {
    return {};
  }
  std::string out(n, '\0');
  if (S_ISREG(st.st_mode)) {
    const off_t at = ::lseek(STDIN_FILENO, 0, SEEK_CUR);
    const ssize_t got = at < 0 ? -1 : ::pread(STDIN_FILENO, out.data(), n, at);
    out.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
    return out;
  }
  if (!S_ISFIFO(st.st_mode)) {
    return {};
  }
  int copy[2];
  if (::pipe(copy) != 0) {
    return {};
  }
  ssize_t got = 0;
  // tee waits for the first bytes; a writer may give fewer than n at first: look again a while.
  for (int tries = 0; tries < 200; ++tries) {
    got = ::tee(STDIN_FILENO, copy[1], n, 0);
    if (got > 0) {
      got = ::read(copy[0], out.data(), static_cast<std::size_t>(got));
    }
    if (got <= 0 || static_cast<std::size_t>(got) >= n) {
      break;
    }
    ::usleep(10000);
  }
  ::close(copy[0]);
  ::close(copy[1]);
  out.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  return out;
}

}  // namespace

bool input_may_stall(const std::string& spec) {
  if (spec == "-" || (spec.starts_with("raw:") && spec.ends_with(":-"))) {
    return true;
  }
  struct stat st {};
  const std::string path = spec.starts_with("raw:") ? spec.substr(spec.rfind(':') + 1) : spec;
  return ::stat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
}

// What the caller and the reading thread share; the thread keeps it alive where it is abandoned.
struct StoppableSource::Shared {
  std::mutex mutex;
  std::condition_variable wake;
  std::vector<std::byte> buffer;
  std::int64_t index = -1;  // the frame asked for; -1: none
  FrameInfo info;           // what the source said of it
  bool done = false;        // the read of `index` returned
  bool got = false;
  std::exception_ptr error;
  bool quit = false;
  bool abandoned = false;
};

StoppableSource::StoppableSource(Source& inner, const std::atomic<bool>& stop)
    : inner_(inner), stop_(stop), shared_(std::make_shared<Shared>()) {
  shared_->buffer.resize(bytes_of(inner_.format()));
  thread_ = std::thread([shared = shared_, &inner] {
    std::unique_lock lock(shared->mutex);
    for (;;) {
      shared->wake.wait(lock,
                        [&] { return shared->quit || (shared->index >= 0 && !shared->done); });
      if (shared->quit) {
        return;
      }
      FrameInfo info{shared->index, std::nullopt};
      lock.unlock();
      bool got = false;
      std::exception_ptr error;
      try {
        got = inner.read(shared->buffer, info);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      if (shared->abandoned) {
        return;
      }
      shared->info = info;
      shared->got = got;
      shared->error = error;
      shared->done = true;
      shared->wake.notify_all();
    }
  });
}

StoppableSource::~StoppableSource() {
  {
    const std::lock_guard lock(shared_->mutex);
    shared_->quit = true;
  }
  shared_->wake.notify_all();
  if (abandoned()) {
    thread_.detach();  // blocked in a read that may never return
  } else {
    thread_.join();
  }
}

bool StoppableSource::read(std::span<std::byte> slot, FrameInfo& info) {
  const std::int64_t index = info.index;
  std::unique_lock lock(shared_->mutex);
  shared_->index = index;
  shared_->done = false;
  shared_->wake.notify_all();
  // The stop flag is set from a signal handler, which cannot notify: look at it a few times a
  // second.
  while (!shared_->wake.wait_for(lock, std::chrono::milliseconds(100),
                                 [&] { return shared_->done; })) {
    if (stop_.load()) {
      shared_->abandoned = true;
      return false;
    }
  }
  if (shared_->error) {
    std::rethrow_exception(shared_->error);
  }
  if (shared_->got) {
    std::memcpy(slot.data(), shared_->buffer.data(), std::min(slot.size(), shared_->buffer.size()));
    info.time = shared_->info.time;
  }
  return shared_->got;
}

bool StoppableSource::abandoned() const {
  const std::lock_guard lock(shared_->mutex);
  return shared_->abandoned;
}

bool is_pattern(const std::string& path) { return number_in(path).has_value(); }

void check_output_name(const std::string& in_file, const std::string& out_file, bool overwrite) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!in_file.empty()) {
    const bool same = is_pattern(out_file)
                          ? fs::weakly_canonical(in_file, ec) == fs::weakly_canonical(out_file, ec)
                          : fs::equivalent(in_file, out_file, ec);
    if (same) {
      throw UsageError("the output is the input " +
                       std::string(is_pattern(out_file) ? "sequence" : "file") +
                       ": choose another name for -o");
    }
  }
  if (overwrite) {
    return;
  }
  if (is_pattern(out_file) && !fs::exists(out_file, ec)) {
    if (const std::optional<std::string> frame = existing_frame(out_file)) {
      throw UsageError(out_file + ": frame " + *frame +
                       " exists: add -y to overwrite the sequence");
    }
  } else if (fs::exists(out_file, ec)) {
    throw UsageError(out_file + " exists: add -y to overwrite it");
  }
}

double parse_time(const std::string& text) {
  // [[HH:]MM:]SS[.frac]
  double seconds = 0;
  std::size_t begin = 0;
  int parts = 0;
  for (;;) {
    const std::size_t colon = text.find(':', begin);
    const std::string part = text.substr(begin, colon == std::string::npos ? std::string::npos : colon - begin);
    char* end = nullptr;
    const double value = std::strtod(part.c_str(), &end);
    if (part.empty() || *end != '\0' || !(value >= 0) || std::isinf(value) || ++parts > 3 ||
        (colon != std::string::npos && part.find('.') != std::string::npos)) {
      throw UsageError("bad time '" + text + "': expected seconds (12.5) or [HH:]MM:SS[.frac]");
    }
    seconds = seconds * 60 + value;
    if (colon == std::string::npos) {
      return seconds;
    }
    begin = colon + 1;
  }
}

std::optional<FrameFormat> pixel_format(const std::string& name, const FrameFormat& like) {
  const int width = width_of(like);
  const int height = height_of(like);
  YuvDesc yuv{width, height};
  if (const auto* source = std::get_if<YuvDesc>(&like)) {
    yuv.matrix = source->matrix;
    yuv.range = source->range;
  }
  if (name == "yuv420p" || name == "yuv444p" || name == "yuv420p10le" || name == "yuv444p10le") {
    yuv.chroma = name.starts_with("yuv420") ? ChromaLayout::yuv420 : ChromaLayout::yuv444;
    yuv.bits = name.ends_with("10le") ? 10 : 8;
    return yuv;
  }
  if (name == "rgb24" || name == "bgr24" || name == "rgb48le" || name == "bgr48le") {
    return ImageDesc{width, height, name.ends_with("48le") ? PixelType::u16 : PixelType::u8,
                     name.starts_with("rgb") ? ChannelOrder::rgb : ChannelOrder::bgr};
  }
  return std::nullopt;
}

VideoInputOptions::OnError parse_on_error(const std::string& name) {
  if (name == "stop") {
    return VideoInputOptions::OnError::stop;
  }
  if (name == "skip") {
    return VideoInputOptions::OnError::skip;
  }
  if (name == "keep") {
    return VideoInputOptions::OnError::keep;
  }
  throw UsageError("--on-error takes stop, skip or keep, not '" + name + "'");
}

std::unique_ptr<Input> open_input(const std::string& spec, const TimeWindow& window,
                                  VideoInputOptions::OnError on_error,
                                  const std::string& input_format,
                                  std::optional<std::int64_t> start_number,
                                  const std::string& input_rate, const HwDecodeFlags& hwdec) {
  const bool y4m_format = input_format == "yuv4mpegpipe" || input_format == "y4m";
  if (!input_format.empty() && (spec.starts_with("synthetic:") || spec.starts_with("raw:"))) {
    throw UsageError("--input-format names FFmpeg's demuxer: it does not apply to " + spec);
  }
  // Standard input: Y4M where it says so (or cannot be looked at), else FFmpeg probes it.
  const bool y4m =
      y4m_format || ends_with(spec, ".y4m") || (spec == "-" && input_format.empty() && [] {
        const std::string head = peek_stdin(9);
        return head.empty() || head == "YUV4MPEG2";
      }());
  const bool ffmpeg = !spec.starts_with("synthetic:") && !spec.starts_with("raw:") && !y4m;
  if (!ffmpeg && (start_number || !input_rate.empty())) {
    throw UsageError(
        "--start-number and --input-rate apply to image sequences (frames/%04d.png, "
        "frames/*.png), not " +
        spec);
  }
  if (!ffmpeg && on_error != VideoInputOptions::OnError::stop) {
    throw UsageError("--on-error skip and keep apply to inputs read through FFmpeg, not " + spec);
  }
  if (spec.starts_with("synthetic:")) {
    if (window.any()) {
      throw UsageError("a synthetic input has no timeline: give its frame count instead of -ss/-t/-to");
    }
    return std::make_unique<SyntheticInput>(spec);
  }
  if (spec.starts_with("raw:")) {
    return std::make_unique<Y4mInput>(spec, window, true);
  }
  if (y4m) {
    return std::make_unique<Y4mInput>(spec, window);
  }
  VideoInputOptions options;
  options.path = spec;
  options.start_s = window.start_s;
  options.duration_s = window.duration_s;
  options.end_s = window.end_s;
  options.on_error = on_error;
  options.format = input_format;
  options.start_number = start_number;
  options.frame_rate = input_rate;
  options.hwdec = hwdec.mode;
  options.cuda_device = hwdec.cuda_device;
  options.device_frames = hwdec.device_frames;
  return std::make_unique<VideoInput>(std::move(options));
}

std::unique_ptr<Sink> open_output(const OutputOptions& options, Input& input) {
  if (options.path == "null") {
    return std::make_unique<NullSink>();
  }
  const bool y4m_out =
      options.format.empty() && (options.path == "-" || ends_with(options.path, ".y4m"));
  if (!options.format.empty() && options.path.starts_with("raw:")) {
    throw UsageError("raw output is frames as they are: --format does not apply");
  }
  const bool planes = y4m_out || options.path.starts_with("raw:");
  if (planes && !options.pix_fmt.empty()) {
    const std::optional<FrameFormat> format = pixel_format(options.pix_fmt, input.source().format());
    if (!format || !std::holds_alternative<YuvDesc>(*format)) {
      throw UsageError("Y4M and raw output take --pix-fmt yuv420p, yuv444p, yuv420p10le or yuv444p10le, not '" +
                       options.pix_fmt + "'");
    }
  }
  if (options.path.starts_with("raw:")) {
    if (!options.encoder.empty() || options.crf || !options.preset.empty()) {
      throw UsageError("raw output is frames as they are: --encoder, --crf and --preset do not apply");
    }
    Y4mHeader header;
    header.framing = Framing::raw;
    return std::make_unique<Y4mSink>(options.path.substr(4), header);
  }
  if (y4m_out) {
    if (!options.encoder.empty() || options.crf || !options.preset.empty()) {
      throw UsageError("Y4M output is raw frames: --encoder, --crf and --preset do not apply");
    }
    Y4mHeader header;
    if (const auto* y4m = dynamic_cast<Y4mInput*>(&input)) {
      header = y4m->header();
    } else if (const auto* container = dynamic_cast<VideoInput*>(&input)) {
      header.colorspace = y4m_420_colorspace(container->video().info().color.chroma_location);
    }
    header.framing = Framing::y4m;  // whatever the input was (raw, say)
    header.frame_rate = input.frame_rate();
    header.aspect = input.aspect();
    return std::make_unique<Y4mSink>(options.path, header);
  }
  VideoOutputOptions video;
  video.path = options.path;
  video.encoder = options.encoder;
  video.crf = options.crf;
  video.preset = options.preset;
  video.pix_fmt = options.pix_fmt;
  video.format = options.format;
  if (const auto* container = dynamic_cast<VideoInput*>(&input)) {
    video.copy_streams = options.copy_audio;
    video.copy_from = container->options();
    video.audio_codec = options.audio_codec;
    video.audio_bitrate = options.audio_bitrate;
    video.maps = options.maps;
    return std::make_unique<VideoSink>(video, container->video().info());
  }
  video.copy_streams = false;  // Y4M and synthetic inputs have no other streams
  for (const std::string& map : options.maps) {
    if (map != "none" && !map.starts_with('-')) {
      throw UsageError("--map " + map + ": " + input.description() +
                       " has no audio or subtitle streams");
    }
  }
  const auto* y4m = dynamic_cast<Y4mInput*>(&input);
  return std::make_unique<VideoSink>(
      video,
      video_info_for(input.source().format(), input.frame_rate(), input.aspect(),
                     y4m != nullptr ? y4m_chroma_location(y4m->header().colorspace) : 0));
}

}  // namespace pyn::cli
