#include "io/av_clip.hpp"

extern "C" {
#include <libavutil/avstring.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
}

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <stdexcept>

namespace pyn::test {

namespace {

void check(int r, const std::string& what) {
  if (r < 0) {
    std::array<char, AV_ERROR_MAX_STRING_SIZE> text{};
    av_strerror(r, text.data(), text.size());
    throw std::runtime_error("make_clip: " + what + ": " + text.data());
  }
}

struct Encoder {
  AVCodecContext* ctx = nullptr;
  AVStream* stream = nullptr;
  ~Encoder() { avcodec_free_context(&ctx); }
};

void drain(AVFormatContext* out, Encoder& e, const AVFrame* frame) {
  check(avcodec_send_frame(e.ctx, frame), "send frame");
  AVPacket* p = av_packet_alloc();
  for (;;) {
    const int r = avcodec_receive_packet(e.ctx, p);
    if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) {
      break;
    }
    check(r, "receive packet");
    av_packet_rescale_ts(p, e.ctx->time_base, e.stream->time_base);
    p->stream_index = e.stream->index;
    check(av_interleaved_write_frame(out, p), "write packet");
  }
  av_packet_free(&p);
}

void fill_video(AVFrame* f, int index) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(f->format));
  const int depth = d->comp[0].depth;
  const int scale = depth > 8 ? 1 << (depth - 8) : 1;
  const bool deep = depth > 8;
  const auto put = [&](int plane, int x, int y, int value) {
    std::uint8_t* row = f->data[plane] + static_cast<std::ptrdiff_t>(y) * f->linesize[plane];
    if (deep) {
      reinterpret_cast<std::uint16_t*>(row)[x] = static_cast<std::uint16_t>(value);
    } else {
      row[x] = static_cast<std::uint8_t>(value);
    }
  };
  if ((d->flags & AV_PIX_FMT_FLAG_RGB) != 0) {
    // rgb24 or rgb48 (host order): R = stamp, G and B textures.
    const int s = deep ? 257 : 1;
    for (int y = 0; y < f->height; ++y) {
      std::uint8_t* row = f->data[0] + static_cast<std::ptrdiff_t>(y) * f->linesize[0];
      for (int x = 0; x < f->width; ++x) {
        const std::array<int, 3> rgb{stamp_level(index) * s, ((x * 5 + y) % 256) * s,
                                     ((y * 7 + x * 3 + index) % 256) * s};
        for (int c = 0; c < 3; ++c) {
          if (deep) {
            reinterpret_cast<std::uint16_t*>(row)[x * 3 + c] = static_cast<std::uint16_t>(rgb[c]);
          } else {
            row[x * 3 + c] = static_cast<std::uint8_t>(rgb[c]);
          }
        }
      }
    }
    return;
  }
  for (int y = 0; y < f->height; ++y) {
    for (int x = 0; x < f->width; ++x) {
      put(0, x, y, (stamp_level(index) + (x + 2 * y) % 8) * scale);
    }
  }
  if (d->nb_components < 3) {
    return;  // grey
  }
  const int cw = AV_CEIL_RSHIFT(f->width, d->log2_chroma_w);
  const int ch = AV_CEIL_RSHIFT(f->height, d->log2_chroma_h);
  for (int y = 0; y < ch; ++y) {
    for (int x = 0; x < cw; ++x) {
      put(1, x, y, (120 + (x * 3 + y + index) % 16) * scale + (deep ? (x + y) % 4 : 0));
      put(2, x, y, (136 - (x + y * 5 + index) % 16) * scale);
    }
  }
}

void fill_audio(AVFrame* f, std::int64_t first_sample, int sample_rate) {
  const auto format = static_cast<AVSampleFormat>(f->format);
  for (int i = 0; i < f->nb_samples; ++i) {
    const double v =
        0.5 * std::sin(2 * M_PI * 440.0 * static_cast<double>(first_sample + i) / sample_rate);
    switch (format) {
      case AV_SAMPLE_FMT_S16:
      case AV_SAMPLE_FMT_S16P:
        reinterpret_cast<std::int16_t*>(f->data[0])[i] = static_cast<std::int16_t>(v * 32767);
        break;
      case AV_SAMPLE_FMT_S32:
      case AV_SAMPLE_FMT_S32P:
        reinterpret_cast<std::int32_t*>(f->data[0])[i] = static_cast<std::int32_t>(v * 2.1e9);
        break;
      case AV_SAMPLE_FMT_FLT:
      case AV_SAMPLE_FMT_FLTP:
        reinterpret_cast<float*>(f->data[0])[i] = static_cast<float>(v);
        break;
      default:
        throw std::runtime_error("make_clip: unexpected sample format");
    }
  }
}

}  // namespace

int stamp_level(int index) noexcept { return 16 + 8 * index; }

void make_clip(const ClipSpec& spec) {
  av_log_set_level(AV_LOG_ERROR);
  AVFormatContext* out = nullptr;
  check(avformat_alloc_output_context2(&out, nullptr, nullptr, spec.path.c_str()), "container");
  std::unique_ptr<AVFormatContext, void (*)(AVFormatContext*)> owner(out, [](AVFormatContext* c) {
    if ((c->oformat->flags & AVFMT_NOFILE) == 0) {
      avio_closep(&c->pb);
    }
    avformat_free_context(c);
  });

  Encoder video;
  const AVCodec* vcodec = avcodec_find_encoder_by_name(spec.video_encoder.c_str());
  if (vcodec == nullptr) {
    throw std::runtime_error("make_clip: no encoder " + spec.video_encoder);
  }
  video.ctx = avcodec_alloc_context3(vcodec);
  video.ctx->width = spec.width;
  video.ctx->height = spec.height;
  video.ctx->pix_fmt = spec.pix_fmt;
  video.ctx->time_base = av_inv_q(spec.rate);
  video.ctx->framerate = spec.rate;
  video.ctx->sample_aspect_ratio = spec.sar;
  video.ctx->color_primaries = spec.primaries;
  video.ctx->color_trc = spec.transfer;
  video.ctx->colorspace = spec.matrix;
  video.ctx->color_range = spec.range;
  video.ctx->chroma_sample_location = spec.chroma_location;
  video.ctx->thread_count = 1;
  video.ctx->gop_size = 5;
  if ((out->oformat->flags & AVFMT_GLOBALHEADER) != 0) {
    video.ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  }
  if (spec.video_encoder == "ffv1") {
    // Version 3 with slice CRCs: damage is detectable.
    av_opt_set_int(video.ctx, "level", 3, 0);
    av_opt_set_int(video.ctx->priv_data, "slicecrc", 1, 0);
  }
  if (spec.video_encoder == "libx265") {
    av_opt_set(video.ctx->priv_data, "x265-params", "log-level=error", 0);
  }
  check(avcodec_open2(video.ctx, vcodec, nullptr), "open " + spec.video_encoder);
  video.stream = avformat_new_stream(out, nullptr);
  avcodec_parameters_from_context(video.stream->codecpar, video.ctx);
  video.stream->time_base = video.ctx->time_base;
  video.stream->avg_frame_rate = spec.rate;
  video.stream->sample_aspect_ratio = spec.sar;
  if (spec.rotation != 0) {
    auto* matrix = reinterpret_cast<std::int32_t*>(
        av_stream_new_side_data(video.stream, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(std::int32_t)));
    if (matrix == nullptr) {
      throw std::runtime_error("make_clip: no memory for the display matrix");
    }
    av_display_rotation_set(matrix, spec.rotation);
  }

  Encoder audio;
  if (!spec.audio_encoder.empty()) {
    const AVCodec* acodec = avcodec_find_encoder_by_name(spec.audio_encoder.c_str());
    if (acodec == nullptr) {
      throw std::runtime_error("make_clip: no encoder " + spec.audio_encoder);
    }
    audio.ctx = avcodec_alloc_context3(acodec);
    audio.ctx->sample_rate = spec.sample_rate;
    audio.ctx->sample_fmt = acodec->sample_fmts[0];
    av_channel_layout_default(&audio.ctx->ch_layout, 1);
    audio.ctx->time_base = AVRational{1, spec.sample_rate};
    audio.ctx->bit_rate = 64000;
    if ((out->oformat->flags & AVFMT_GLOBALHEADER) != 0) {
      audio.ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    }
    check(avcodec_open2(audio.ctx, acodec, nullptr), "open " + spec.audio_encoder);
    audio.stream = avformat_new_stream(out, nullptr);
    avcodec_parameters_from_context(audio.stream->codecpar, audio.ctx);
    audio.stream->time_base = audio.ctx->time_base;
  }

  std::vector<AVStream*> subtitle_streams;
  for (int k = 0; !spec.subtitles.empty() && k < spec.subtitle_streams; ++k) {
    // SubRip packets are the text itself: no encoder needed.
    AVStream* subtitles = avformat_new_stream(out, nullptr);
    subtitles->codecpar->codec_type = AVMEDIA_TYPE_SUBTITLE;
    subtitles->codecpar->codec_id = AV_CODEC_ID_SUBRIP;
    subtitles->time_base = AVRational{1, 1000};
    subtitle_streams.push_back(subtitles);
  }

  for (const auto& [key, value] : spec.metadata) {
    av_dict_set(&out->metadata, key.c_str(), value.c_str(), 0);
  }
  if (!spec.timecode.empty()) {
    av_dict_set(&video.stream->metadata, "timecode", spec.timecode.c_str(), 0);
  }
  if (!spec.chapters.empty()) {
    out->chapters = static_cast<AVChapter**>(av_calloc(spec.chapters.size(), sizeof(AVChapter*)));
    for (const ClipSpec::Chapter& c : spec.chapters) {
      auto* chapter = static_cast<AVChapter*>(av_mallocz(sizeof(AVChapter)));
      chapter->id = out->nb_chapters + 1;
      chapter->time_base = AVRational{1, 1000};
      chapter->start = std::llround(c.start_s * 1000);
      chapter->end = std::llround(c.end_s * 1000);
      av_dict_set(&chapter->metadata, "title", c.title.c_str(), 0);
      out->chapters[out->nb_chapters++] = chapter;
    }
  }
  for (const ClipSpec::Attachment& a : spec.attachments) {
    AVStream* st = avformat_new_stream(out, nullptr);
    st->codecpar->codec_type = AVMEDIA_TYPE_ATTACHMENT;
    st->codecpar->codec_id = AV_CODEC_ID_TTF;
    st->codecpar->extradata =
        static_cast<std::uint8_t*>(av_mallocz(a.bytes.size() + AV_INPUT_BUFFER_PADDING_SIZE));
    std::copy(a.bytes.begin(), a.bytes.end(), st->codecpar->extradata);
    st->codecpar->extradata_size = static_cast<int>(a.bytes.size());
    av_dict_set(&st->metadata, "filename", a.filename.c_str(), 0);
    av_dict_set(&st->metadata, "mimetype", a.mimetype.c_str(), 0);
  }
  if ((out->oformat->flags & AVFMT_NOFILE) == 0) {
    check(avio_open(&out->pb, spec.path.c_str(), AVIO_FLAG_WRITE), "create " + spec.path);
  }
  check(avformat_write_header(out, nullptr), "write header");

  AVFrame* vf = av_frame_alloc();
  vf->format = spec.pix_fmt;
  vf->width = spec.width;
  vf->height = spec.height;
  check(av_frame_get_buffer(vf, 0), "frame");
  AVFrame* af = av_frame_alloc();
  std::int64_t samples = 0;
  const std::int64_t total_samples =
      av_rescale_q(spec.frames, av_inv_q(spec.rate), AVRational{1, spec.sample_rate});
  for (int i = 0; i < spec.frames; ++i) {
    check(av_frame_make_writable(vf), "frame");
    fill_video(vf, i);
    vf->pts = spec.pts.empty() ? i : spec.pts.at(static_cast<std::size_t>(i));
    drain(out, video, vf);
    const std::int64_t until =
        av_rescale_q(i + 1, av_inv_q(spec.rate), AVRational{1, spec.sample_rate});
    while (audio.ctx != nullptr && samples < until) {
      const int frame_size = audio.ctx->frame_size > 0 ? audio.ctx->frame_size : 1024;
      av_frame_unref(af);
      af->format = audio.ctx->sample_fmt;
      af->sample_rate = spec.sample_rate;
      av_channel_layout_copy(&af->ch_layout, &audio.ctx->ch_layout);
      af->nb_samples =
          static_cast<int>(std::min<std::int64_t>(frame_size, total_samples - samples));
      if (af->nb_samples <= 0) {
        break;
      }
      if (af->nb_samples < frame_size &&
          (audio.ctx->codec->capabilities & AV_CODEC_CAP_SMALL_LAST_FRAME) == 0 &&
          (audio.ctx->codec->capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE) == 0) {
        af->nb_samples = frame_size;
      }
      check(av_frame_get_buffer(af, 0), "audio frame");
      fill_audio(af, samples, spec.sample_rate);
      af->pts = samples;
      samples += af->nb_samples;
      drain(out, audio, af);
    }
  }
  for (std::size_t k = 0; k < subtitle_streams.size(); ++k) {
    AVStream* subtitles = subtitle_streams[k];
    for (std::size_t i = 0; i < spec.subtitles.size(); ++i) {
      const std::string text = "line " + std::to_string(i);
      AVPacket* p = av_packet_alloc();
      check(av_new_packet(p, static_cast<int>(text.size())), "subtitle packet");
      std::copy(text.begin(), text.end(), p->data);
      p->pts = p->dts = std::llround(spec.subtitles[i] * 1000) + 20 * static_cast<std::int64_t>(k);
      p->duration = 100;
      p->stream_index = subtitles->index;
      av_packet_rescale_ts(p, AVRational{1, 1000}, subtitles->time_base);
      check(av_interleaved_write_frame(out, p), "write subtitle");
      av_packet_free(&p);
    }
  }
  drain(out, video, nullptr);
  if (audio.ctx != nullptr) {
    drain(out, audio, nullptr);
  }
  av_frame_free(&vf);
  av_frame_free(&af);
  check(av_write_trailer(out), "trailer");
}

const StreamProbe* find(const std::vector<StreamProbe>& streams, AVMediaType type) {
  for (const StreamProbe& s : streams) {
    if (s.type == type) {
      return &s;
    }
  }
  return nullptr;
}

ContainerProbe probe_container(const std::string& path) {
  AVFormatContext* in = nullptr;
  check(avformat_open_input(&in, path.c_str(), nullptr, nullptr), "open " + path);
  std::unique_ptr<AVFormatContext, void (*)(AVFormatContext*)> owner(
      in, [](AVFormatContext* c) { avformat_close_input(&c); });
  check(avformat_find_stream_info(in, nullptr), "streams of " + path);
  ContainerProbe p;
  const AVDictionaryEntry* e = nullptr;
  while ((e = av_dict_get(in->metadata, "", e, AV_DICT_IGNORE_SUFFIX)) != nullptr) {
    p.metadata.emplace_back(e->key, e->value);
  }
  if (const AVDictionaryEntry* tc = av_dict_get(in->metadata, "timecode", nullptr, 0)) {
    p.timecode = tc->value;
  }
  for (unsigned i = 0; i < in->nb_chapters; ++i) {
    const AVChapter& c = *in->chapters[i];
    const AVDictionaryEntry* title = av_dict_get(c.metadata, "title", nullptr, 0);
    p.chapters.push_back({static_cast<double>(c.start) * av_q2d(c.time_base),
                          static_cast<double>(c.end) * av_q2d(c.time_base),
                          title != nullptr ? title->value : ""});
  }
  for (unsigned i = 0; i < in->nb_streams; ++i) {
    const AVStream& st = *in->streams[i];
    if (const AVDictionaryEntry* tc = av_dict_get(st.metadata, "timecode", nullptr, 0)) {
      p.timecode = tc->value;
    }
    if (st.codecpar->codec_type == AVMEDIA_TYPE_ATTACHMENT) {
      const AVDictionaryEntry* name = av_dict_get(st.metadata, "filename", nullptr, 0);
      const AVDictionaryEntry* type = av_dict_get(st.metadata, "mimetype", nullptr, 0);
      p.attachments.push_back(
          {name != nullptr ? name->value : "", type != nullptr ? type->value : "",
           std::string(reinterpret_cast<const char*>(st.codecpar->extradata),
                       static_cast<std::size_t>(std::max(st.codecpar->extradata_size, 0)))});
    }
  }
  return p;
}

std::string metadata_of(const ContainerProbe& probe, const std::string& key) {
  for (const auto& [k, v] : probe.metadata) {
    if (av_strcasecmp(k.c_str(), key.c_str()) == 0) {
      return v;
    }
  }
  return "";
}

std::vector<StreamProbe> probe(const std::string& path) {
  AVFormatContext* in = nullptr;
  check(avformat_open_input(&in, path.c_str(), nullptr, nullptr), "open " + path);
  std::unique_ptr<AVFormatContext, void (*)(AVFormatContext*)> owner(
      in, [](AVFormatContext* c) { avformat_close_input(&c); });
  check(avformat_find_stream_info(in, nullptr), "streams of " + path);
  std::vector<StreamProbe> streams(in->nb_streams);
  for (unsigned i = 0; i < in->nb_streams; ++i) {
    const AVStream& st = *in->streams[i];
    const AVCodecParameters& par = *st.codecpar;
    StreamProbe& p = streams[i];
    p.type = par.codec_type;
    p.codec = avcodec_get_name(par.codec_id);
    p.width = par.width;
    p.height = par.height;
    p.pix_fmt = static_cast<AVPixelFormat>(par.format);
    p.time_base = st.time_base;
    p.avg_frame_rate = st.avg_frame_rate;
    p.sar = av_guess_sample_aspect_ratio(in, in->streams[i], nullptr);
    p.primaries = par.color_primaries;
    p.transfer = par.color_trc;
    p.matrix = par.color_space;
    p.range = par.color_range;
    p.chroma_location = par.chroma_location;
    std::size_t size = 0;
    if (const std::uint8_t* side = av_stream_get_side_data(&st, AV_PKT_DATA_DISPLAYMATRIX, &size);
        side != nullptr && size >= 9 * sizeof(std::int32_t)) {
      p.has_display_matrix = true;
      p.rotation = av_display_rotation_get(reinterpret_cast<const std::int32_t*>(side));
    }
    p.first_s = 1e30;
    p.end_s = -1e30;
  }
  AVPacket* packet = av_packet_alloc();
  while (av_read_frame(in, packet) >= 0) {
    StreamProbe& p = streams[static_cast<std::size_t>(packet->stream_index)];
    const double tb = av_q2d(in->streams[packet->stream_index]->time_base);
    const std::int64_t ts = packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
    ++p.packets;
    p.pts.push_back(ts);
    p.first_s = std::min(p.first_s, static_cast<double>(ts) * tb);
    p.end_s = std::max(p.end_s, static_cast<double>(ts + packet->duration) * tb);
    av_packet_unref(packet);
  }
  av_packet_free(&packet);
  for (StreamProbe& p : streams) {
    std::sort(p.pts.begin(), p.pts.end());
  }
  return streams;
}

}  // namespace pyn::test
