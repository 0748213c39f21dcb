// Key frames listed from the packets, segments planned at them, and segments joined packet by
// packet with the input's audio and subtitles (include/pynference/io/segments.hpp).

#include "pynference/io/segments.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "av.hpp"
#include "pynference/core/error.hpp"

namespace pyn {

namespace {

double origin_of(const AVFormatContext& context) {
  return context.start_time == AV_NOPTS_VALUE
             ? 0.0
             : static_cast<double>(context.start_time) / AV_TIME_BASE;
}

int video_stream_of(const av::OpenedInput& in) {
  const int index = av_find_best_stream(in.context.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (index < 0) {
    throw UsageError(in.name + " has no video stream");
  }
  return index;
}

// Packets of one stream, in the order the file holds them; the others skipped.
bool read_packet_of(av::OpenedInput& in, int stream, AVPacket& packet) {
  for (;;) {
    av_packet_unref(&packet);
    const int r = av_read_frame(in.context.get(), &packet);
    if (r == AVERROR_EOF) {
      return false;
    }
    if (r < 0) {
      throw Error(in.name + ": cannot read a packet: " + av::error_text(r));
    }
    if (packet.stream_index == stream) {
      return true;
    }
  }
}

// The output: "<path>.part" until finish() renames it, removed where it was not finished.
struct Output {
  AVFormatContext* context = nullptr;
  std::string path;
  std::string part;
  bool opened = false;

  ~Output() {
    if (context != nullptr) {
      if (opened) {
        avio_closep(&context->pb);
      }
      avformat_free_context(context);
    }
    if (!part.empty()) {
      std::remove(part.c_str());
    }
  }
};

void write(Output& out, AVPacket& packet, const std::string& what) {
  const int r = av_interleaved_write_frame(out.context, &packet);
  if (r < 0) {
    throw Error("cannot write " + what + " to " + out.path + ": " + av::error_text(r));
  }
}

}  // namespace

Keyframes list_keyframes(const std::string& path) {
  av::OpenedInput in = av::open_input(path);
  const int stream = video_stream_of(in);
  const AVStream& video = *in.context->streams[stream];
  Keyframes keys;
  av::Packet packet = av::make_packet();
  double end = -std::numeric_limits<double>::infinity();
  while (read_packet_of(in, stream, *packet)) {
    ++keys.packets;
    const std::int64_t ts = packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
    if (ts == AV_NOPTS_VALUE) {
      continue;
    }
    const double t = av::seconds_of(*in.context, ts, video.time_base);
    end =
        std::max(end, av::seconds_of(*in.context, ts + std::max<std::int64_t>(packet->duration, 0),
                                     video.time_base));
    if ((packet->flags & AV_PKT_FLAG_KEY) != 0) {
      keys.times_s.push_back(t);
    }
  }
  std::sort(keys.times_s.begin(), keys.times_s.end());
  keys.times_s.erase(std::unique(keys.times_s.begin(), keys.times_s.end()), keys.times_s.end());
  keys.end_s = std::isfinite(end) ? end : 0;
  return keys;
}

std::vector<Segment> plan_segments(const Keyframes& keyframes, int count, double every_s) {
  if (count < 1 && !(every_s > 0)) {
    throw UsageError("--segments must be 1 or more, not " + std::to_string(count));
  }
  if (keyframes.times_s.empty()) {
    throw UsageError("the video has no key frames to cut at");
  }
  const std::vector<double>& keys = keyframes.times_s;
  const double first = keys.front();
  std::vector<double> starts{first};
  // The first key frame at or after `target`, or (nearest) the one before it where that is nearer.
  const auto cut_at = [&](double target, bool nearest) {
    auto it = std::lower_bound(keys.begin(), keys.end(), target - 1e-9);
    if (nearest && it != keys.begin() && (it == keys.end() || target - *(it - 1) < *it - target)) {
      --it;
    }
    if (it != keys.end() && *it > starts.back()) {
      starts.push_back(*it);
    }
  };
  if (every_s > 0) {
    for (double target = first + every_s; target < keyframes.end_s; target += every_s) {
      cut_at(target, false);
    }
  } else {
    const double span = keyframes.end_s - first;
    for (int k = 1; k < count; ++k) {
      cut_at(first + span * k / count, true);
    }
  }
  std::vector<Segment> segments;
  for (std::size_t k = 0; k < starts.size(); ++k) {
    Segment s;
    s.start_s = starts[k];
    if (k + 1 < starts.size()) {
      s.end_s = starts[k + 1];
    }
    segments.push_back(s);
  }
  return segments;
}

std::int64_t join_segments(const JoinOptions& options) {
  if (options.segments.empty()) {
    throw UsageError("join: no segments given");
  }
  if (options.starts_s.size() != options.segments.size()) {
    throw UsageError("join: " + std::to_string(options.segments.size()) + " segments but " +
                     std::to_string(options.starts_s.size()) + " start times");
  }
  for (std::size_t k = 1; k < options.starts_s.size(); ++k) {
    if (!(options.starts_s[k] > options.starts_s[k - 1])) {
      throw UsageError("join: the start times must ascend: segment " + std::to_string(k) +
                       " starts at " + std::to_string(options.starts_s[k]) + " s");
    }
  }
  if (options.output.empty()) {
    throw UsageError("join: no output path given");
  }

  av::OpenedInput source = av::open_input(options.input);
  AVFormatContext& src = *source.context;
  const int source_video = video_stream_of(source);
  const AVRational source_tb = src.streams[source_video]->time_base;
  const double origin = origin_of(src);
  const auto pts_of = [&](double seconds) {
    return std::llround((seconds + origin) / av_q2d(source_tb));
  };
  const std::int64_t first_pts = pts_of(options.starts_s.front());

  std::vector<av::OpenedInput> segments;
  std::vector<int> segment_video;
  for (const std::string& path : options.segments) {
    segments.push_back(av::open_input(path));
    segment_video.push_back(video_stream_of(segments.back()));
  }
  const AVCodecParameters& head =
      *segments.front().context->streams[segment_video.front()]->codecpar;
  for (std::size_t k = 1; k < segments.size(); ++k) {
    const AVCodecParameters& par = *segments[k].context->streams[segment_video[k]]->codecpar;
    const bool same_headers = par.extradata_size == head.extradata_size &&
                              (head.extradata_size == 0 ||
                               std::memcmp(par.extradata, head.extradata,
                                           static_cast<std::size_t>(head.extradata_size)) == 0);
    if (par.codec_id != head.codec_id || par.width != head.width || par.height != head.height ||
        par.format != head.format || !same_headers) {
      throw UsageError("join: " + segments[k].name + ": its video (" +
                       avcodec_get_name(par.codec_id) + " " + std::to_string(par.width) + "x" +
                       std::to_string(par.height) + ") is not encoded as " + segments[0].name +
                       "'s (" + avcodec_get_name(head.codec_id) + " " + std::to_string(head.width) +
                       "x" + std::to_string(head.height) + ", the same codec headers)");
    }
  }

  Output out;
  out.path = options.output;
  out.part = options.output + ".part";
  const int made = avformat_alloc_output_context2(&out.context, nullptr, nullptr, out.path.c_str());
  if (made < 0 || out.context == nullptr) {
    const std::string why = av::error_text(made);
    out.part.clear();
    throw UsageError("join: cannot tell a container from " + out.path + ": " + why);
  }
  const AVStream& segment_stream = *segments.front().context->streams[segment_video.front()];
  AVStream* video = avformat_new_stream(out.context, nullptr);
  if (video == nullptr) {
    throw std::bad_alloc();
  }
  avcodec_parameters_copy(video->codecpar, &head);
  video->codecpar->codec_tag = 0;
  video->time_base = segment_stream.time_base;
  video->avg_frame_rate = segment_stream.avg_frame_rate;
  video->r_frame_rate = segment_stream.r_frame_rate;
  video->sample_aspect_ratio = segment_stream.sample_aspect_ratio;
  av_dict_copy(&video->metadata, segment_stream.metadata, 0);
  av_dict_copy(&out.context->metadata, src.metadata, 0);

  // The input's audio and subtitle streams, in their order, after the video.
  std::vector<int> map(src.nb_streams, -1);
  for (unsigned i = 0; i < src.nb_streams; ++i) {
    AVStream& in = *src.streams[i];
    const AVMediaType type = in.codecpar->codec_type;
    if (!options.copy_streams || (type != AVMEDIA_TYPE_AUDIO && type != AVMEDIA_TYPE_SUBTITLE)) {
      in.discard = AVDISCARD_ALL;
      continue;
    }
    if (avformat_query_codec(out.context->oformat, in.codecpar->codec_id, FF_COMPLIANCE_NORMAL) !=
        1) {
      throw UsageError("join: " + out.path + "'s container cannot hold " + source.name + "'s " +
                       avcodec_get_name(in.codecpar->codec_id) + " stream " + std::to_string(i) +
                       " (no audio: --no-audio)");
    }
    AVStream* copy = avformat_new_stream(out.context, nullptr);
    if (copy == nullptr) {
      throw std::bad_alloc();
    }
    avcodec_parameters_copy(copy->codecpar, in.codecpar);
    copy->codecpar->codec_tag = 0;
    copy->time_base = in.time_base;
    copy->disposition = in.disposition;
    av_dict_copy(&copy->metadata, in.metadata, 0);
    map[i] = copy->index;
  }

  if ((out.context->oformat->flags & AVFMT_NOFILE) == 0) {
    const int r = avio_open(&out.context->pb, out.part.c_str(), AVIO_FLAG_WRITE);
    if (r < 0) {
      const std::string why = av::error_text(r);
      out.part.clear();
      throw Error("join: cannot create " + out.path + ".part: " + why);
    }
    out.opened = true;
  }
  if (const int r = avformat_write_header(out.context, nullptr); r < 0) {
    throw Error("join: cannot write " + out.path + "'s header: " + av::error_text(r));
  }

  // Copies the input's packets that start before `limit` (seconds on its timeline).
  av::Packet held = av::make_packet();
  bool holding = false;
  bool source_done = !options.copy_streams;
  const auto copy_until = [&](double limit) {
    while (!source_done) {
      if (!holding) {
        const int r = av_read_frame(&src, held.get());
        if (r < 0) {
          source_done = true;
          if (r != AVERROR_EOF) {
            throw Error("join: " + source.name + ": cannot read a packet: " + av::error_text(r));
          }
          return;
        }
        if (held->stream_index < 0 || static_cast<unsigned>(held->stream_index) >= map.size() ||
            map[static_cast<std::size_t>(held->stream_index)] < 0) {
          av_packet_unref(held.get());
          continue;
        }
        holding = true;
      }
      AVPacket& p = *held;
      const AVStream& in = *src.streams[p.stream_index];
      const std::int64_t ts = p.pts != AV_NOPTS_VALUE ? p.pts : p.dts;
      const double t = ts == AV_NOPTS_VALUE ? -std::numeric_limits<double>::infinity()
                                            : av::seconds_of(src, ts, in.time_base);
      if (t >= limit) {
        return;
      }
      holding = false;
      AVStream& to = *out.context->streams[map[static_cast<std::size_t>(p.stream_index)]];
      const std::int64_t shift = av_rescale_q(first_pts, source_tb, in.time_base);
      if (p.pts != AV_NOPTS_VALUE) {
        p.pts -= shift;
      }
      if (p.dts != AV_NOPTS_VALUE) {
        p.dts -= shift;
      }
      av_packet_rescale_ts(&p, in.time_base, to.time_base);
      p.stream_index = to.index;
      p.pos = -1;
      write(out, p, "a copied stream");
    }
  };

  // Each segment's packets as the output times them: its pts shifted to its start. A segment read
  // from a container that stores presentation times only (Matroska) has no decode times for its
  // reordered frames; each packet's is made here, as the decode order implies it: the segment's
  // n-th smallest pts less the largest reorder of any segment (one delay for the whole file, so
  // that decode times go on rising across the joins).
  av::Packet packet = av::make_packet();
  const AVRational out_tb = video->time_base;
  std::vector<std::int64_t> shifts;
  std::vector<std::vector<std::int64_t>> orders;  // each segment's pts, sorted
  std::int64_t delay = 0;
  for (std::size_t k = 0; k < segments.size(); ++k) {
    const AVRational tb = segments[k].context->streams[segment_video[k]]->time_base;
    shifts.push_back(av_rescale_q(pts_of(options.starts_s[k]) - first_pts, source_tb, tb));
    std::vector<std::int64_t> pts;
    while (read_packet_of(segments[k], segment_video[k], *packet)) {
      if (packet->pts == AV_NOPTS_VALUE) {
        throw UsageError("join: " + segments[k].name + ": a video packet has no presentation time");
      }
      pts.push_back(av_rescale_q(packet->pts + shifts[k], tb, out_tb));
    }
    std::vector<std::int64_t> sorted = pts;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < pts.size(); ++i) {
      delay = std::max(delay, sorted[i] - pts[i]);
    }
    orders.push_back(std::move(sorted));
    segments[k] = av::open_input(options.segments[k]);  // read again from its start
  }

  std::int64_t written = 0;
  std::int64_t last_dts = std::numeric_limits<std::int64_t>::min();
  std::int64_t last_end = 0;  // in the video stream's time base as muxed
  for (std::size_t k = 0; k < segments.size(); ++k) {
    av::OpenedInput& segment = segments[k];
    const AVRational tb = segment.context->streams[segment_video[k]]->time_base;
    std::size_t n = 0;
    while (read_packet_of(segment, segment_video[k], *packet)) {
      AVPacket& p = *packet;
      if (n >= orders[k].size()) {
        throw Error("join: " + segment.name + " changed while it was read");
      }
      const std::int64_t duration = p.duration > 0 ? av_rescale_q(p.duration, tb, out_tb) : 0;
      p.pts = av_rescale_q(p.pts + shifts[k], tb, out_tb);
      p.dts = orders[k][n++] - delay;
      p.duration = duration;
      if (p.dts <= last_dts) {
        throw Error("join: " + segment.name + ": its frames overlap the segment before it (dts " +
                    std::to_string(p.dts) + ", not after " + std::to_string(last_dts) + ")");
      }
      last_dts = p.dts;
      last_end = std::max(last_end, p.pts + duration);
      copy_until(static_cast<double>(p.pts) * av_q2d(out_tb) + options.starts_s.front());
      p.stream_index = video->index;
      p.pos = -1;
      p.time_base = out_tb;
      write(out, p,
            "video (" + segment.name + ", pts " + std::to_string(p.pts) + ", dts " +
                std::to_string(p.dts) + ")");
      ++written;
    }
  }
  copy_until(static_cast<double>(last_end) * av_q2d(video->time_base) + options.starts_s.front());

  if (const int r = av_write_trailer(out.context); r < 0) {
    throw Error("join: cannot finish " + out.path + ": " + av::error_text(r));
  }
  if (out.opened) {
    avio_closep(&out.context->pb);
    out.opened = false;
  }
  if (std::rename(out.part.c_str(), out.path.c_str()) != 0) {
    throw Error("join: cannot rename " + out.part + " to " + out.path + ": " +
                std::strerror(errno));
  }
  out.part.clear();
  return written;
}

}  // namespace pyn
