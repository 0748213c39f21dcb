#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "av.hpp"
#include "av_cuda.hpp"
#include "pynference/device/error.hpp"

namespace pyn {

struct VideoReader::State {
  av::OpenedInput input;
  AVStream* stream = nullptr;
  av::Codec decoder;
  av::Packet packet = av::make_packet();
  av::Frame frame = av::make_frame();
  av::Window window;
  // The frame in `frame` is the next of the window, decoded by the constructor.
  bool pending = false;
  bool ended = false;
  bool draining = false;
  // What read_frame() makes of each decoded frame.
  AVPixelFormat decoded = AV_PIX_FMT_NONE;
  AVPixelFormat target = AV_PIX_FMT_NONE;
  bool direct = false;  // decoded has target's layout: copy the planes
  av::Sws converter;
  // Timestamps for frames that come without.
  std::int64_t next_pts = 0;
  std::int64_t frame_duration = 1;
  FrameTime time;  // of `frame`
  // Frames whose time is not after the one before (Matroska may give two frames the same
  // millisecond): dropped as ffmpeg drops them for variable-rate outputs, and counted.
  std::optional<std::int64_t> last_pts;
  std::int64_t dropped = 0;
  bool dropped_told = false;
  // Packets sent, numbered for the damage log; it is set where the codec conceals damage.
  std::int64_t packets_sent = 0;
  std::unique_ptr<av::DamageLog> damage;
  // What the demuxer logged while opening (it may read the whole of a short file ahead):
  // reported at the end of the stream, unless something more specific comes first.
  std::string open_message;
  // --on-error: what damage does; the frames it cost (skip); the error that ended the stream
  // (keep).
  VideoInputOptions::OnError on_error = VideoInputOptions::OnError::stop;
  std::int64_t damaged = 0;
  std::string error_kept;
  // NVDEC: the CUDA device context, the frames' layout in its pool, the frames lent (by index).
  av::Buffer hw_device;
  AVPixelFormat hw_sw_format = AV_PIX_FMT_NONE;
  std::mutex lent_mutex;
  std::map<std::int64_t, av::Frame> lent;
};

namespace {

using State = VideoReader::State;

[[noreturn]] void fail(const State& s, std::int64_t index, int code) {
  throw Error(s.input.name + ": frame " + std::to_string(index) + ": " + av::error_text(code));
}

bool skipping(const State& s) { return s.on_error == VideoInputOptions::OnError::skip; }

// Errors in a row that skip goes past before it gives up (a decoder that fails every packet).
constexpr int max_errors_in_a_row = 1000;

// The next decoded frame into s.frame; false at the end of the stream.
bool decode_next(State& s, std::int64_t index) {
  int errors = 0;
  const auto skip_error = [&](int code) {
    if (!skipping(s) || ++errors > max_errors_in_a_row) {
      fail(s, index, code);
    }
    ++s.damaged;
  };
  for (;;) {
    const int received = avcodec_receive_frame(s.decoder.get(), s.frame.get());
    if (received == 0 && skipping(s)) {
      // Concealed: kept as ffmpeg keeps it, and counted.
      const bool flagged =
          s.frame->decode_error_flags != 0 || (s.frame->flags & AV_FRAME_FLAG_CORRUPT) != 0;
      const bool logged = s.damage && !s.damage->take(s.frame->reordered_opaque).empty();
      s.damaged += flagged || logged ? 1 : 0;
      return true;
    }
    if (received == 0) {
      if (s.frame->decode_error_flags != 0 || (s.frame->flags & AV_FRAME_FLAG_CORRUPT) != 0) {
        throw Error(s.input.name + ": frame " + std::to_string(index) +
                    ": the decoder found damaged data");
      }
      if (s.damage) {
        if (const std::string m = s.damage->take(s.frame->reordered_opaque); !m.empty()) {
          throw Error(s.input.name + ": frame " + std::to_string(index) + ": " + m);
        }
      }
      return true;
    }
    if (received == AVERROR_EOF) {
      return false;
    }
    if (received != AVERROR(EAGAIN)) {
      skip_error(received);
      continue;
    }
    if (s.draining) {
      return false;
    }
    const int read = av_read_frame(s.input.context.get(), s.packet.get());
    const std::string logged = s.input.log->take();
    if (skipping(s)) {
      // The demuxer read past damage (or gave up): on with what it gives, as ffmpeg goes on.
      if (!logged.empty()) {
        ++s.damaged;
      }
      if (read < 0 && read != AVERROR(EAGAIN)) {
        s.draining = true;
        avcodec_send_packet(s.decoder.get(), nullptr);
        continue;
      }
    } else if (!logged.empty() || (read < 0 && !s.open_message.empty())) {
      av_packet_unref(s.packet.get());
      throw Error(s.input.name + ": frame " + std::to_string(index) + ": " +
                  (logged.empty() ? s.open_message : logged));
    }
    if (read == AVERROR_EOF ||
        (read < 0 && avio_feof(s.input.context->pb) != 0 && s.input.context->pb->error == 0)) {
      s.draining = true;
      avcodec_send_packet(s.decoder.get(), nullptr);
      continue;
    }
    if (read < 0) {
      fail(s, index, read);
    }
    if (s.packet->stream_index != s.stream->index) {
      av_packet_unref(s.packet.get());
      continue;
    }
    s.decoder->reordered_opaque = s.damage ? s.damage->tag(s.packets_sent++) : 0;
    const int sent = avcodec_send_packet(s.decoder.get(), s.packet.get());
    av_packet_unref(s.packet.get());
    if (sent < 0 && sent != AVERROR(EAGAIN)) {
      skip_error(sent);
    }
  }
}

FrameTime time_of(State& s) {
  const AVFrame& f = *s.frame;
  FrameTime t;
  t.pts = f.best_effort_timestamp != AV_NOPTS_VALUE ? f.best_effort_timestamp : s.next_pts;
  t.duration = f.pkt_duration > 0 ? f.pkt_duration : s.frame_duration;
  s.next_pts = t.pts + t.duration;
  return t;
}

double seconds_of(const State& s, const FrameTime& t) {
  return av::seconds_of(*s.input.context, t.pts, s.stream->time_base);
}

// The next frame inside the window into s.frame; false past its end.
bool next_in_window(State& s, std::int64_t index) {
  for (;;) {
    if (s.ended || !decode_next(s, index)) {
      s.ended = true;
      return false;
    }
    s.time = time_of(s);
    if (s.last_pts && s.time.pts <= *s.last_pts) {
      ++s.dropped;
      av_frame_unref(s.frame.get());
      continue;
    }
    const double t = seconds_of(s, s.time);
    if (t >= s.window.end - 1e-9) {
      s.ended = true;
      return false;
    }
    if (t >= s.window.start - 1e-9) {
      s.last_pts = s.time.pts;
      return true;
    }
    av_frame_unref(s.frame.get());
  }
}

// next_in_window, where keep turns the first error into the end of the stream.
bool next_or_keep(State& s, std::int64_t index) {
  if (s.on_error != VideoInputOptions::OnError::keep) {
    return next_in_window(s, index);
  }
  try {
    return next_in_window(s, index);
  } catch (const Error& e) {
    s.error_kept = e.what();
    s.ended = true;
    av_frame_unref(s.frame.get());
    return false;
  }
}

// The next frame of the stream into s.frame (the one read ahead at open first), checked to be of
// the stream's size; false at the end, with the warning of dropped frames once. Both faces, read
// and lend, take their frames from here.
bool next_frame(State& s, std::int64_t index, const FrameFormat& format) {
  if (!std::exchange(s.pending, false) && !next_or_keep(s, index)) {
    if (s.dropped > 0 && !std::exchange(s.dropped_told, true)) {
      std::cerr << "warning: " << s.input.name << ": dropped " << s.dropped << " frame"
                << (s.dropped == 1 ? "" : "s")
                << " whose time was not after the frame before it, as ffmpeg drops them\n";
    }
    return false;
  }
  const AVFrame& f = *s.frame;
  const int width = width_of(format);
  const int height = height_of(format);
  if (f.width != width || f.height != height) {
    throw Error(s.input.name + ": frame " + std::to_string(index) + " is " +
                std::to_string(f.width) + "x" + std::to_string(f.height) + ", not " +
                std::to_string(width) + "x" + std::to_string(height) +
                " as the frames before it (size changes are not supported)");
  }
  return true;
}

// The pipeline's layout nearest to a decoded format.
AVPixelFormat target_of(AVPixelFormat decoded) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(decoded);
  if (d == nullptr) {
    return AV_PIX_FMT_YUV420P;
  }
  const bool deep = d->comp[0].depth > 8;
  if (av::is_rgb(decoded) || d->nb_components <= 2) {
    return deep ? AV_PIX_FMT_RGB48 : AV_PIX_FMT_RGB24;
  }
  const bool y420 = d->log2_chroma_w >= 1 && d->log2_chroma_h >= 1;
  if (deep) {
    return y420 ? AV_PIX_FMT_YUV420P10LE : AV_PIX_FMT_YUV444P10LE;
  }
  return y420 ? AV_PIX_FMT_YUV420P : AV_PIX_FMT_YUV444P;
}

// What turning `decoded` into `target` changes in the pictures, one phrase each.
std::vector<std::string> conversions_of(AVPixelFormat decoded, AVPixelFormat target) {
  std::vector<std::string> out;
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(decoded);
  const AVPixFmtDescriptor* t = av_pix_fmt_desc_get(target);
  if (d == nullptr || t == nullptr) {
    return out;
  }
  const std::string name = av::name_of(decoded);
  if ((d->flags & AV_PIX_FMT_FLAG_ALPHA) != 0) {
    out.push_back("the alpha channel of " + name + " is dropped");
  }
  const bool rgb = av::is_rgb(decoded);
  if (!rgb && d->nb_components <= 2) {
    out.push_back("grey (" + name + ") becomes " + av::name_of(target));
  } else if (!rgb &&
             (d->log2_chroma_w != t->log2_chroma_w || d->log2_chroma_h != t->log2_chroma_h)) {
    const auto layout = [](const AVPixFmtDescriptor* p) {
      if (p->log2_chroma_w == 0 && p->log2_chroma_h == 0) {
        return std::string("4:4:4");
      }
      if (p->log2_chroma_w == 1 && p->log2_chroma_h == 1) {
        return std::string("4:2:0");
      }
      if (p->log2_chroma_w == 1 && p->log2_chroma_h == 0) {
        return std::string("4:2:2");
      }
      return "1/" + std::to_string(1 << p->log2_chroma_w) + " x 1/" +
             std::to_string(1 << p->log2_chroma_h) + " chroma";
    };
    out.push_back(layout(d) + " (" + name + ") becomes " + layout(t) + " (" + av::name_of(target) +
                  ")");
  }
  if (d->comp[0].depth > t->comp[0].depth) {
    out.push_back(std::to_string(d->comp[0].depth) + "-bit samples (" + name + ") become " +
                  std::to_string(t->comp[0].depth) + "-bit");
  }
  return out;
}

bool same_layout(AVPixelFormat decoded, AVPixelFormat target) {
  return decoded == target || (decoded == AV_PIX_FMT_YUVJ420P && target == AV_PIX_FMT_YUV420P) ||
         (decoded == AV_PIX_FMT_YUVJ444P && target == AV_PIX_FMT_YUV444P);
}

bool is_full_range(AVPixelFormat format, AVColorRange range) {
  return range == AVCOL_RANGE_JPEG || format == AV_PIX_FMT_YUVJ420P ||
         format == AV_PIX_FMT_YUVJ422P || format == AV_PIX_FMT_YUVJ444P ||
         format == AV_PIX_FMT_YUVJ440P || format == AV_PIX_FMT_YUVJ411P;
}

FrameFormat format_of(AVPixelFormat target, int width, int height, ColorMatrix matrix, bool full) {
  switch (target) {
    case AV_PIX_FMT_RGB24:
      return ImageDesc{width, height, PixelType::u8, ChannelOrder::rgb};
    case AV_PIX_FMT_RGB48:
      return ImageDesc{width, height, PixelType::u16, ChannelOrder::rgb};
    default:
      break;
  }
  YuvDesc d;
  d.width = width;
  d.height = height;
  d.chroma = target == AV_PIX_FMT_YUV420P || target == AV_PIX_FMT_YUV420P10LE
                 ? ChromaLayout::yuv420
                 : ChromaLayout::yuv444;
  d.bits = target == AV_PIX_FMT_YUV420P10LE || target == AV_PIX_FMT_YUV444P10LE ? 10 : 8;
  d.matrix = matrix;
  d.range = full ? ColorRange::full : ColorRange::limited;
  return d;
}

std::string fps_text(Rational r) {
  if (r.den == 0) {
    return "unknown fps";
  }
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%.3f", static_cast<double>(r.num) / r.den);
  std::string s = text.data();
  while (s.back() == '0') {
    s.pop_back();
  }
  if (s.back() == '.') {
    s.pop_back();
  }
  return s + " fps";
}

// Frames whose start lies in [start, end) at `rate`, for a stream of `total` seconds.
std::optional<std::int64_t> estimate_count(const av::OpenedInput& in, const AVStream& st,
                                           const av::Window& w, Rational rate) {
  if (rate.num <= 0 || rate.den <= 0) {
    return std::nullopt;
  }
  double total = -1;
  if (st.duration != AV_NOPTS_VALUE && st.duration > 0) {
    total = static_cast<double>(st.duration) * av_q2d(st.time_base);
  } else if (in.context->duration != AV_NOPTS_VALUE && in.context->duration > 0) {
    total = static_cast<double>(in.context->duration) / AV_TIME_BASE;
  }
  const double fps = static_cast<double>(rate.num) / rate.den;
  if (w.start == 0 && std::isinf(w.end) && st.nb_frames > 0) {
    return st.nb_frames;
  }
  const double end = total < 0 ? w.end : std::min(total, w.end);
  if (std::isinf(end)) {
    return std::nullopt;
  }
  const auto first = std::ceil(w.start * fps - 1e-6);
  const auto last = std::ceil(end * fps - 1e-6);
  return std::max<std::int64_t>(0, static_cast<std::int64_t>(last - first));
}

// The display matrix of the stream, else of its first frame (H.264's display orientation SEI);
// null where neither has one or it is the identity.
const std::int32_t* display_matrix_of(const AVStream& stream, const AVFrame* first) {
  const std::int32_t* m = nullptr;
  std::size_t size = 0;
  if (const std::uint8_t* side = av_stream_get_side_data(&stream, AV_PKT_DATA_DISPLAYMATRIX, &size);
      side != nullptr && size >= 9 * sizeof(std::int32_t)) {
    m = reinterpret_cast<const std::int32_t*>(side);
  } else if (first != nullptr) {
    if (const AVFrameSideData* fs = av_frame_get_side_data(first, AV_FRAME_DATA_DISPLAYMATRIX);
        fs != nullptr && fs->size >= 9 * sizeof(std::int32_t)) {
      m = reinterpret_cast<const std::int32_t*>(fs->data);
    }
  }
  if (m == nullptr) {
    return nullptr;
  }
  std::array<std::int32_t, 9> identity{};
  av_display_rotation_set(identity.data(), 0);
  return std::equal(identity.begin(), identity.end(), m) ? nullptr : m;
}

// What stops NVDEC for this stream: under automatic, a reason to decode on the CPU.
struct HwRefused {
  std::string why;
};

AVPixelFormat pick_cuda(AVCodecContext* context, const AVPixelFormat* formats) {
  for (const AVPixelFormat* f = formats; *f != AV_PIX_FMT_NONE; ++f) {
    if (*f == AV_PIX_FMT_CUDA) {
      return *f;
    }
  }
  return avcodec_default_get_format(context, formats);
}

AVPixelFormat sw_format_of(const AVFrame& f) {
  if (f.format != AV_PIX_FMT_CUDA || f.hw_frames_ctx == nullptr) {
    return AV_PIX_FMT_NONE;
  }
  return reinterpret_cast<const AVHWFramesContext*>(f.hw_frames_ctx->data)->sw_format;
}

}  // namespace

bool ffmpeg_available() noexcept { return true; }

VideoReader::VideoReader(const VideoInputOptions& options) : state_(std::make_unique<State>()) {
  using HwDecode = VideoInputOptions::HwDecode;
  if (options.hwdec == HwDecode::none) {
    open(options, false);
    return;
  }
  try {
    open(options, true);
  } catch (const HwRefused& refused) {
    // NVDEC failed after the input was read from (opening the decoder, or its first frame).
    const std::string name = state_->input.name;
    if (options.hwdec == HwDecode::cuda) {
      throw UsageError(name + ": cannot decode on NVDEC: " + refused.why);
    }
    if (options.path == "-") {
      throw UsageError(name + ": cannot decode on NVDEC (" + refused.why +
                       "), and standard input cannot be read again for the CPU decoder");
    }
    state_ = std::make_unique<State>();
    info_ = VideoInfo{};
    open(options, false);
    info_.hwdec_fallback = refused.why;
    std::cerr << "note: " << name << ": decoding on the CPU: " << refused.why << "\n";
  }
}

void VideoReader::open(const VideoInputOptions& options, bool hardware) {
  State& s = *state_;
  s.window = av::window_of(options);
  s.on_error = options.on_error;
  s.input = av::open_input(options);
  AVFormatContext& context = *s.input.context;
  const AVCodec* codec = nullptr;
  const int best = av_find_best_stream(&context, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (best == AVERROR_STREAM_NOT_FOUND) {
    throw UsageError(s.input.name + " has no video stream");
  }
  if (best < 0 || codec == nullptr) {
    int index = -1;
    for (unsigned i = 0; i < context.nb_streams; ++i) {
      if (context.streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
        index = static_cast<int>(i);
        break;
      }
    }
    const char* name =
        index < 0 ? "?" : avcodec_get_name(context.streams[index]->codecpar->codec_id);
    throw UsageError(s.input.name + ": this FFmpeg has no decoder for its " + name + " video");
  }
  s.stream = context.streams[best];
  // What stops NVDEC before the decoder opens: cuda refuses, automatic goes on on the CPU.
  std::string fallback;
  if (hardware) {
    const AVCodec* nvdec = av::nvdec_decoder(codec);
    std::string why = av::nvdec_refusal(*nvdec, *s.stream->codecpar);
    if (why.empty()) {
      try {
        s.hw_device = av::make_cuda_device(options.cuda_device);
      } catch (const Error& e) {
        why = e.what();
      }
    }
    if (!why.empty() && options.hwdec == VideoInputOptions::HwDecode::cuda) {
      throw HwRefused{why};
    }
    if (why.empty()) {
      codec = nvdec;
    } else {
      fallback = why;
      hardware = false;
    }
  }
  for (unsigned i = 0; i < context.nb_streams; ++i) {
    if (static_cast<int>(i) != best) {
      context.streams[i]->discard = AVDISCARD_ALL;
    }
  }

  s.decoder.reset(avcodec_alloc_context3(codec));
  if (!s.decoder) {
    throw std::bad_alloc();
  }
  AVCodecContext& dec = *s.decoder;
  avcodec_parameters_to_context(&dec, s.stream->codecpar);
  dec.pkt_timebase = s.stream->time_base;
  dec.thread_count = 0;
  // Frame threads decode a frame that predicts from a damaged one before or after that damage is
  // found, as their timing falls: a damaged H.264 file then gave a different count of frames, and
  // an error or none, from run to run. Codecs with prediction between frames get slice threads
  // only, so damage is found and reported the same way every time; intra-only codecs keep both.
  const AVCodecDescriptor* described = avcodec_descriptor_get(codec->id);
  const bool intra_only =
      described != nullptr && (described->props & AV_CODEC_PROP_INTRA_ONLY) != 0;
  dec.thread_type = intra_only ? FF_THREAD_FRAME | FF_THREAD_SLICE : FF_THREAD_SLICE;
  // Report damage (slice CRCs, bitstream errors) as errors instead of concealing it; skip lets
  // the decoder conceal as ffmpeg's does, and counts what it concealed.
  dec.err_recognition |= skipping(s) ? AV_EF_CRCCHECK : AV_EF_EXPLODE | AV_EF_CRCCHECK;
  // Lossless and intra-only codecs (ffv1) may log damage and conceal it. Lossy codecs with
  // prediction log benign errors too (h264 after a seek); EXPLODE makes them return real damage.
  if (described != nullptr && (described->props & AV_CODEC_PROP_LOSSY) == 0 &&
      (described->props & (AV_CODEC_PROP_INTRA_ONLY | AV_CODEC_PROP_LOSSLESS)) != 0) {
    s.damage = std::make_unique<av::DamageLog>();
  }
  if (hardware) {
    dec.hw_device_ctx = av_buffer_ref(s.hw_device.get());
    if (dec.hw_device_ctx == nullptr) {
      throw std::bad_alloc();
    }
    dec.get_format = pick_cuda;
    // nvdec adds these to its decode surfaces (32 at most, the stream's references among them);
    // the frames lent come from the CUDA frame pool, which grows as needed.
    dec.extra_hw_frames = std::clamp(options.device_frames, 1, 8);
  }
  const int opened = avcodec_open2(&dec, codec, nullptr);
  if (opened < 0 && hardware) {
    throw HwRefused{std::string("cannot open the ") + codec->name +
                    " decoder with NVDEC: " + av::error_text(opened)};
  }
  if (opened < 0) {
    throw UsageError(s.input.name + ": cannot open the " + codec->name +
                     " decoder: " + av::error_text(opened));
  }

  AVRational rate = av_guess_frame_rate(&context, s.stream, nullptr);
  if (rate.num <= 0 || rate.den <= 0) {
    rate = AVRational{25, 1};
  }
  info_.frame_rate = av::from_av(rate);
  info_.time_base = av::from_av(s.stream->time_base);
  s.frame_duration =
      std::max<std::int64_t>(1, av_rescale_q(1, av_inv_q(rate), s.stream->time_base));
  const AVRational sar = av_guess_sample_aspect_ratio(&context, s.stream, nullptr);
  info_.sample_aspect = sar.num > 0 && sar.den > 0 ? av::from_av(sar) : Rational{};

  s.open_message = s.input.log->take();
  if (s.window.start > 0 && s.input.seekable) {
    av::seek_to(context, s.window.start);  // else decode from the start and drop
  }
  if (hardware) {
    // NVDEC's decoder is made at the first frame: its failure there is a refusal, not damage.
    try {
      s.pending = next_in_window(s, 0);
    } catch (const Error& e) {
      throw HwRefused{std::string("FFmpeg's nvdec hwaccel failed on the first frame: ") + e.what()};
    }
    if (s.pending && sw_format_of(*s.frame) == AV_PIX_FMT_NONE) {
      throw HwRefused{std::string("FFmpeg's nvdec hwaccel did not take the stream (the ") +
                      codec->name + " decoder gave " + av::name_of(static_cast<AVPixelFormat>(s.frame->format)) +
                      " frames)"};
    }
  } else {
    s.pending = next_or_keep(s, 0);
  }

  const AVCodecParameters& par = *s.stream->codecpar;
  const AVFrame* first = s.pending ? s.frame.get() : nullptr;
  const int width = first != nullptr ? first->width : par.width;
  const int height = first != nullptr ? first->height : par.height;
  s.decoded = first != nullptr && !hardware ? static_cast<AVPixelFormat>(first->format)
                                            : static_cast<AVPixelFormat>(par.format);
  if (width <= 0 || height <= 0 || s.decoded == AV_PIX_FMT_NONE) {
    throw UsageError(s.input.name + ": cannot tell the size or pixel format of its video");
  }
  const auto pick = [&](auto from_frame, auto from_par, auto unspecified) {
    return first != nullptr && from_frame != unspecified ? static_cast<int>(from_frame)
                                                         : static_cast<int>(from_par);
  };
  info_.color.primaries = pick(first ? first->color_primaries : AVCOL_PRI_UNSPECIFIED,
                               par.color_primaries, AVCOL_PRI_UNSPECIFIED);
  info_.color.transfer =
      pick(first ? first->color_trc : AVCOL_TRC_UNSPECIFIED, par.color_trc, AVCOL_TRC_UNSPECIFIED);
  info_.color.matrix = pick(first ? first->colorspace : AVCOL_SPC_UNSPECIFIED, par.color_space,
                            AVCOL_SPC_UNSPECIFIED);
  info_.color.range = pick(first ? first->color_range : AVCOL_RANGE_UNSPECIFIED, par.color_range,
                           AVCOL_RANGE_UNSPECIFIED);
  info_.color.chroma_location = pick(first ? first->chroma_location : AVCHROMA_LOC_UNSPECIFIED,
                                     par.chroma_location, AVCHROMA_LOC_UNSPECIFIED);

  s.target = target_of(s.decoded);
  info_.conversions = conversions_of(s.decoded, s.target);
  if (info_.color.matrix == AVCOL_SPC_BT2020_CL) {
    info_.conversions.emplace_back(
        "BT.2020 constant-luminance YUV is converted with the non-constant-luminance matrix");
  }
  const bool full = is_full_range(s.decoded, static_cast<AVColorRange>(info_.color.range));
  const ColorMatrix matrix =
      av::matrix_of(info_.color.matrix, width, height, info_.color.primaries);
  info_.format = format_of(s.target, width, height, matrix, full);
  info_.decoder = std::string(codec->name) + " on the cpu";
  if (hardware) {
    const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(s.decoded);
    const int bits = d != nullptr ? d->comp[0].depth : 8;
    const bool y444 = d != nullptr && d->log2_chroma_w == 0;
    s.hw_sw_format = first != nullptr ? sw_format_of(*first)
                     : y444           ? (bits > 8 ? AV_PIX_FMT_YUV444P16 : AV_PIX_FMT_YUV444P)
                                      : (bits > 8 ? AV_PIX_FMT_P010 : AV_PIX_FMT_NV12);
    const std::optional<YuvDesc> device =
        av::device_format_of(s.hw_sw_format, width, height, bits, matrix, full);
    if (!device) {
      throw HwRefused{std::string("NVDEC gives ") + av::name_of(s.hw_sw_format) +
                      " frames, which the pipeline does not read"};
    }
    info_.format = *device;
    info_.on_device = true;
    info_.decoder = std::string(codec->name) + " on nvdec (cuda:" +
                    std::to_string(options.cuda_device) + ")";
    info_.conversions.clear();
  }
  s.direct = same_layout(s.decoded, s.target);
  if (!s.direct && !hardware) {
    // Grey is full range unless tagged otherwise; RGB and palettes have no range.
    const bool from_full =
        av::is_rgb(s.decoded) || (s.target == AV_PIX_FMT_RGB24 || s.target == AV_PIX_FMT_RGB48
                                      ? info_.color.range != AVCOL_RANGE_MPEG
                                      : full);
    s.converter = av::make_converter(width, height, s.decoded, s.target, matrix, from_full,
                                     av::is_rgb(s.target) || full);
  }
  info_.frame_count = estimate_count(s.input, *s.stream, s.window, info_.frame_rate);
  if (const std::int32_t* m = display_matrix_of(*s.stream, first)) {
    info_.display_matrix.emplace();
    std::copy(m, m + 9, info_.display_matrix->begin());
  }
  if (!info_.conversions.empty()) {
    std::string text;
    for (const std::string& c : info_.conversions) {
      text += (text.empty() ? "" : "; ") + c;
    }
    std::cerr << "warning: " << s.input.name << ": " << text << "\n";
  }
  info_.description = std::string(codec->name) + " " + av::name_of(s.decoded) + " " +
                      std::to_string(width) + "x" + std::to_string(height) + " " +
                      fps_text(info_.frame_rate);
  if (!fallback.empty()) {
    info_.hwdec_fallback = fallback;
    std::cerr << "note: " << s.input.name << ": decoding on the CPU: " << fallback << "\n";
  }
}

VideoReader::~VideoReader() = default;

std::int64_t VideoReader::frames_dropped() const noexcept { return state_->dropped; }

std::int64_t VideoReader::frames_damaged() const noexcept { return state_->damaged; }

const std::string& VideoReader::error_kept() const noexcept { return state_->error_kept; }

std::optional<FramePlanes> VideoReader::lend_frame(FrameTime* time) {
  State& s = *state_;
  if (!info_.on_device) {
    throw UsageError(s.input.name + ": frames decoded on the CPU are read, not lent");
  }
  if (!next_frame(s, frames_read_, info_.format)) {
    return std::nullopt;
  }
  const AVFrame& f = *s.frame;
  if (const AVPixelFormat sw = sw_format_of(f); sw != s.hw_sw_format) {
    throw Error(s.input.name + ": frame " + std::to_string(frames_read_) + " came from NVDEC as " +
                av::name_of(sw == AV_PIX_FMT_NONE ? static_cast<AVPixelFormat>(f.format) : sw) +
                ", not " + av::name_of(s.hw_sw_format) +
                " as the frames before it (format changes are not supported)");
  }
  av::synchronize(s.hw_device.get());
  FramePlanes planes{};
  for (int p = 0; p < plane_count(info_.format); ++p) {
    planes[static_cast<std::size_t>(p)] = {reinterpret_cast<std::byte*>(f.data[p]),
                                           static_cast<std::size_t>(f.linesize[p])};
  }
  av::Frame held = av::make_frame();
  av_frame_move_ref(held.get(), s.frame.get());
  {
    const std::lock_guard lock(s.lent_mutex);
    s.lent.insert_or_assign(frames_read_, std::move(held));
  }
  if (time != nullptr) {
    *time = s.time;
  }
  ++frames_read_;
  return planes;
}

void VideoReader::give_back(std::int64_t index) {
  State& s = *state_;
  av::Frame frame;
  {
    const std::lock_guard lock(s.lent_mutex);
    if (const auto it = s.lent.find(index); it != s.lent.end()) {
      frame = std::move(it->second);
      s.lent.erase(it);
    }
  }
}

bool VideoReader::read_frame(std::span<std::byte> dst, FrameTime* time) {
  State& s = *state_;
  if (info_.on_device) {
    throw UsageError(s.input.name + ": frames decoded on NVDEC are lent, not read");
  }
  const std::size_t bytes = bytes_of(info_.format);
  if (dst.size() != bytes) {
    throw UsageError(s.input.name + ": a frame needs a buffer of " + std::to_string(bytes) +
                     " bytes, not " + std::to_string(dst.size()));
  }
  if (!next_frame(s, frames_read_, info_.format)) {
    return false;
  }
  const AVFrame& f = *s.frame;
  const int width = f.width;
  const int height = f.height;
  const auto format = static_cast<AVPixelFormat>(f.format);
  if (format != s.decoded) {
    s.decoded = format;
    s.direct = same_layout(format, s.target);
    const auto* yuv = std::get_if<YuvDesc>(&info_.format);
    const bool full = yuv != nullptr && yuv->range == ColorRange::full;
    s.converter.reset();
    if (!s.direct) {
      s.converter = av::make_converter(width, height, format, s.target,
                                       yuv != nullptr ? yuv->matrix : ColorMatrix::bt709,
                                       av::is_rgb(format) || full, yuv == nullptr || full);
    }
  }
  const av::Planes out = av::planes_of(info_.format, dst.data());
  if (s.direct) {
    for (int p = 0; p < out.count; ++p) {
      av_image_copy_plane(out.data[p], out.linesize[p], f.data[p], f.linesize[p], out.linesize[p],
                          out.rows[p]);
    }
  } else {
    sws_scale(s.converter.get(), f.data, f.linesize, 0, height, out.data.data(),
              out.linesize.data());
  }
  if (time != nullptr) {
    *time = s.time;
  }
  av_frame_unref(s.frame.get());
  ++frames_read_;
  return true;
}

}  // namespace pyn
