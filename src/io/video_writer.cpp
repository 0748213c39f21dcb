#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <string_view>
#include <utility>
#include <vector>

#include "av.hpp"

extern "C" {
#include <libavutil/audio_fifo.h>
#include <libavutil/avstring.h>
#include <libswresample/swresample.h>
}
#include "pynference/device/error.hpp"

namespace pyn {

namespace {

// Frees the muxer; its file, if open, is closed first.
struct OutputDeleter {
  void operator()(AVFormatContext* c) const noexcept {
    if (c->pb != nullptr && (c->oformat->flags & AVFMT_NOFILE) == 0) {
      avio_closep(&c->pb);
    }
    avformat_free_context(c);
  }
};
using Output = std::unique_ptr<AVFormatContext, OutputDeleter>;

// Containers that can be written front to back, onto a pipe: not those that go back to write an
// index or a header (mp4, mov, mxf, avi) nor image2's file per frame.
bool streams_to_pipe(const AVOutputFormat& container) {
  constexpr std::array<std::string_view, 12> kSeeking{"mp4", "mov",     "ipod",       "3gp",
                                                      "3g2", "psp",     "ismv",       "f4v",
                                                      "mxf", "mxf_d10", "mxf_opatom", "avi"};
  return (container.flags & AVFMT_NOFILE) == 0 &&
         std::ranges::find(kSeeking, container.name) == kSeeking.end();
}

// Encoders that refuse odd sizes for subsampled chroma.
bool needs_even_size(std::string_view encoder) {
  constexpr std::array<std::string_view, 12> kNames{
      "libx264",    "libx265", "libvpx",     "libvpx-vp9", "libaom-av1", "libsvtav1",
      "libkvazaar", "mpeg4",   "mpeg2video", "h264_nvenc", "hevc_nvenc", "av1_nvenc"};
  return std::ranges::find(kNames, encoder) != kNames.end();
}

bool is_x26x(std::string_view encoder) { return encoder == "libx264" || encoder == "libx265"; }

std::string format_list(const AVPixelFormat* list) {
  std::string text;
  for (; list != nullptr && *list != AV_PIX_FMT_NONE; ++list) {
    text += text.empty() ? "" : ", ";
    text += av::name_of(*list);
  }
  return text;
}

bool takes(const AVPixelFormat* list, AVPixelFormat format) {
  for (; list != nullptr && *list != AV_PIX_FMT_NONE; ++list) {
    if (*list == format) {
      return true;
    }
  }
  return list == nullptr;
}

bool odd_for(AVPixelFormat format, int width, int height) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(format);
  return d != nullptr && !av::is_rgb(format) &&
         ((d->log2_chroma_w > 0 && width % 2 != 0) || (d->log2_chroma_h > 0 && height % 2 != 0));
}

bool is_full(AVPixelFormat format) {
  return format == AV_PIX_FMT_YUVJ420P || format == AV_PIX_FMT_YUVJ422P ||
         format == AV_PIX_FMT_YUVJ444P;
}

// The family of a colour-space tag, where it is one of the pipeline's matrices.
std::optional<ColorMatrix> family_of(int tag) {
  switch (tag) {
    case AVCOL_SPC_BT709:
      return ColorMatrix::bt709;
    case AVCOL_SPC_BT470BG:
    case AVCOL_SPC_SMPTE170M:
    case AVCOL_SPC_FCC:
      return ColorMatrix::bt601;
    case AVCOL_SPC_BT2020_NCL:
      return ColorMatrix::bt2020;
    case AVCOL_SPC_SMPTE240M:
      return ColorMatrix::smpte240m;
    default:
      return std::nullopt;
  }
}

// The audio and subtitle streams of `src` that `maps` (VideoOutputOptions::maps) keep, one flag
// per stream; `name` is the input's, for messages.
std::vector<bool> select_streams(const AVFormatContext& src, const std::vector<std::string>& maps,
                                 const std::string& name) {
  std::vector<bool> kept(src.nb_streams, false);
  auto kind_of = [&](unsigned i) -> char {
    const AVMediaType type = src.streams[i]->codecpar->codec_type;
    return type == AVMEDIA_TYPE_AUDIO ? 'a' : type == AVMEDIA_TYPE_SUBTITLE ? 's' : 'v';
  };
  struct Spec {
    bool remove = false;
    bool none = false;
    char kind = 0;
    std::optional<int> index;
  };
  std::vector<Spec> specs;
  for (const std::string& text : maps) {
    Spec spec;
    std::string_view body = text;
    if (body.starts_with('-')) {
      spec.remove = true;
      body.remove_prefix(1);
    }
    bool good = false;
    if (body == "none" && !spec.remove) {
      spec.none = true;
      good = true;
    } else if (!body.empty() && (body[0] == 'a' || body[0] == 's')) {
      spec.kind = body[0];
      body.remove_prefix(1);
      if (body.empty()) {
        good = true;
      } else if (body.size() > 1 && body[0] == ':' && body.size() <= 5 &&
                 std::all_of(body.begin() + 1, body.end(),
                             [](char c) { return c >= '0' && c <= '9'; })) {
        spec.index = std::stoi(std::string(body.substr(1)));
        good = true;
      }
    }
    if (!good) {
      throw UsageError("--map " + text +
                       ": not a stream (a, s, a:N, s:N, the same with a leading -, or none)");
    }
    specs.push_back(spec);
  }
  const bool adds = std::ranges::any_of(specs, [](const Spec& p) { return !p.remove; });
  for (unsigned i = 0; i < src.nb_streams; ++i) {
    kept[i] = !adds && kind_of(i) != 'v';
  }
  for (std::size_t k = 0; k < specs.size(); ++k) {
    const Spec& spec = specs[k];
    if (spec.none) {
      continue;
    }
    int seen = 0;
    bool matched = false;
    for (unsigned i = 0; i < src.nb_streams; ++i) {
      if (kind_of(i) != spec.kind) {
        continue;
      }
      if (!spec.index || *spec.index == seen) {
        kept[i] = !spec.remove;
        matched = true;
      }
      ++seen;
    }
    if (!matched) {
      // "has no audio stream", "has 1 audio stream (a:0)", "has 2 subtitle streams (s:0 to s:1)"
      const std::string kind = spec.kind == 'a' ? "audio" : "subtitle";
      const std::string first = std::string(1, spec.kind) + ":0";
      const std::string last = std::string(1, spec.kind) + ":" + std::to_string(seen - 1);
      const std::string has = seen == 0   ? "no " + kind + " stream"
                              : seen == 1 ? "1 " + kind + " stream (" + first + ")"
                                          : std::to_string(seen) + " " + kind + " streams (" +
                                                first + " to " + last + ")";
      throw UsageError("--map " + maps[k] + ": " + name + " has " + has);
    }
  }
  return kept;
}

// Containers that store chapters, and those that store attachments (fonts for ASS subtitles).
bool holds_chapters(std::string_view container) {
  constexpr std::array<std::string_view, 5> kNames{"matroska", "webm", "mov", "mp4", "ipod"};
  return std::ranges::find(kNames, container) != kNames.end();
}
bool holds_attachments(std::string_view container) { return container == "matroska"; }

// The input's container metadata (title, ...) and chapters onto `out`, the chapters shifted by the
// window's start and clipped to it as ffmpeg clips them; a container without chapters gets a
// warning instead.
void carry_container_data(const std::string& name, const AVFormatContext& src, AVFormatContext& out,
                          const av::Window& window) {
  const AVDictionaryEntry* e = nullptr;
  while ((e = av_dict_get(src.metadata, "", e, AV_DICT_IGNORE_SUFFIX)) != nullptr) {
    // The muxer names its own writer; a duration would be the input's, not the output's.
    if (av_strcasecmp(e->key, "encoder") != 0 && av_strcasecmp(e->key, "duration") != 0) {
      av_dict_set(&out.metadata, e->key, e->value, 0);
    }
  }
  if (src.nb_chapters == 0) {
    return;
  }
  if (!holds_chapters(out.oformat->name)) {
    std::cerr << "warning: " << name << ": the " << out.oformat->name
              << " container cannot hold chapters; " << src.nb_chapters << " not copied\n";
    return;
  }
  const double origin =
      src.start_time == AV_NOPTS_VALUE ? 0.0 : static_cast<double>(src.start_time) / AV_TIME_BASE;
  const double start = std::max(window.start, 0.0);
  std::vector<AVChapter*> kept;
  for (unsigned i = 0; i < src.nb_chapters; ++i) {
    const AVChapter& in = *src.chapters[i];
    const double tb = av_q2d(in.time_base);
    const double from = static_cast<double>(in.start) * tb - origin;
    const double to = static_cast<double>(in.end) * tb - origin;
    if (to <= start || from >= window.end) {
      continue;  // wholly outside the -ss/-t/-to window
    }
    auto* c = static_cast<AVChapter*>(av_mallocz(sizeof(AVChapter)));
    if (c == nullptr) {
      throw std::bad_alloc();
    }
    c->id = in.id;
    c->time_base = AVRational{1, 1000};
    c->start = std::llround((std::max(from, start) - start) * 1000);
    c->end = std::llround((std::min(to, window.end) - start) * 1000);
    av_dict_copy(&c->metadata, in.metadata, 0);
    kept.push_back(c);
  }
  if (kept.empty()) {
    return;
  }
  out.chapters = static_cast<AVChapter**>(av_calloc(kept.size(), sizeof(AVChapter*)));
  if (out.chapters == nullptr) {
    for (AVChapter* c : kept) {
      av_dict_free(&c->metadata);
      av_free(c);
    }
    throw std::bad_alloc();
  }
  std::ranges::copy(kept, out.chapters);
  out.nb_chapters = static_cast<unsigned>(kept.size());
}

}  // namespace

// An audio stream of the input decoded, resampled to what `encoder` takes and encoded again, for
// a container that cannot hold the stream's codec or where --audio-codec asks.
struct AudioConversion {
  struct SwrDeleter {
    void operator()(SwrContext* c) const noexcept { swr_free(&c); }
  };
  struct FifoDeleter {
    void operator()(AVAudioFifo* f) const noexcept { av_audio_fifo_free(f); }
  };
  av::Codec decoder;
  av::Codec encoder;
  std::unique_ptr<SwrContext, SwrDeleter> resampler;
  std::unique_ptr<AVAudioFifo, FifoDeleter> fifo;
  av::Frame decoded = av::make_frame();
  av::Frame chunk = av::make_frame();
  av::Packet packet = av::make_packet();
  AVRational in_time_base{};
  std::int64_t next_pts = AV_NOPTS_VALUE;  // in 1/sample rate, of the next sample encoded
  std::int64_t shift = 0;                  // subtracted from the input's times, in in_time_base
};

struct VideoWriter::State {
  std::string name;
  bool sequence = false;
  std::string part;                // the file written, for a container
  std::vector<std::string> parts;  // the files written, for an image sequence
  Output output;
  av::Codec encoder;
  AVStream* video = nullptr;
  FrameFormat format;
  AVPixelFormat own = AV_PIX_FMT_NONE;
  av::Sws converter;
  av::Frame frame = av::make_frame();
  av::Packet packet = av::make_packet();
  AVRational time_base{};  // the input's, of FrameTime
  // The encoder counts in ticks of 1/D, D a multiple of the input's and the frame rate's
  // denominators, so that a frame time the input rounded (Matroska's milliseconds) snaps back to
  // the frame-rate grid when within half an input tick of it: 24000/1001 stays exact.
  std::int64_t tick = 1;  // encoder ticks per input tick
  std::int64_t grid = 0;  // encoder ticks per frame; 0: no snapping
  bool started = false;
  std::int64_t offset = 0;    // pts of the first frame, in time_base
  std::int64_t last_end = 0;  // end of the latest frame, in time_base
  std::int64_t last_pts = std::numeric_limits<std::int64_t>::min();
  bool closed = false;
  bool failed = false;
  bool counts_frames = false;  // the encoder's time base is 1/frame rate (MPEG-1/2, MPEG-4)
  bool single_image = false;   // one image file, not a pattern
  bool to_stdout = false;      // "-": onto standard output, no .part

  // Audio and subtitles, copied from a second demuxer of the input.
  av::OpenedInput source;
  std::vector<int> map;  // source stream -> output stream, -1 for none
  std::vector<std::unique_ptr<AudioConversion>> conversions;  // per source stream; null: copied
  av::Packet held = av::make_packet();
  bool holding = false;
  bool source_done = true;
  double copy_start = 0;  // the window's start on the input's timeline; copies start there

  void discard() noexcept;
  [[nodiscard]] std::int64_t snap(std::int64_t t) const noexcept {
    if (grid <= 0 || t < 0) {
      return t;
    }
    const std::int64_t on_grid = (t + grid / 2) / grid * grid;
    return std::abs(t - on_grid) * 2 <= tick ? on_grid : t;
  }
};

namespace {

using State = VideoWriter::State;

// The image2 muxer opens one file per frame: each goes to "<name>.part", renamed by close().
int open_part(AVFormatContext* s, AVIOContext** pb, const char* url, int flags,
              AVDictionary** options) {
  auto* state = static_cast<State*>(s->opaque);
  std::string part = std::string(url) + ".part";
  const int r = avio_open2(pb, part.c_str(), flags, &s->interrupt_callback, options);
  if (r >= 0 && std::ranges::find(state->parts, part) == state->parts.end()) {
    state->parts.push_back(std::move(part));
  }
  return r;
}

void write_packet(State& s, AVPacket& packet, const char* what) {
  const int r = av_interleaved_write_frame(s.output.get(), &packet);
  if (r < 0) {
    s.failed = true;
    throw Error("cannot write " + s.name + ": " + what + ": " + av::error_text(r));
  }
}

// Encodes the converted samples waiting in the fifo, whole frames only unless `flush`; with
// `flush` the encoder is drained as well.
void encode_audio(State& s, AudioConversion& a, int out_index, bool flush) {
  AVCodecContext& enc = *a.encoder;
  const bool any_size = (enc.codec->capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE) != 0;
  const int frame_size = enc.frame_size > 0 && !any_size ? enc.frame_size : 1024;
  const bool small_last =
      any_size || (enc.codec->capabilities & AV_CODEC_CAP_SMALL_LAST_FRAME) != 0;
  for (;;) {
    const int waiting = av_audio_fifo_size(a.fifo.get());
    if (waiting == 0 || (waiting < frame_size && !flush)) {
      break;
    }
    const int n = std::min(waiting, frame_size);
    AVFrame& f = *a.chunk;
    av_frame_unref(&f);
    f.format = enc.sample_fmt;
    f.sample_rate = enc.sample_rate;
    av_channel_layout_copy(&f.ch_layout, &enc.ch_layout);
    f.nb_samples = small_last ? n : frame_size;
    if (const int r = av_frame_get_buffer(&f, 0); r < 0) {
      throw Error("cannot allocate an audio frame: " + av::error_text(r));
    }
    av_samples_set_silence(f.extended_data, 0, f.nb_samples, enc.ch_layout.nb_channels,
                           enc.sample_fmt);
    av_audio_fifo_read(a.fifo.get(), reinterpret_cast<void**>(f.extended_data), n);
    f.pts = a.next_pts;
    a.next_pts += f.nb_samples;
    if (const int r = avcodec_send_frame(&enc, &f); r < 0) {
      throw Error("cannot encode audio for " + s.name + ": " + av::error_text(r));
    }
    while (avcodec_receive_packet(&enc, a.packet.get()) >= 0) {
      av_packet_rescale_ts(a.packet.get(), enc.time_base, s.output->streams[out_index]->time_base);
      a.packet->stream_index = out_index;
      write_packet(s, *a.packet, "converted audio");
    }
  }
  if (flush) {
    avcodec_send_frame(&enc, nullptr);
    while (avcodec_receive_packet(&enc, a.packet.get()) >= 0) {
      av_packet_rescale_ts(a.packet.get(), enc.time_base, s.output->streams[out_index]->time_base);
      a.packet->stream_index = out_index;
      write_packet(s, *a.packet, "converted audio");
    }
  }
}

// Decodes `packet` (null: the decoder's end), resamples into the fifo and encodes what fills.
void convert_audio(State& s, AudioConversion& a, const AVPacket* packet, int out_index) {
  if (avcodec_send_packet(a.decoder.get(), packet) < 0) {
    return;  // a damaged audio packet: its samples are missing, the rest goes on
  }
  while (avcodec_receive_frame(a.decoder.get(), a.decoded.get()) >= 0) {
    AVFrame& in = *a.decoded;
    if (a.next_pts == AV_NOPTS_VALUE) {
      const std::int64_t ts =
          in.best_effort_timestamp != AV_NOPTS_VALUE ? in.best_effort_timestamp : in.pts;
      a.next_pts = ts == AV_NOPTS_VALUE ? 0
                                        : av_rescale_q(ts - a.shift, a.in_time_base,
                                                       AVRational{1, a.encoder->sample_rate});
    }
    const int room = swr_get_out_samples(a.resampler.get(), in.nb_samples);
    std::uint8_t** out = nullptr;
    if (av_samples_alloc_array_and_samples(&out, nullptr, a.encoder->ch_layout.nb_channels,
                                           std::max(room, 1), a.encoder->sample_fmt, 0) < 0) {
      throw std::bad_alloc();
    }
    const int got = swr_convert(a.resampler.get(), out, room,
                                const_cast<const std::uint8_t**>(in.extended_data), in.nb_samples);
    if (got > 0) {
      av_audio_fifo_write(a.fifo.get(), reinterpret_cast<void**>(out), got);
    }
    av_freep(&out[0]);
    av_freep(reinterpret_cast<void*>(&out));
    av_frame_unref(&in);
    encode_audio(s, a, out_index, false);
  }
}

// Whether `container` takes a copy of `in`: the codec tables say yes to some streams the muxer
// then refuses (Opus and FLAC in .mov), so a header is written for it alone, into memory.
bool muxer_takes(const AVOutputFormat& container, const AVStream& in) {
  if (avformat_query_codec(&container, in.codecpar->codec_id, FF_COMPLIANCE_NORMAL) == 0) {
    return false;
  }
  AVFormatContext* raw = nullptr;
  if (avformat_alloc_output_context2(&raw, &container, nullptr, "trial") < 0) {
    return false;
  }
  const Output trial(raw);
  AVStream* stream = avformat_new_stream(raw, nullptr);
  if (stream == nullptr || avcodec_parameters_copy(stream->codecpar, in.codecpar) < 0) {
    return false;
  }
  stream->codecpar->codec_tag = 0;
  stream->time_base = in.time_base;
  if ((container.flags & AVFMT_NOFILE) != 0 || avio_open_dyn_buf(&raw->pb) < 0) {
    return false;
  }
  // The muxer's refusal is the answer, not a message for the user.
  const int level = av_log_get_level();
  av_log_set_level(AV_LOG_QUIET);
  const bool takes_it = avformat_write_header(raw, nullptr) >= 0;
  av_log_set_level(level);
  std::uint8_t* bytes = nullptr;
  avio_close_dyn_buf(raw->pb, &bytes);
  raw->pb = nullptr;
  av_free(bytes);
  return takes_it;
}

// Sets up the conversion of `in` to `codec` for output stream `out`.
std::unique_ptr<AudioConversion> make_conversion(const AVStream& in, const AVCodec& codec,
                                                 std::int64_t bitrate,
                                                 const AVOutputFormat& container, AVStream& out) {
  auto a = std::make_unique<AudioConversion>();
  const AVCodec* decoder = avcodec_find_decoder(in.codecpar->codec_id);
  if (decoder == nullptr) {
    throw UsageError(
        std::string("no decoder for ") + avcodec_get_name(in.codecpar->codec_id) +
        " audio in this FFmpeg, so it cannot be converted (try --audio-codec copy or --no-audio)");
  }
  a->decoder.reset(avcodec_alloc_context3(decoder));
  avcodec_parameters_to_context(a->decoder.get(), in.codecpar);
  a->decoder->pkt_timebase = in.time_base;
  if (const int r = avcodec_open2(a->decoder.get(), decoder, nullptr); r < 0) {
    throw UsageError(std::string("cannot open the ") + decoder->name +
                     " audio decoder: " + av::error_text(r));
  }
  a->encoder.reset(avcodec_alloc_context3(&codec));
  AVCodecContext& enc = *a->encoder;
  const AVCodecContext& dec = *a->decoder;
  // The input's rate and sample format where the encoder takes them, else its nearest / first.
  int rate = dec.sample_rate;
  if (codec.supported_samplerates != nullptr) {
    int best = codec.supported_samplerates[0];
    for (const int* r = codec.supported_samplerates; *r != 0; ++r) {
      if (*r == rate || (std::abs(*r - rate) < std::abs(best - rate) && best != rate)) {
        best = *r;
      }
    }
    rate = best;
  }
  enc.sample_rate = rate;
  enc.sample_fmt = codec.sample_fmts != nullptr ? codec.sample_fmts[0] : dec.sample_fmt;
  for (const AVSampleFormat* f = codec.sample_fmts; f != nullptr && *f != AV_SAMPLE_FMT_NONE; ++f) {
    if (*f == dec.sample_fmt) {
      enc.sample_fmt = *f;
    }
  }
  av_channel_layout_copy(&enc.ch_layout, &dec.ch_layout);
  if (enc.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
    const int channels = enc.ch_layout.nb_channels;
    av_channel_layout_uninit(&enc.ch_layout);
    av_channel_layout_default(&enc.ch_layout, channels);
  }
  enc.time_base = AVRational{1, rate};
  if (bitrate > 0) {
    enc.bit_rate = bitrate;
  }
  if ((container.flags & AVFMT_GLOBALHEADER) != 0) {
    enc.flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  }
  if (const int r = avcodec_open2(&enc, &codec, nullptr); r < 0) {
    throw UsageError(std::string("cannot open the ") + codec.name + " audio encoder for " +
                     std::to_string(enc.ch_layout.nb_channels) + " channels at " +
                     std::to_string(rate) + " Hz: " + av::error_text(r));
  }
  SwrContext* swr = nullptr;
  if (swr_alloc_set_opts2(&swr, &enc.ch_layout, enc.sample_fmt, enc.sample_rate,
                          &a->decoder->ch_layout, dec.sample_fmt, dec.sample_rate, 0,
                          nullptr) < 0 ||
      swr_init(swr) < 0) {
    swr_free(&swr);
    throw Error("cannot set up audio resampling for " + std::string(codec.name));
  }
  a->resampler.reset(swr);
  a->fifo.reset(av_audio_fifo_alloc(enc.sample_fmt, enc.ch_layout.nb_channels, 4096));
  if (!a->fifo) {
    throw std::bad_alloc();
  }
  a->in_time_base = in.time_base;
  avcodec_parameters_from_context(out.codecpar, &enc);
  out.time_base = enc.time_base;
  return a;
}

// Source packets that start before `limit` (seconds on the input's timeline), shifted as the
// video is.
void copy_until(State& s, double limit) {
  while (!s.source_done) {
    if (!s.holding) {
      const int r = av_read_frame(s.source.context.get(), s.held.get());
      if (r < 0) {
        s.source_done = true;
        if (r != AVERROR_EOF) {
          std::cerr << "warning: " << s.source.name
                    << ": audio and subtitles copied up to an error: " << av::error_text(r) << "\n";
        }
        return;
      }
      if (s.map[static_cast<std::size_t>(s.held->stream_index)] < 0) {
        av_packet_unref(s.held.get());
        continue;
      }
      s.holding = true;
    }
    AVPacket& p = *s.held;
    const AVStream& in = *s.source.context->streams[p.stream_index];
    const std::int64_t ts = p.pts != AV_NOPTS_VALUE ? p.pts : p.dts;
    const double t =
        ts == AV_NOPTS_VALUE ? s.copy_start : av::seconds_of(*s.source.context, ts, in.time_base);
    if (t >= limit) {
      return;
    }
    s.holding = false;
    if (t < s.copy_start - 1e-9) {
      av_packet_unref(&p);
      continue;
    }
    AVStream& out = *s.output->streams[s.map[static_cast<std::size_t>(p.stream_index)]];
    const std::int64_t shift = av_rescale_q(s.offset, s.time_base, in.time_base);
    if (AudioConversion* a = s.conversions[static_cast<std::size_t>(p.stream_index)].get()) {
      a->shift = shift;
      convert_audio(s, *a, &p, out.index);
      av_packet_unref(&p);
      continue;
    }
    if (p.pts != AV_NOPTS_VALUE) {
      p.pts -= shift;
    }
    if (p.dts != AV_NOPTS_VALUE) {
      p.dts -= shift;
    }
    av_packet_rescale_ts(&p, in.time_base, out.time_base);
    p.stream_index = out.index;
    p.pos = -1;
    write_packet(s, p, "copied stream");
  }
}

// Sends `frame` (nullptr: flush) and writes the packets that come out.
void encode(State& s, const AVFrame* frame) {
  const int sent = avcodec_send_frame(s.encoder.get(), frame);
  if (sent < 0) {
    s.failed = true;
    throw Error("cannot encode " + s.name + ": " + av::error_text(sent));
  }
  for (;;) {
    const int r = avcodec_receive_packet(s.encoder.get(), s.packet.get());
    if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) {
      return;
    }
    if (r < 0) {
      s.failed = true;
      throw Error("cannot encode " + s.name + ": " + av::error_text(r));
    }
    av_packet_rescale_ts(s.packet.get(), s.encoder->time_base, s.video->time_base);
    s.packet->stream_index = s.video->index;
    write_packet(s, *s.packet, "video");
  }
}

// The image2 muxer's encoder for a file name: by its extension (.jpg mjpeg, .tif tiff, .webp
// webp, ...), PNG where the extension names none.
const AVCodec* image_encoder(const AVOutputFormat& container, const std::string& path) {
  const AVCodecID id =
      av_guess_codec(&container, nullptr, path.c_str(), nullptr, AVMEDIA_TYPE_VIDEO);
  // libwebp_anim (found first for WebP) holds every frame back for one animation.
  const AVCodec* codec = id == AV_CODEC_ID_WEBP   ? avcodec_find_encoder_by_name("libwebp")
                         : id != AV_CODEC_ID_NONE ? avcodec_find_encoder(id)
                                                  : nullptr;
  return codec != nullptr ? codec : avcodec_find_encoder(AV_CODEC_ID_PNG);
}

bool is_deep(AVPixelFormat format) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(format);
  return d != nullptr && d->comp[0].depth > 8;
}

const AVCodec* pick_encoder(const VideoOutputOptions& options, const AVOutputFormat& container,
                            bool sequence, AVPixelFormat own) {
  if (!options.encoder.empty()) {
    const AVCodec* codec = avcodec_find_encoder_by_name(options.encoder.c_str());
    if (codec == nullptr) {
      throw UsageError("unknown encoder '" + options.encoder +
                       "' (this FFmpeg has none of that name)");
    }
    if (codec->type != AVMEDIA_TYPE_VIDEO) {
      throw UsageError("encoder '" + options.encoder + "' does not encode video");
    }
    return codec;
  }
  const std::string_view name = container.name;
  const AVCodec* codec = nullptr;
  if (sequence || name == "image2") {
    codec = image_encoder(container, options.path);
  } else if (name == "mp4" || name == "mov" || name == "matroska") {
    // Deeper than 8 bits: HEVC keeps the depth in a profile players decode (Main 10).
    if (is_deep(own)) {
      codec = avcodec_find_encoder_by_name("libx265");
    }
    if (codec == nullptr) {
      codec = avcodec_find_encoder_by_name("libx264");
    }
  }
  if (codec == nullptr && container.video_codec != AV_CODEC_ID_NONE) {
    codec = avcodec_find_encoder(container.video_codec);
  }
  if (codec == nullptr) {
    throw UsageError(options.path + ": no default video encoder for the " + std::string(name) +
                     " container in this FFmpeg; name one");
  }
  return codec;
}

// The encoder's pixel format for frames of `own` layout.
AVPixelFormat pick_pix_fmt(const VideoOutputOptions& options, const AVCodec& codec,
                           AVPixelFormat own) {
  if (!options.pix_fmt.empty()) {
    const AVPixelFormat wanted = av_get_pix_fmt(options.pix_fmt.c_str());
    if (wanted == AV_PIX_FMT_NONE) {
      throw UsageError("unknown pixel format '" + options.pix_fmt + "'");
    }
    if (!takes(codec.pix_fmts, wanted)) {
      throw UsageError("encoder " + std::string(codec.name) + " does not take pixel format " +
                       options.pix_fmt + " (it takes " + format_list(codec.pix_fmts) + ")");
    }
    return wanted;
  }
  const bool deep = is_deep(own);
  if (codec.id == AV_CODEC_ID_H264 || codec.id == AV_CODEC_ID_HEVC) {
    // What players decode: 4:2:0 (High, Main, Main 10), from YUV 4:4:4 and RGB sources too.
    const AVPixelFormat common = deep ? AV_PIX_FMT_YUV420P10LE : AV_PIX_FMT_YUV420P;
    if (takes(codec.pix_fmts, common)) {
      return common;
    }
  } else if (codec.id == AV_CODEC_ID_MJPEG) {
    // JPEG viewers read full-range YUV only; 8 bits.
    constexpr std::array<AVPixelFormat, 4> kFull{AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ422P,
                                                 AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_NONE};
    return avcodec_find_best_pix_fmt_of_list(kFull.data(), own, 0, nullptr);
  } else if (codec.id == AV_CODEC_ID_TIFF && !av::is_rgb(own)) {
    // Few TIFF readers take YUV.
    const AVPixelFormat rgb = deep ? AV_PIX_FMT_RGB48LE : AV_PIX_FMT_RGB24;
    if (takes(codec.pix_fmts, rgb)) {
      return rgb;
    }
  }
  if (takes(codec.pix_fmts, own)) {
    return own;
  }
  return avcodec_find_best_pix_fmt_of_list(codec.pix_fmts, own, 0, nullptr);
}

// Encoders that take their frame rate from the time base, and only some rates (MPEG-1/2) or a
// time base of at most 16 bits (MPEG-4 part 2, H.263): they count in frames.
bool counts_frames(const AVCodec& codec) {
  switch (codec.id) {
    case AV_CODEC_ID_MPEG1VIDEO:
    case AV_CODEC_ID_MPEG2VIDEO:
    case AV_CODEC_ID_MPEG4:
    case AV_CODEC_ID_H263:
    case AV_CODEC_ID_H263P:
    case AV_CODEC_ID_FLV1:
    case AV_CODEC_ID_MSMPEG4V2:
    case AV_CODEC_ID_MSMPEG4V3:
    case AV_CODEC_ID_WMV1:
    case AV_CODEC_ID_WMV2:
      return true;
    default:
      return codec.supported_framerates != nullptr;
  }
}

std::string rate_text(AVRational r) {
  return r.den == 1 ? std::to_string(r.num) : std::to_string(r.num) + "/" + std::to_string(r.den);
}

// The rate an encoder that counts frames runs at: `rate` where it takes it, else the lowest rate it
// takes above `rate` (each frame keeps its time, within half a frame; none shares a tick).
AVRational frame_rate_for(const AVCodec& codec, AVRational rate, const std::string& path) {
  // MPEG-1/2's own rates; their encoders' lists hold more (Xing's), which they refuse.
  static constexpr std::array<AVRational, 9> kMpeg{AVRational{24000, 1001}, {24, 1}, {25, 1},
                                                   {30000, 1001},           {30, 1}, {50, 1},
                                                   {60000, 1001},           {60, 1}, {0, 0}};
  const bool mpeg = codec.id == AV_CODEC_ID_MPEG1VIDEO || codec.id == AV_CODEC_ID_MPEG2VIDEO;
  const AVRational* list = mpeg ? kMpeg.data() : codec.supported_framerates;
  if (list == nullptr) {
    return rate;
  }
  const AVRational* best = nullptr;
  std::string names;
  for (const AVRational* r = list; r->num != 0; ++r) {
    names += (names.empty() ? "" : ", ") + rate_text(*r);
    if (av_cmp_q(*r, rate) == 0) {
      return rate;
    }
    if (av_cmp_q(*r, rate) > 0 && (best == nullptr || av_cmp_q(*r, *best) < 0)) {
      best = r;
    }
  }
  if (best == nullptr) {
    throw UsageError(path + ": " + codec.name + " takes " + names + " fps, not " + rate_text(rate) +
                     " (choose another encoder, e.g. --encoder libx264)");
  }
  std::cerr << "warning: " << path << ": " << codec.name << " takes " << names
            << " fps; the frames of " << rate_text(rate) << " fps go out at " << rate_text(*best)
            << " fps, each at its own time\n";
  return *best;
}

// The range --crf may take: x264's option table says -1 to FLT_MAX, x264 itself 0 to 51 (plus 6
// per bit above 8); others' tables are right.
std::pair<double, double> crf_range(const AVCodecContext& encoder) {
  const std::string_view name = encoder.codec->name;
  if (name == "libx264") {
    const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(encoder.pix_fmt);
    return {0, 51 + 6 * (d != nullptr ? std::max(0, d->comp[0].depth - 8) : 0)};
  }
  if (name == "libx265") {
    return {0, 51};
  }
  const AVOption* o = av_opt_find(encoder.priv_data, "crf", nullptr, 0, 0);
  return o == nullptr ? std::pair{0.0, 51.0}
                      : std::pair{std::max(0.0, o->min), std::min(o->max, 63.0)};
}

// Encoders whose default is a bit rate of 200 kb/s, whatever the size (blocks at 1080p): a fixed
// quantiser instead, as good as their formats get without being wasteful.
int fixed_quantiser(const AVCodec& codec) {
  switch (codec.id) {
    case AV_CODEC_ID_MJPEG:
      return 2;
    case AV_CODEC_ID_MPEG1VIDEO:
    case AV_CODEC_ID_MPEG2VIDEO:
    case AV_CODEC_ID_MPEG4:
    case AV_CODEC_ID_H263:
    case AV_CODEC_ID_H263P:
    case AV_CODEC_ID_MSMPEG4V2:
    case AV_CODEC_ID_MSMPEG4V3:
      return 3;
    default:
      return 0;
  }
}

// "crf 23", "4000 kb/s" or "" (lossless encoders, image formats), for the summary.
std::string quality_of(const AVCodecContext& encoder) {
  double crf = 0;
  if (av_opt_get_double(encoder.priv_data, "crf", 0, &crf) >= 0) {
    // x264 and x265 leave the option at -1 for their own defaults.
    const std::string_view name = encoder.codec->name;
    crf = crf >= 0 ? crf : name == "libx264" ? 23 : name == "libx265" ? 28 : -1;
  }
  if (crf >= 0) {
    char text[32];
    std::snprintf(text, sizeof text, "crf %g", crf);
    return text;
  }
  if ((encoder.flags & AV_CODEC_FLAG_QSCALE) != 0) {
    return "q " + std::to_string(encoder.global_quality / FF_QP2LAMBDA);
  }
  if (encoder.bit_rate > 0 && encoder.codec_id != AV_CODEC_ID_FFV1) {
    return std::to_string(encoder.bit_rate / 1000) + " kb/s";
  }
  return {};
}

void set_option(AVCodecContext& encoder, const char* key, const std::string& value) {
  const int r = av_opt_set(encoder.priv_data, key, value.c_str(), AV_OPT_SEARCH_CHILDREN);
  if (r < 0) {
    throw UsageError("encoder " + std::string(encoder.codec->name) + " does not take " + key + " " +
                     value + ": " + av::error_text(r));
  }
}

}  // namespace

void VideoWriter::State::discard() noexcept {
  converter.reset();
  encoder.reset();
  output.reset();
  if (!part.empty()) {
    ::unlink(part.c_str());
    part.clear();
  }
  for (const std::string& p : parts) {
    ::unlink(p.c_str());
  }
  parts.clear();
}

VideoWriter::VideoWriter(const VideoOutputOptions& options, const FrameFormat& format,
                         const VideoInfo& input)
    : state_(std::make_unique<State>()) {
  av::quiet_log();
  State& s = *state_;
  s.name = options.path;
  s.format = format;
  s.to_stdout = s.name == "-";
  if (s.name.empty() || (s.to_stdout && options.format.empty())) {
    throw UsageError(
        "a video output needs a file name, or a container that streams named with --format "
        "(matroska, nut, mpegts) for standard output");
  }
  s.sequence = !s.to_stdout && options.format.empty() && av::is_sequence(s.name);
  const AVOutputFormat* container =
      !options.format.empty() ? av_guess_format(options.format.c_str(), nullptr, nullptr)
      : s.sequence            ? av_guess_format("image2", nullptr, nullptr)
                              : av_guess_format(nullptr, s.name.c_str(), nullptr);
  if (container == nullptr && !options.format.empty()) {
    throw UsageError("unknown container format '" + options.format +
                     "' (try matroska, nut, mpegts, mp4)");
  }
  if (s.to_stdout && !streams_to_pipe(*container)) {
    throw UsageError(
        std::string("the ") + container->name +
        " container cannot be written to standard output (it goes back to finish the file, or "
        "writes one file per frame): use matroska, nut or mpegts");
  }
  if (container == nullptr) {
    throw UsageError("cannot tell the container of " + s.name +
                     " from its extension (try .mkv, .mp4, .mov, .webm, .avi, .nut, or a "
                     "pattern such as out/%04d.png)");
  }
  s.own = av::pix_fmt_of(format);
  const AVCodec* codec = pick_encoder(options, *container, s.sequence, s.own);
  if (avformat_query_codec(container, codec->id, FF_COMPLIANCE_NORMAL) == 0) {
    throw UsageError("the " + std::string(container->name) + " container of " + s.name +
                     " cannot hold " + avcodec_get_name(codec->id) + " video");
  }
  const int width = width_of(format);
  const int height = height_of(format);
  const AVPixelFormat pix_fmt = pick_pix_fmt(options, *codec, s.own);
  const std::string what = std::string(codec->name) + " " + av::name_of(pix_fmt);
  const std::string size = std::to_string(width) + "x" + std::to_string(height);
  const auto odd_error = [&] {
    return UsageError(s.name + ": " + codec->name + " cannot encode " + size + " frames as " +
                      av::name_of(pix_fmt) +
                      ": its chroma subsampling needs an even width and height (make the input "
                      "or the network's output even, or choose --pix-fmt yuv444p)");
  };
  if (odd_for(pix_fmt, width, height) && needs_even_size(codec->name)) {
    throw odd_error();
  }
  if (options.crf && !is_x26x(codec->name)) {
    throw UsageError("--crf works with libx264 and libx265, not " + std::string(codec->name));
  }
  if (!options.preset.empty() && !is_x26x(codec->name)) {
    throw UsageError("--preset works with libx264 and libx265, not " + std::string(codec->name));
  }

  // The encoder, before any file exists: it is what refuses bad settings.
  s.encoder.reset(avcodec_alloc_context3(codec));
  if (!s.encoder) {
    throw std::bad_alloc();
  }
  AVCodecContext& enc = *s.encoder;
  // A source without a rate (Y4M's F0:0) is taken as 25 fps, as FFmpeg takes it.
  const Rational rate =
      input.frame_rate.num > 0 && input.frame_rate.den > 0 ? input.frame_rate : Rational{25, 1};
  s.time_base = input.time_base.num > 0 && input.time_base.den > 0 ? av::to_av(input.time_base)
                                                                   : av_inv_q(av::to_av(rate));
  av_reduce(&s.time_base.num, &s.time_base.den, s.time_base.num, s.time_base.den, INT_MAX);
  AVRational encoder_tb = s.time_base;
  AVRational encoder_rate = av::to_av(rate);
  s.counts_frames = counts_frames(*codec);
  if (s.counts_frames) {
    encoder_rate = frame_rate_for(*codec, encoder_rate, s.name);
    encoder_tb = av_inv_q(encoder_rate);
  } else {
    AVRational frame{};
    av_reduce(&frame.num, &frame.den, rate.den, rate.num, INT_MAX);
    const std::int64_t d =
        std::int64_t{s.time_base.den} / std::gcd(s.time_base.den, frame.den) * frame.den;
    if (d <= 10'000'000) {
      encoder_tb = AVRational{1, static_cast<int>(d)};
      s.tick = s.time_base.num * (d / s.time_base.den);
      s.grid = frame.num * (d / frame.den);
    }
  }
  enc.width = width;
  enc.height = height;
  enc.pix_fmt = pix_fmt;
  enc.time_base = encoder_tb;
  enc.framerate = encoder_rate;
  enc.sample_aspect_ratio = input.sample_aspect.num > 0 && input.sample_aspect.den > 0
                                ? av::to_av(input.sample_aspect)
                                : AVRational{0, 1};
  enc.thread_count = 0;
  enc.color_primaries = static_cast<AVColorPrimaries>(input.color.primaries);
  enc.color_trc = static_cast<AVColorTransferCharacteristic>(input.color.transfer);
  enc.chroma_sample_location = static_cast<AVChromaLocation>(input.color.chroma_location);
  // Range and matrix say what the encoded samples are: the frames', or the conversion's.
  const auto* yuv = std::get_if<YuvDesc>(&format);
  const ColorMatrix matrix =
      yuv != nullptr ? yuv->matrix
                     : av::matrix_of(input.color.matrix, width, height, input.color.primaries);
  const bool frames_full = yuv != nullptr && yuv->range == ColorRange::full;
  if (av::is_rgb(pix_fmt)) {
    enc.colorspace = AVCOL_SPC_RGB;
    enc.color_range = AVCOL_RANGE_JPEG;
  } else {
    const bool keep = yuv != nullptr && (input.color.matrix == AVCOL_SPC_UNSPECIFIED ||
                                         family_of(input.color.matrix) == matrix);
    enc.colorspace =
        static_cast<AVColorSpace>(keep ? input.color.matrix : av::colorspace_tag_of(matrix));
    const bool full = is_full(pix_fmt) || (yuv != nullptr && frames_full);
    enc.color_range = full ? AVCOL_RANGE_JPEG
                      : (yuv != nullptr && input.color.range == AVCOL_RANGE_UNSPECIFIED)
                          ? AVCOL_RANGE_UNSPECIFIED
                          : AVCOL_RANGE_MPEG;
  }
  if ((container->flags & AVFMT_GLOBALHEADER) != 0) {
    enc.flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  }
  if (options.crf) {
    const auto [low, high] = crf_range(enc);
    if (*options.crf < low || *options.crf > high) {
      throw UsageError("--crf " + std::to_string(*options.crf) + " is outside " + codec->name +
                       "'s range " + std::to_string(static_cast<int>(low)) + " to " +
                       std::to_string(static_cast<int>(high)));
    }
    set_option(enc, "crf", std::to_string(*options.crf));
  }
  if (!options.preset.empty()) {
    set_option(enc, "preset", options.preset);
  }
  if (const int q = fixed_quantiser(*codec); q > 0) {
    enc.flags |= AV_CODEC_FLAG_QSCALE;
    enc.global_quality = FF_QP2LAMBDA * q;
  }
  if (std::string_view(codec->name) == "libx265") {
    set_option(enc, "x265-params", "log-level=error");
  }
  const int opened = avcodec_open2(&enc, codec, nullptr);
  if (opened < 0) {
    if (odd_for(pix_fmt, width, height)) {
      throw odd_error();
    }
    if (std::string_view(codec->name).ends_with("_nvenc")) {
      // FFmpeg's own account is several log lines (off unless --verbose); this is the one that
      // matters: no NVENC on this GPU (the H200 has none), no GPU, or the driver's session limit.
      throw UsageError(s.name + ": cannot open encoder " + codec->name +
                       ": this GPU has no video encoder (NVENC), or the driver refused the "
                       "session (" + av::error_text(opened) + "); use libx264, libx265 or ffv1");
    }
    throw UsageError(s.name + ": cannot open encoder " + what + " for " + size +
                     " frames: " + av::error_text(opened));
  }
  if (pix_fmt != s.own) {
    const bool to_full = av::is_rgb(pix_fmt) || enc.color_range == AVCOL_RANGE_JPEG;
    s.converter = av::make_converter(width, height, s.own, pix_fmt, matrix,
                                     yuv == nullptr || frames_full, to_full);
  }
  s.frame->format = pix_fmt;
  s.frame->width = width;
  s.frame->height = height;
  if (const int r = av_frame_get_buffer(s.frame.get(), 0); r < 0) {
    throw Error("cannot allocate a frame: " + av::error_text(r));
  }

  // A file's muxer is told the name of the file it writes (the .part): mp4's faststart reads it
  // back.
  const bool one_file = (container->flags & AVFMT_NOFILE) == 0;
  const std::string part = s.to_stdout ? std::string("pipe:1") : s.name + ".part";
  AVFormatContext* raw = nullptr;
  if (const int r = avformat_alloc_output_context2(&raw, container, nullptr,
                                                   (one_file ? part : s.name).c_str());
      r < 0) {
    throw Error("cannot set up " + s.name + ": " + av::error_text(r));
  }
  s.output.reset(raw);
  AVFormatContext& out = *s.output;
  s.video = avformat_new_stream(&out, nullptr);
  if (s.video == nullptr) {
    throw std::bad_alloc();
  }
  avcodec_parameters_from_context(s.video->codecpar, &enc);
  s.video->time_base = enc.time_base;
  s.video->avg_frame_rate = enc.framerate;
  s.video->r_frame_rate = enc.framerate;
  s.video->sample_aspect_ratio = enc.sample_aspect_ratio;
  if (input.display_matrix) {
    // The input's rotation (and flip), for the containers that store it (MP4, MOV).
    auto* side = reinterpret_cast<std::int32_t*>(
        av_stream_new_side_data(s.video, AV_PKT_DATA_DISPLAYMATRIX, sizeof(*input.display_matrix)));
    if (side == nullptr) {
      throw std::bad_alloc();
    }
    std::copy(input.display_matrix->begin(), input.display_matrix->end(), side);
    // The muxers of the MP4/MOV family write it into the track header; FFmpeg 5.1's others drop it.
    constexpr std::array<std::string_view, 8> kKeepRotation{"mov", "mp4",  "3gp",  "3g2",
                                                            "psp", "ipod", "ismv", "f4v"};
    if (std::ranges::find(kKeepRotation, std::string_view(container->name)) ==
        kKeepRotation.end()) {
      std::cerr << "warning: " << s.name << ": the " << container->name
                << " container does not keep the input's rotation ("
                << av_display_rotation_get(input.display_matrix->data())
                << " degrees): players will show the frames as they are coded\n";
    }
  }

  const bool stdin_source = options.copy_from.path == "-";
  const AVCodec* asked_audio = nullptr;
  if (!options.audio_codec.empty() && options.audio_codec != "copy") {
    asked_audio = avcodec_find_encoder_by_name(options.audio_codec.c_str());
    if (asked_audio == nullptr || asked_audio->type != AVMEDIA_TYPE_AUDIO) {
      throw UsageError("unknown audio encoder '" + options.audio_codec +
                       "' (try aac, libopus, flac, ac3 or copy)");
    }
    if (avformat_query_codec(container, asked_audio->id, FF_COMPLIANCE_NORMAL) == 0) {
      throw UsageError("the " + std::string(container->name) + " container of " + s.name +
                       " cannot hold " + asked_audio->name + " audio");
    }
  }
  // Metadata, chapters, attachments and timecode go into containers, not images.
  const bool carries_extras = !s.sequence && std::string_view(container->name) != "image2";
  if (!options.copy_from.path.empty() && !stdin_source &&
      (options.copy_streams || carries_extras)) {
    // Without -ss everything before the first frame too (AAC's priming has negative times).
    const double start = av::window_of(options.copy_from).start;
    s.copy_start = start > 0 ? start : -std::numeric_limits<double>::infinity();
    s.source = av::open_input(options.copy_from.path);
    s.source.log.reset();  // the reader reports the input's damage
    AVFormatContext& src = *s.source.context;
    s.map.assign(src.nb_streams, -1);
    s.conversions.resize(src.nb_streams);
    const std::vector<bool> kept = select_streams(src, options.maps, options.copy_from.path);
    for (unsigned i = 0; i < src.nb_streams; ++i) {
      AVStream& in = *src.streams[i];
      const AVMediaType type = in.codecpar->codec_type;
      if (type == AVMEDIA_TYPE_ATTACHMENT) {
        in.discard = AVDISCARD_ALL;
        if (!carries_extras) {
          continue;
        }
        const AVDictionaryEntry* file = av_dict_get(in.metadata, "filename", nullptr, 0);
        const std::string file_name = file != nullptr ? file->value : "unnamed";
        if (!holds_attachments(container->name)) {
          std::cerr << "warning: " << s.name << ": the " << container->name
                    << " container cannot hold attachments; " << file_name << " not copied\n";
          continue;
        }
        AVStream* copy = avformat_new_stream(&out, nullptr);
        if (copy == nullptr || avcodec_parameters_copy(copy->codecpar, in.codecpar) < 0) {
          throw std::bad_alloc();
        }
        av_dict_copy(&copy->metadata, in.metadata, 0);
        continue;
      }
      if ((type != AVMEDIA_TYPE_AUDIO && type != AVMEDIA_TYPE_SUBTITLE) || !kept[i] ||
          !options.copy_streams) {
        in.discard = AVDISCARD_ALL;
        continue;
      }
      const char* kind = type == AVMEDIA_TYPE_AUDIO ? "audio" : "subtitle";
      const bool holds = !s.sequence && muxer_takes(*container, in);
      // The encoder for an audio stream not copied: the one asked for, else the container's own.
      const AVCodec* convert_to = nullptr;
      if (type == AVMEDIA_TYPE_AUDIO && (asked_audio != nullptr || !holds) && !s.sequence &&
          container->audio_codec != AV_CODEC_ID_NONE) {
        convert_to =
            asked_audio != nullptr ? asked_audio : avcodec_find_encoder(container->audio_codec);
      }
      if (!holds && convert_to == nullptr) {
        std::cerr << "warning: " << s.name << ": the " << container->name
                  << " container cannot hold " << kind << " stream " << i << " ("
                  << avcodec_get_name(in.codecpar->codec_id) << "); not copied\n";
        in.discard = AVDISCARD_ALL;
        continue;
      }
      AVStream* copy = avformat_new_stream(&out, nullptr);
      if (copy == nullptr) {
        throw std::bad_alloc();
      }
      if (convert_to != nullptr) {
        s.conversions[i] =
            make_conversion(in, *convert_to, options.audio_bitrate, *container, *copy);
        if (asked_audio == nullptr) {
          std::cerr << "warning: " << s.name << ": the " << container->name
                    << " container cannot hold audio stream " << i << " ("
                    << avcodec_get_name(in.codecpar->codec_id) << "); converted to "
                    << convert_to->name << "\n";
        }
      } else {
        avcodec_parameters_copy(copy->codecpar, in.codecpar);
        copy->codecpar->codec_tag = 0;
        copy->time_base = in.time_base;
      }
      copy->disposition = in.disposition;
      av_dict_copy(&copy->metadata, in.metadata, 0);
      s.map[i] = copy->index;
    }
    if (carries_extras) {
      carry_container_data(s.name, src, out, av::window_of(options.copy_from));
      // The timecode of the first video stream that has one (MOV's demuxer gives its tmcd
      // track's there too; Matroska's TIMECODE tag is the stream's).
      for (unsigned i = 0; i < src.nb_streams; ++i) {
        const AVStream& in = *src.streams[i];
        const AVDictionaryEntry* tc = av_dict_get(in.metadata, "timecode", nullptr, 0);
        if (tc != nullptr && in.codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
            (in.disposition & AV_DISPOSITION_ATTACHED_PIC) == 0) {
          av_dict_set(&s.video->metadata, "timecode", tc->value, 0);
          break;
        }
      }
    }
    s.source_done = std::ranges::all_of(s.map, [](int m) { return m < 0; });
    if (!s.source_done && start > 0 && s.source.seekable) {
      av::seek_to(src, start);
    }
  } else if (options.copy_streams && stdin_source) {
    std::cerr << "warning: " << s.name
              << ": audio and subtitles are not copied from standard input\n";
  }

  struct stat st {};
  if (!s.to_stdout && ::stat(s.name.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw UsageError("cannot write " + s.name + ": " + av::error_text(AVERROR(EISDIR)));
  }
  if (one_file) {
    if (const int r = avio_open(&out.pb, part.c_str(), AVIO_FLAG_WRITE); r < 0) {
      throw UsageError("cannot create " + part + ": " + av::error_text(r));
    }
    if (!s.to_stdout) {
      s.part = part;
    }
  } else {
    out.opaque = &s;
    out.io_open = open_part;
  }
  AVDictionary* muxer_options = nullptr;
  const std::string_view container_name = container->name;
  if (container_name == "mp4" || container_name == "mov") {
    // The index at the front, so that players start before the whole file has arrived.
    av_dict_set(&muxer_options, "movflags", "+faststart", 0);
  }
  if (!s.sequence && container_name == "image2") {
    // One file, not a pattern: each frame replaces the one before; close() says so.
    av_dict_set(&muxer_options, "update", "1", 0);
  }
  try {
    const int r = avformat_write_header(&out, &muxer_options);
    av_dict_free(&muxer_options);
    if (r < 0) {
      throw Error("cannot write " + s.name + ": " + av::error_text(r));
    }
  } catch (...) {
    s.discard();
    throw;
  }
  s.single_image = !s.sequence && container_name == "image2";
  description_ = what;
  if (const std::string quality = quality_of(enc); !quality.empty()) {
    description_ += " " + quality;
  }
}

VideoWriter::~VideoWriter() {
  if (!state_->closed) {
    state_->discard();
  }
}

void VideoWriter::write_frame(std::span<const std::byte> frame, const FrameTime& time) {
  State& s = *state_;
  if (s.closed) {
    throw UsageError(s.name + ": frame written after close()");
  }
  const std::size_t bytes = bytes_of(s.format);
  if (frame.size() != bytes) {
    throw UsageError(s.name + ": a frame must be " + std::to_string(bytes) + " bytes, not " +
                     std::to_string(frame.size()));
  }
  if (s.failed) {
    throw Error("cannot write " + s.name + ": an earlier write failed");
  }
  if (!s.started) {
    s.started = true;
    s.offset = time.pts;
  }
  const std::int64_t pts =
      s.counts_frames ? av_rescale_q(time.pts - s.offset, s.time_base, s.encoder->time_base)
                      : s.snap((time.pts - s.offset) * s.tick);
  if (pts <= s.last_pts) {
    throw UsageError(s.name + ": frame " + std::to_string(frames_written_) + " has time " +
                     std::to_string(time.pts) + ", not after the frame before it");
  }
  AVFrame& f = *s.frame;
  if (const int r = av_frame_make_writable(&f); r < 0) {
    throw Error("cannot allocate a frame: " + av::error_text(r));
  }
  // The planes are only read; libav* takes non-const pointers.
  const av::Planes in = av::planes_of(s.format, const_cast<std::byte*>(frame.data()));
  if (s.converter) {
    sws_scale(s.converter.get(), in.data.data(), in.linesize.data(), 0, height_of(s.format), f.data,
              f.linesize);
  } else {
    for (int p = 0; p < in.count; ++p) {
      av_image_copy_plane(f.data[p], f.linesize[p], in.data[p], in.linesize[p], in.linesize[p],
                          in.rows[p]);
    }
  }
  f.pts = pts;
  f.pkt_duration = s.counts_frames
                       ? std::max<std::int64_t>(
                             1, av_rescale_q(time.duration, s.time_base, s.encoder->time_base))
                       : s.snap(time.duration * s.tick);
  s.last_pts = pts;
  s.last_end = std::max(s.last_end, time.pts + time.duration);
  try {
    if (!s.source_done) {
      const AVRational tb = s.time_base;
      copy_until(s, static_cast<double>(time.pts) * av_q2d(tb) -
                        (s.source.context->start_time == AV_NOPTS_VALUE
                             ? 0.0
                             : static_cast<double>(s.source.context->start_time) / AV_TIME_BASE));
    }
    encode(s, &f);
  } catch (...) {
    s.failed = true;
    throw;
  }
  ++frames_written_;
}

void VideoWriter::close() {
  State& s = *state_;
  if (s.closed) {
    return;
  }
  try {
    if (s.failed) {
      throw Error("cannot finish " + s.name + ": an earlier write failed");
    }
    if (!s.started) {
      throw Error(s.name + ": no frames to write; nothing written");
    }
    encode(s, nullptr);
    if (!s.source_done && s.started) {
      copy_until(s, static_cast<double>(s.last_end) * av_q2d(s.time_base) -
                        (s.source.context->start_time == AV_NOPTS_VALUE
                             ? 0.0
                             : static_cast<double>(s.source.context->start_time) / AV_TIME_BASE));
    }
    for (std::size_t i = 0; i < s.conversions.size(); ++i) {
      if (AudioConversion* a = s.conversions[i].get();
          a != nullptr && a->next_pts != AV_NOPTS_VALUE) {
        convert_audio(s, *a, nullptr, s.map[i]);
        encode_audio(s, *a, s.map[i], true);
      }
    }
    if (const int r = av_write_trailer(s.output.get()); r < 0) {
      throw Error("cannot finish " + s.name + ": " + av::error_text(r));
    }
    if (s.to_stdout) {
      avio_flush(s.output->pb);
      if (s.output->pb->error < 0) {
        throw Error("cannot write standard output: " + av::error_text(s.output->pb->error));
      }
    }
    if (!s.part.empty()) {
      if (const int r = avio_closep(&s.output->pb); r < 0) {
        throw Error("cannot write " + s.name + ": " + av::error_text(r));
      }
      if (std::rename(s.part.c_str(), s.name.c_str()) != 0) {
        throw Error("cannot rename " + s.part + " to " + s.name + ": " +
                    av::error_text(AVERROR(errno)));
      }
      s.part.clear();
    }
    for (std::size_t i = 0; i < s.parts.size(); ++i) {
      const std::string& part = s.parts[i];
      const std::string final_name = part.substr(0, part.size() - 5);
      if (std::rename(part.c_str(), final_name.c_str()) != 0) {
        const int error = errno;
        s.parts.erase(s.parts.begin(), s.parts.begin() + static_cast<std::ptrdiff_t>(i));
        throw Error("cannot rename " + part + " to " + final_name + ": " +
                    av::error_text(AVERROR(error)));
      }
    }
    s.parts.clear();
    if (s.single_image && frames_written_ > 1) {
      std::cerr << "warning: " << s.name << " holds one image: the last of " << frames_written_
                << " frames (a pattern such as out/%04d"
                << std::string_view(s.name).substr(s.name.rfind('.')) << " keeps them all)\n";
    }
    s.closed = true;
    s.output.reset();
    s.encoder.reset();
  } catch (...) {
    s.closed = true;
    s.discard();
    throw;
  }
}

}  // namespace pyn
