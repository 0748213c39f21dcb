#include "av.hpp"

extern "C" {
#include <libavutil/parseutils.h>
}

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>

#include "pynference/device/error.hpp"

namespace pyn::av {

namespace {

// "frames/%04d.png": a % then digits then d, as av_get_frame_filename takes.
bool is_pattern(const std::string& path) {
  for (std::size_t i = path.find('%'); i != std::string::npos; i = path.find('%', i + 1)) {
    std::size_t j = i + 1;
    while (j < path.size() && path[j] >= '0' && path[j] <= '9') {
      ++j;
    }
    if (j < path.size() && path[j] == 'd') {
      return true;
    }
  }
  return false;
}

// "frames/*.png": a glob (no file of that very name), for image2's pattern_type glob.
bool is_glob(const std::string& path) {
  struct stat st {};
  return path.find_first_of("*?[") != std::string::npos && !is_pattern(path) &&
         ::stat(path.c_str(), &st) != 0;
}

// The lowest number that `pattern` names an existing file with; nullopt where it names none.
std::optional<std::int64_t> first_number(const std::string& pattern) {
  namespace fs = std::filesystem;
  const fs::path path(pattern);
  const std::string name = path.filename().string();
  const std::size_t percent = name.find('%');
  const std::size_t d = percent == std::string::npos ? percent : name.find('d', percent);
  if (d == std::string::npos) {
    return std::nullopt;
  }
  const std::string prefix = name.substr(0, percent);
  const std::string suffix = name.substr(d + 1);
  std::optional<std::int64_t> lowest;
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
    if (digits.size() > 15 || digits.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    const std::int64_t n = std::stoll(digits);
    std::array<char, 4096> named{};
    // The number as the pattern writes it (%04d: at least four digits) must give this very name.
    if (av_get_frame_filename(named.data(), static_cast<int>(named.size()), name.c_str(),
                              static_cast<int>(n)) == 0 &&
        file == named.data() && (!lowest || n < *lowest)) {
      lowest = n;
    }
  }
  return lowest;
}

// The DamageLogs alive, by id, so that the callback follows no stranger's number.
std::mutex registry_mutex;
std::map<std::int64_t, DamageLog*>& registry() {
  static std::map<std::int64_t, DamageLog*> logs;
  return logs;
}
std::int64_t last_id = 0;  // under registry_mutex
// --verbose: FFmpeg's own lines on stderr; otherwise the tool says what failed, in one line.
std::atomic<bool> verbose_log{false};
std::map<const AVFormatContext*, DemuxLog*>& demuxers() {
  static std::map<const AVFormatContext*, DemuxLog*> logs;
  return logs;
}

std::string format_message(const char* format, va_list args) {
  std::array<char, 256> text{};
  va_list copy;
  va_copy(copy, args);
  std::vsnprintf(text.data(), text.size(), format, copy);
  va_end(copy);
  std::string message = text.data();
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  return message;
}

void log_callback(void* object, int level, const char* format, va_list args) {
  if (object != nullptr && level <= AV_LOG_ERROR &&
      *static_cast<const AVClass* const*>(object) == avcodec_get_class()) {
    // Frame threads decode in copies of the reader's context, with the packet's number in
    // reordered_opaque but not the reader's `opaque`: the number says whose packet it is.
    const auto* context = static_cast<const AVCodecContext*>(object);
    const std::int64_t tag = context->reordered_opaque;
    const std::lock_guard lock(registry_mutex);
    const auto found = registry().find(tag >> DamageLog::kIdShift);
    if (found != registry().end() && av_codec_is_decoder(context->codec) != 0) {
      found->second->add(tag, format_message(format, args));
    }
  } else if (object != nullptr && level <= AV_LOG_ERROR &&
             *static_cast<const AVClass* const*>(object) == avformat_get_class()) {
    const std::lock_guard lock(registry_mutex);
    const auto found = demuxers().find(static_cast<const AVFormatContext*>(object));
    if (found != demuxers().end()) {
      found->second->add(format_message(format, args));
    }
  }
  if (verbose_log.load(std::memory_order_relaxed)) {
    av_log_default_callback(object, level, format, args);
  }
}

}  // namespace

namespace {
std::int64_t enroll(DamageLog* log) {
  const std::lock_guard lock(registry_mutex);
  registry()[++last_id] = log;
  return last_id;
}
}  // namespace

DamageLog::DamageLog() : id_(enroll(this)) {}

DamageLog::~DamageLog() {
  const std::lock_guard lock(registry_mutex);
  registry().erase(id_);
}

void DamageLog::add(std::int64_t tag, std::string message) {
  const std::lock_guard lock(mutex_);
  for (const auto& [known, text] : entries_) {
    if (known == tag) {
      return;  // the first message about a packet says the most
    }
  }
  entries_.emplace_back(tag, std::move(message));
}

std::string DamageLog::take(std::int64_t tag) {
  const std::lock_guard lock(mutex_);
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->first == tag) {
      std::string message = std::move(it->second);
      entries_.erase(it);
      return message.empty() ? "damaged data" : message;
    }
  }
  return "";
}

DemuxLog::DemuxLog(const AVFormatContext* context) : context_(context) {
  const std::lock_guard lock(registry_mutex);
  demuxers()[context_] = this;
}

DemuxLog::~DemuxLog() {
  const std::lock_guard lock(registry_mutex);
  demuxers().erase(context_);
}

void DemuxLog::add(std::string message) {
  const std::lock_guard lock(mutex_);
  messages_.push_back(std::move(message));
}

std::string DemuxLog::take() {
  const std::lock_guard lock(mutex_);
  std::string first = messages_.empty() ? "" : std::move(messages_.front());
  messages_.clear();
  return first;
}

bool is_sequence(const std::string& path) {
  struct stat st {};
  return is_pattern(path) && ::stat(path.c_str(), &st) != 0;
}

Frame make_frame() {
  Frame f(av_frame_alloc());
  if (!f) {
    throw std::bad_alloc();
  }
  return f;
}

Packet make_packet() {
  Packet p(av_packet_alloc());
  if (!p) {
    throw std::bad_alloc();
  }
  return p;
}

std::string error_text(int code) {
  std::array<char, AV_ERROR_MAX_STRING_SIZE> text{};
  av_strerror(code, text.data(), text.size());
  return text.data();
}

void quiet_log() {
  static std::once_flag once;
  std::call_once(once, [] {
    av_log_set_level(verbose_log.load() ? AV_LOG_WARNING : AV_LOG_ERROR);
    av_log_set_callback(log_callback);
  });
}

}  // namespace pyn::av

namespace pyn {

void set_ffmpeg_verbose(bool verbose) {
  av::verbose_log.store(verbose);
  av::quiet_log();
  av_log_set_level(verbose ? AV_LOG_WARNING : AV_LOG_ERROR);
}

}  // namespace pyn

namespace pyn::av {

Window window_of(const VideoInputOptions& options) {
  Window w;
  const auto check = [](const char* what, double s) {
    if (!std::isfinite(s) || s < 0) {
      throw UsageError(std::string(what) + " must be a time of 0 s or more, not " +
                       std::to_string(s));
    }
  };
  check("the start time (-ss)", options.start_s);
  w.start = options.start_s;
  if (options.duration_s && options.end_s) {
    throw UsageError("give a duration (-t) or an end time (-to), not both");
  }
  if (options.duration_s) {
    check("the duration (-t)", *options.duration_s);
    w.end = w.start + *options.duration_s;
  }
  if (options.end_s) {
    check("the end time (-to)", *options.end_s);
    if (*options.end_s <= w.start) {
      throw UsageError("the end time (-to " + std::to_string(*options.end_s) +
                       ") must come after the start time (-ss " + std::to_string(w.start) + ")");
    }
    w.end = *options.end_s;
  }
  return w;
}

OpenedInput open_input(const std::string& path) {
  VideoInputOptions options;
  options.path = path;
  return open_input(options);
}

OpenedInput open_input(const VideoInputOptions& options) {
  const std::string& path = options.path;
  quiet_log();
  if (path.empty()) {
    throw UsageError("no input path given");
  }
  OpenedInput in;
  in.name = path == "-" ? "stdin" : path;
  const std::string url = path == "-" ? "pipe:0" : path;
  const AVInputFormat* format = is_sequence(path) ? av_find_input_format("image2") : nullptr;
  if (!options.format.empty()) {
    format = av_find_input_format(options.format.c_str());
    if (format == nullptr) {
      throw UsageError("--input-format " + options.format + ": this FFmpeg has no such demuxer");
    }
  }
  struct stat st {};
  if (path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw UsageError("cannot open " + path + ": " + error_text(AVERROR(EISDIR)));
  }
  AVFormatContext* context = avformat_alloc_context();
  if (context == nullptr) {
    throw std::bad_alloc();
  }
  in.log = std::make_unique<DemuxLog>(context);
  AVDictionary* demuxer = nullptr;
  const bool glob = options.format.empty() && is_glob(path);
  if (is_sequence(path) || glob) {
    format = av_find_input_format("image2");
    if (glob) {
      av_dict_set(&demuxer, "pattern_type", "glob", 0);
    } else if (const std::optional<std::int64_t> first =
                   options.start_number ? options.start_number : first_number(path)) {
      av_dict_set_int(&demuxer, "start_number", *first, 0);
    }
    if (!options.frame_rate.empty()) {
      AVRational rate{};
      if (av_parse_video_rate(&rate, options.frame_rate.c_str()) < 0 || rate.num <= 0) {
        av_dict_free(&demuxer);
        avformat_free_context(context);
        throw UsageError("bad --input-rate '" + options.frame_rate +
                         "': expected frames per second (25, 30000/1001, 29.97)");
      }
      av_dict_set(&demuxer, "framerate", options.frame_rate.c_str(), 0);
    }
  } else if (options.start_number || !options.frame_rate.empty()) {
    avformat_free_context(context);
    throw UsageError(
        "--start-number and --input-rate apply to image sequences (frames/%04d.png, "
        "frames/*.png), not " +
        in.name);
  }
  // Frees the context where it fails.
  const int opened = avformat_open_input(&context, url.c_str(), format, &demuxer);
  av_dict_free(&demuxer);
  if (opened < 0) {
    throw UsageError("cannot open " + in.name + ": " + error_text(opened));
  }
  in.context.reset(context);
  const int found = avformat_find_stream_info(context, nullptr);
  if (found < 0) {
    throw UsageError(in.name + ": cannot read its streams: " + error_text(found));
  }
  in.seekable = context->pb == nullptr || (context->pb->seekable & AVIO_SEEKABLE_NORMAL) != 0;
  return in;
}

double seconds_of(const AVFormatContext& context, std::int64_t ts, AVRational time_base) noexcept {
  const double start = context.start_time == AV_NOPTS_VALUE
                           ? 0.0
                           : static_cast<double>(context.start_time) / AV_TIME_BASE;
  return static_cast<double>(ts) * av_q2d(time_base) - start;
}

bool seek_to(AVFormatContext& context, double start) {
  const double origin = context.start_time == AV_NOPTS_VALUE
                            ? 0.0
                            : static_cast<double>(context.start_time) / AV_TIME_BASE;
  const auto ts = static_cast<std::int64_t>(std::floor((start + origin) * AV_TIME_BASE));
  return avformat_seek_file(&context, -1, std::numeric_limits<std::int64_t>::min(), ts, ts, 0) >= 0;
}

Planes planes_of(const FrameFormat& format, std::byte* base) noexcept {
  Planes p;
  auto* bytes = reinterpret_cast<std::uint8_t*>(base);
  if (const auto* yuv = std::get_if<YuvDesc>(&format)) {
    const auto sample = yuv->sample_bytes();
    p.count = 3;
    p.data = {bytes, bytes + yuv->u_offset(), bytes + yuv->v_offset(), nullptr};
    const auto luma = static_cast<int>(static_cast<std::size_t>(yuv->width) * sample);
    const auto chroma = static_cast<int>(yuv->chroma_width() * sample);
    p.linesize = {luma, chroma, chroma, 0};
    p.rows = {yuv->height, static_cast<int>(yuv->chroma_height()),
              static_cast<int>(yuv->chroma_height())};
  } else {
    const auto& image = *std::get_if<ImageDesc>(&format);
    p.count = 1;
    p.data[0] = bytes;
    p.linesize[0] = static_cast<int>(image.row_bytes());
    p.rows[0] = image.height;
  }
  return p;
}

AVPixelFormat pix_fmt_of(const FrameFormat& format) noexcept {
  if (const auto* yuv = std::get_if<YuvDesc>(&format)) {
    const bool y420 = yuv->chroma == ChromaLayout::yuv420;
    if (yuv->bits > 8) {
      return y420 ? AV_PIX_FMT_YUV420P10LE : AV_PIX_FMT_YUV444P10LE;
    }
    return y420 ? AV_PIX_FMT_YUV420P : AV_PIX_FMT_YUV444P;
  }
  const auto& image = *std::get_if<ImageDesc>(&format);
  const bool rgb = image.order == ChannelOrder::rgb;
  if (image.pixel == PixelType::u16) {
    return rgb ? AV_PIX_FMT_RGB48 : AV_PIX_FMT_BGR48;
  }
  return rgb ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_BGR24;
}

int sws_colorspace_of(ColorMatrix matrix) noexcept {
  switch (matrix) {
    case ColorMatrix::bt709:
      return SWS_CS_ITU709;
    case ColorMatrix::bt2020:
      return SWS_CS_BT2020;
    case ColorMatrix::smpte240m:
      return SWS_CS_SMPTE240M;
    case ColorMatrix::bt601:
      break;
  }
  return SWS_CS_ITU601;
}

ColorMatrix matrix_of(int colorspace, int width, int height, int primaries) noexcept {
  switch (colorspace) {
    case AVCOL_SPC_BT709:
      return ColorMatrix::bt709;
    case AVCOL_SPC_BT470BG:
    case AVCOL_SPC_SMPTE170M:
    case AVCOL_SPC_FCC:
      return ColorMatrix::bt601;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
      return ColorMatrix::bt2020;
    case AVCOL_SPC_SMPTE240M:
      return ColorMatrix::smpte240m;
    default:
      break;
  }
  // An untagged matrix goes with the primaries where they say more than the size does.
  if (primaries == AVCOL_PRI_BT2020) {
    return ColorMatrix::bt2020;
  }
  if (primaries == AVCOL_PRI_SMPTE240M) {
    return ColorMatrix::smpte240m;
  }
  return width >= 1280 || height > 576 ? ColorMatrix::bt709 : ColorMatrix::bt601;
}

int colorspace_tag_of(ColorMatrix matrix) noexcept {
  switch (matrix) {
    case ColorMatrix::bt709:
      return AVCOL_SPC_BT709;
    case ColorMatrix::bt2020:
      return AVCOL_SPC_BT2020_NCL;
    case ColorMatrix::smpte240m:
      return AVCOL_SPC_SMPTE240M;
    case ColorMatrix::bt601:
      break;
  }
  return AVCOL_SPC_SMPTE170M;
}

bool is_rgb(AVPixelFormat format) noexcept {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(format);
  return d != nullptr &&
         (d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BAYER)) != 0;
}

std::string name_of(AVPixelFormat format) {
  const char* name = av_get_pix_fmt_name(format);
  return name != nullptr ? name : "none";
}

Sws make_converter(int width, int height, AVPixelFormat from, AVPixelFormat to, ColorMatrix matrix,
                   bool from_full, bool to_full) {
  Sws sws(sws_getContext(width, height, from, width, height, to,
                         SWS_BICUBIC | SWS_ACCURATE_RND | SWS_BITEXACT | SWS_FULL_CHR_H_INT,
                         nullptr, nullptr, nullptr));
  if (!sws) {
    throw Error("libswscale cannot convert " + name_of(from) + " to " + name_of(to) + " at " +
                std::to_string(width) + "x" + std::to_string(height));
  }
  const int* table = sws_getCoefficients(sws_colorspace_of(matrix));
  // Fails (and changes nothing) for pairs without a YUV side; those need no matrix.
  sws_setColorspaceDetails(sws.get(), table, from_full ? 1 : 0, table, to_full ? 1 : 0, 0, 1 << 16,
                           1 << 16);
  return sws;
}

}  // namespace pyn::av
