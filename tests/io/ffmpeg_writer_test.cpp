// VideoWriter: round trips through VideoReader, and what the files hold, probed with libav*.
#include <fstream>
#include <optional>

#include "io/ffmpeg_test_util.hpp"

namespace pyn::test {
namespace {

// Reads `input` and writes every frame to `options.path`, as `pynference run` would with an
// identity network.
void transcode(const VideoInputOptions& input, VideoOutputOptions options) {
  VideoReader reader(input);
  options.copy_from = input;
  VideoWriter writer(options, reader.info().format, reader.info());
  Bytes frame(bytes_of(reader.info().format));
  FrameTime t;
  while (reader.read_frame(frame, &t)) {
    writer.write_frame(frame, t);
  }
  writer.close();
  EXPECT_EQ(writer.frames_written(), reader.frames_read());
}

struct RoundTrip {
  AVPixelFormat pix_fmt;
  int width;
  int height;
};

class FfmpegWriterFfv1 : public ::testing::TestWithParam<RoundTrip> {};

// Lossless out, the same planes and times back.
TEST_P(FfmpegWriterFfv1, RoundTripIsBitExact) {
  const RoundTrip c = GetParam();
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.pix_fmt = c.pix_fmt;
  spec.width = c.width;
  spec.height = c.height;
  spec.frames = 8;
  make_clip(spec);
  VideoOutputOptions out;
  out.path = dir / "out.mkv";
  out.encoder = "ffv1";
  transcode(input_of(spec.path), out);
  EXPECT_FALSE(fs::exists(out.path + ".part"));

  const Decoded a = read_all(spec.path);
  const Decoded b = read_all(out.path);
  EXPECT_TRUE(a.info.format == b.info.format);
  ASSERT_EQ(a.frames.size(), 8U);
  ASSERT_EQ(b.frames.size(), a.frames.size());
  for (std::size_t i = 0; i < a.frames.size(); ++i) {
    EXPECT_TRUE(a.frames[i] == b.frames[i]) << "frame " << i;
    EXPECT_EQ(a.times[i].pts, b.times[i].pts) << "frame " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(All, FfmpegWriterFfv1,
                         ::testing::Values(RoundTrip{AV_PIX_FMT_YUV420P, 96, 64},
                                           RoundTrip{AV_PIX_FMT_YUV444P, 96, 64},
                                           RoundTrip{AV_PIX_FMT_YUV420P10LE, 96, 64},
                                           RoundTrip{AV_PIX_FMT_YUV444P10LE, 96, 64},
                                           RoundTrip{AV_PIX_FMT_YUV420P, 33, 17},
                                           RoundTrip{AV_PIX_FMT_YUV420P10LE, 35, 21}));

class FfmpegWriterLossy : public ::testing::TestWithParam<const char*> {};

TEST_P(FfmpegWriterLossy, RightSizeCountAndOrder) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.frames = 15;
  make_clip(spec);
  VideoOutputOptions out;
  out.path = dir / "out.mp4";
  out.encoder = GetParam();
  out.preset = "ultrafast";
  out.crf = 18;
  transcode(input_of(spec.path), out);

  const auto streams = probe(out.path);
  const StreamProbe* v = find(streams, AVMEDIA_TYPE_VIDEO);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->codec, std::string(GetParam()) == "libx264" ? "h264" : "hevc");
  EXPECT_EQ(v->width, 96);
  EXPECT_EQ(v->height, 64);
  EXPECT_EQ(v->packets, 15);
  const Decoded d = read_all(out.path);
  EXPECT_EQ(stamps_of(d), iota(0, 15));
  EXPECT_EQ(d.info.frame_rate, (Rational{25, 1}));
}

INSTANTIATE_TEST_SUITE_P(All, FfmpegWriterLossy, ::testing::Values("libx264", "libx265"));

TEST(FfmpegWriter, DefaultEncoderForMp4IsX264) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.frames = 3;
  make_clip(spec);
  VideoReader reader(input_of(spec.path));
  VideoOutputOptions out;
  out.path = dir / "out.mp4";
  VideoWriter writer(out, reader.info().format, reader.info());
  EXPECT_EQ(writer.description(), "libx264 yuv420p crf 23");
}

// What `pynference run` does with a Y4M source: a VideoInfo of its own, frame indices as times.
TEST(FfmpegWriter, FromAVideoInfoMadeByHand) {
  ScratchDir dir;
  VideoInfo info;
  YuvDesc desc;
  desc.width = 64;
  desc.height = 48;
  info.format = desc;
  info.frame_rate = Rational{30000, 1001};
  info.time_base = Rational{1001, 30000};
  for (const char* name : {"out.mp4", "out.mkv"}) {
    VideoOutputOptions out;
    out.path = dir / name;
    out.preset = "ultrafast";
    VideoWriter writer(out, info.format, info);
    Bytes frame(desc.bytes(), std::byte{128});
    for (int i = 0; i < 5; ++i) {
      writer.write_frame(frame, FrameTime{i, 1});
    }
    writer.close();
    const Decoded d = read_all(out.path);
    EXPECT_EQ(d.frames.size(), 5U) << name;
    EXPECT_EQ(d.info.frame_rate, (Rational{30000, 1001})) << name;
  }
  info.frame_rate = Rational{};  // Y4M's F0:0
  info.time_base = Rational{};
  VideoOutputOptions out;
  out.path = dir / "unknown-rate.mkv";
  out.encoder = "ffv1";
  VideoWriter writer(out, info.format, info);
  Bytes frame(desc.bytes(), std::byte{128});
  writer.write_frame(frame, FrameTime{0, 1});
  writer.write_frame(frame, FrameTime{1, 1});
  writer.close();
  EXPECT_EQ(read_all(out.path).info.frame_rate, (Rational{25, 1}));
}

TEST(FfmpegWriter, KeepsNtscTimingFromZero) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.rate = AVRational{24000, 1001};
  spec.frames = 24;
  make_clip(spec);
  VideoInputOptions in = input_of(spec.path);
  in.start_s = 0.5;  // frame 12 at 0.5005 s
  for (const char* name : {"out.mkv", "out.mp4"}) {
    VideoOutputOptions out;
    out.path = dir / name;
    out.encoder = std::string(name) == "out.mkv" ? "ffv1" : "libx264";
    transcode(in, out);
    const Decoded d = read_all(out.path);
    EXPECT_EQ(d.info.frame_rate, (Rational{24000, 1001})) << name;
    ASSERT_EQ(d.frames.size(), 12U) << name;
    EXPECT_EQ(stamps_of(d), iota(12, 12)) << name;
    EXPECT_EQ(d.times.front().pts, 0) << name;
    const double last =
        static_cast<double>(d.times.back().pts) * d.info.time_base.num / d.info.time_base.den;
    EXPECT_NEAR(last, 11 * 1001.0 / 24000, 0.002) << name;
  }
}

TEST(FfmpegWriter, CarriesAspectAndColourTags) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.frames = 3;
  spec.sar = AVRational{4, 3};
  spec.primaries = AVCOL_PRI_BT470BG;
  spec.transfer = AVCOL_TRC_SMPTE170M;
  spec.matrix = AVCOL_SPC_BT470BG;
  spec.range = AVCOL_RANGE_JPEG;
  spec.chroma_location = AVCHROMA_LOC_TOPLEFT;
  make_clip(spec);
  for (const char* encoder : {"ffv1", "libx264"}) {
    VideoOutputOptions out;
    out.path = dir / (std::string(encoder) + ".mkv");
    out.encoder = encoder;
    transcode(input_of(spec.path), out);
    const auto streams = probe(out.path);
    const StreamProbe* v = find(streams, AVMEDIA_TYPE_VIDEO);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->sar.num * 3, v->sar.den * 4) << encoder << " " << v->sar.num << ":" << v->sar.den;
    EXPECT_EQ(v->primaries, AVCOL_PRI_BT470BG) << encoder;
    EXPECT_EQ(v->transfer, AVCOL_TRC_SMPTE170M) << encoder;
    EXPECT_EQ(v->matrix, AVCOL_SPC_BT470BG) << encoder;
    EXPECT_EQ(v->range, AVCOL_RANGE_JPEG) << encoder;
    EXPECT_EQ(v->chroma_location, AVCHROMA_LOC_TOPLEFT) << encoder;
  }
}

struct AudioCase {
  const char* in;
  const char* video;
  const char* audio;
  const char* out;
  const char* codec;
};

class FfmpegWriterAudio : public ::testing::TestWithParam<AudioCase> {};

TEST_P(FfmpegWriterAudio, CopiedWholeAndTrimmed) {
  const AudioCase c = GetParam();
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / c.in;
  spec.video_encoder = c.video;
  spec.audio_encoder = c.audio;
  spec.frames = 25;  // 1 s
  make_clip(spec);

  VideoOutputOptions out;
  out.path = dir / c.out;
  out.encoder = "libx264";
  out.preset = "ultrafast";
  ::testing::internal::CaptureStderr();
  transcode(input_of(spec.path), out);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.find("converted"), std::string::npos) << "copied, not converted: " << err;
  auto streams = probe(out.path);
  const StreamProbe* a = find(streams, AVMEDIA_TYPE_AUDIO);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->codec, c.codec);
  EXPECT_NEAR(a->end_s - std::max(0.0, a->first_s), 1.0, 0.05);

  VideoInputOptions window = input_of(spec.path);
  window.start_s = 0.4;
  window.duration_s = 0.4;
  out.path = dir / (std::string("trim-") + c.out);
  transcode(window, out);
  streams = probe(out.path);
  const StreamProbe* v = find(streams, AVMEDIA_TYPE_VIDEO);
  a = find(streams, AVMEDIA_TYPE_AUDIO);
  ASSERT_NE(v, nullptr);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(v->packets, 10);
  EXPECT_NEAR(v->first_s, 0.0, 0.1);
  // Whole packets that start inside the window, as ffmpeg -ss copies them: FLAC's (96 ms at
  // 48 kHz) leave up to that much out at the start and add it at the end.
  EXPECT_GE(a->first_s, 0.0);
  EXPECT_LT(a->first_s, 0.1);
  EXPECT_GE(a->end_s, 0.4);
  EXPECT_LT(a->end_s, 0.5);
  EXPECT_EQ(stamps_of(read_all(out.path)), iota(10, 10));
}

INSTANTIATE_TEST_SUITE_P(All, FfmpegWriterAudio,
                         ::testing::Values(AudioCase{"in.mkv", "ffv1", "flac", "out.mkv", "flac"},
                                           AudioCase{"in.mp4", "libx264", "aac", "out.mp4", "aac"},
                                           AudioCase{"in.mkv", "ffv1", "pcm_s16le", "out.mov",
                                                     "pcm_s16le"}));

TEST(FfmpegWriter, CopiesSubtitlesInTheWindow) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.frames = 25;
  spec.subtitles = {0.1, 0.5, 0.9};
  make_clip(spec);
  VideoInputOptions window = input_of(spec.path);
  window.start_s = 0.4;
  window.duration_s = 0.4;
  VideoOutputOptions out;
  out.path = dir / "out.mkv";
  out.encoder = "ffv1";
  transcode(window, out);
  auto streams = probe(out.path);
  const StreamProbe* s = find(streams, AVMEDIA_TYPE_SUBTITLE);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->codec, "subrip");
  ASSERT_EQ(s->packets, 1);
  EXPECT_NEAR(s->first_s, 0.1, 0.002);

  // MP4 takes mov_text only: the video goes out, the SubRip stream stays behind.
  out.path = dir / "out.mp4";
  out.encoder = "libx264";
  out.preset = "ultrafast";
  ::testing::internal::CaptureStderr();
  transcode(window, out);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("subtitle stream 1 (subrip); not copied"), std::string::npos) << err;
  streams = probe(out.path);
  EXPECT_EQ(find(streams, AVMEDIA_TYPE_SUBTITLE), nullptr);
}

std::size_t count_of(const std::vector<StreamProbe>& streams, AVMediaType type) {
  return static_cast<std::size_t>(
      std::ranges::count_if(streams, [&](const StreamProbe& p) { return p.type == type; }));
}

// --map: which audio and subtitle streams go out; the second SubRip stream's lines come 20 ms after
// the first's.
TEST(FfmpegWriter, MapKeepsTheStreamsNamed) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.frames = 25;
  spec.audio_encoder = "flac";
  spec.subtitles = {0.1, 0.5};
  spec.subtitle_streams = 2;
  make_clip(spec);
  VideoOutputOptions out;
  out.path = dir / "out.mkv";
  out.encoder = "ffv1";
  auto with = [&](std::vector<std::string> maps) {
    fs::remove(out.path);
    out.maps = std::move(maps);
    transcode(input_of(spec.path), out);
    return probe(out.path);
  };
  auto streams = with({});
  EXPECT_EQ(count_of(streams, AVMEDIA_TYPE_AUDIO), 1U);
  EXPECT_EQ(count_of(streams, AVMEDIA_TYPE_SUBTITLE), 2U);

  streams = with({"s:1"});
  EXPECT_EQ(count_of(streams, AVMEDIA_TYPE_AUDIO), 0U);
  ASSERT_EQ(count_of(streams, AVMEDIA_TYPE_SUBTITLE), 1U);
  EXPECT_NEAR(find(streams, AVMEDIA_TYPE_SUBTITLE)->first_s, 0.12, 0.002);
  EXPECT_EQ(count_of(streams, AVMEDIA_TYPE_VIDEO), 1U);

  streams = with({"a", "s:0"});
  EXPECT_EQ(count_of(streams, AVMEDIA_TYPE_AUDIO), 1U);
  ASSERT_EQ(count_of(streams, AVMEDIA_TYPE_SUBTITLE), 1U);
  EXPECT_NEAR(find(streams, AVMEDIA_TYPE_SUBTITLE)->first_s, 0.1, 0.002);

  streams = with({"-s"});
  EXPECT_EQ(count_of(streams, AVMEDIA_TYPE_AUDIO), 1U);
  EXPECT_EQ(count_of(streams, AVMEDIA_TYPE_SUBTITLE), 0U);

  streams = with({"-s:0"});
  EXPECT_EQ(count_of(streams, AVMEDIA_TYPE_AUDIO), 1U);
  ASSERT_EQ(count_of(streams, AVMEDIA_TYPE_SUBTITLE), 1U);
  EXPECT_NEAR(find(streams, AVMEDIA_TYPE_SUBTITLE)->first_s, 0.12, 0.002);

  streams = with({"none"});
  EXPECT_EQ(streams.size(), 1U);
  EXPECT_EQ(count_of(streams, AVMEDIA_TYPE_VIDEO), 1U);
}

TEST(FfmpegWriter, MapOfAMissingOrUnknownStreamIsRefusedBeforeWriting) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.frames = 5;
  spec.audio_encoder = "flac";
  spec.subtitles = {0.1};
  spec.subtitle_streams = 2;
  make_clip(spec);
  VideoReader reader(input_of(spec.path));
  const std::vector<std::pair<std::string, std::string>> cases{
      {"a:1", "--map a:1: " + spec.path + " has 1 audio stream (a:0)"},
      {"s:2", "--map s:2: " + spec.path + " has 2 subtitle streams (s:0 to s:1)"},
      {"-a:3", "--map -a:3: " + spec.path + " has 1 audio stream (a:0)"},
      {"v", "--map v: not a stream"},
      {"a:", "--map a:: not a stream"},
      {"-none", "--map -none: not a stream"}};
  for (const auto& [map, message] : cases) {
    VideoOutputOptions out;
    out.path = dir / "out.mkv";
    out.encoder = "ffv1";
    out.copy_from = input_of(spec.path);
    out.maps = {map};
    try {
      VideoWriter writer(out, reader.info().format, reader.info());
      ADD_FAILURE() << map << " was taken";
    } catch (const UsageError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(message, 0), 0U) << e.what();
    }
    EXPECT_FALSE(fs::exists(out.path)) << map;
    EXPECT_FALSE(fs::exists(out.path + ".part")) << map;
  }
  ClipSpec silent;
  silent.path = dir / "silent.mkv";
  silent.frames = 5;
  make_clip(silent);
  VideoOutputOptions out;
  out.path = dir / "out.mkv";
  out.copy_from = input_of(silent.path);
  out.maps = {"s"};
  EXPECT_THROW(VideoWriter(out, reader.info().format, reader.info()), UsageError);
}

ClipSpec clip_with_extras(const std::string& path) {
  ClipSpec spec;
  spec.path = path;
  spec.frames = 50;  // 2 s
  spec.metadata = {{"title", "A film"}, {"comment", "made for a test"}};
  spec.chapters = {{0, 0.8, "One"}, {0.8, 1.6, "Two"}, {1.6, 2.0, "Three"}};
  spec.attachments = {{"font.ttf", "application/x-truetype-font", std::string("not\0a font", 10)}};
  spec.timecode = "01:00:00:00";
  return spec;
}

TEST(FfmpegWriter, CarriesMetadataChaptersAttachmentsAndTimecodeIntoMatroska) {
  ScratchDir dir;
  const ClipSpec spec = clip_with_extras(dir / "in.mkv");
  make_clip(spec);
  VideoOutputOptions out;
  out.path = dir / "out.mkv";
  out.encoder = "ffv1";
  transcode(input_of(spec.path), out);
  const ContainerProbe p = probe_container(out.path);
  EXPECT_EQ(metadata_of(p, "title"), "A film");
  EXPECT_EQ(metadata_of(p, "comment"), "made for a test");
  ASSERT_EQ(p.chapters.size(), 3U);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(p.chapters[i].title, spec.chapters[i].title);
    EXPECT_NEAR(p.chapters[i].start_s, spec.chapters[i].start_s, 0.002) << i;
    EXPECT_NEAR(p.chapters[i].end_s, spec.chapters[i].end_s, 0.002) << i;
  }
  ASSERT_EQ(p.attachments.size(), 1U);
  EXPECT_EQ(p.attachments[0].filename, "font.ttf");
  EXPECT_EQ(p.attachments[0].mimetype, "application/x-truetype-font");
  EXPECT_EQ(p.attachments[0].bytes, spec.attachments[0].bytes);
  EXPECT_EQ(p.timecode, "01:00:00:00");

  // With --no-audio too: they are not audio or subtitles.
  out.path = dir / "quiet.mkv";
  out.copy_streams = false;
  transcode(input_of(spec.path), out);
  const ContainerProbe quiet = probe_container(out.path);
  EXPECT_EQ(metadata_of(quiet, "title"), "A film");
  EXPECT_EQ(quiet.chapters.size(), 3U);
  EXPECT_EQ(quiet.attachments.size(), 1U);
}

// MOV keeps the timecode in a tmcd track of its own: it reaches the video stream of a Matroska
// file.
TEST(FfmpegWriter, CarriesTheTimecodeOfAMovTmcdTrack) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mov";
  spec.video_encoder = "libx264";
  spec.frames = 10;
  spec.timecode = "10:00:00:00";
  make_clip(spec);
  ASSERT_EQ(probe_container(spec.path).timecode, "10:00:00:00");
  VideoOutputOptions out;
  out.path = dir / "out.mkv";
  out.encoder = "ffv1";
  transcode(input_of(spec.path), out);
  EXPECT_EQ(probe_container(out.path).timecode, "10:00:00:00");
}

// -ss 0.6 -t 0.8: One (0-0.8) becomes 0-0.2, Two (0.8-1.6) 0.2-0.8, Three (from 1.6) is outside.
TEST(FfmpegWriter, ChaptersAreShiftedAndClippedToTheWindow) {
  ScratchDir dir;
  const ClipSpec spec = clip_with_extras(dir / "in.mkv");
  make_clip(spec);
  VideoInputOptions window = input_of(spec.path);
  window.start_s = 0.6;
  window.duration_s = 0.8;
  VideoOutputOptions out;
  out.path = dir / "out.mkv";
  out.encoder = "ffv1";
  transcode(window, out);
  const ContainerProbe p = probe_container(out.path);
  ASSERT_EQ(p.chapters.size(), 2U);
  EXPECT_EQ(p.chapters[0].title, "One");
  EXPECT_NEAR(p.chapters[0].start_s, 0.0, 0.002);
  EXPECT_NEAR(p.chapters[0].end_s, 0.2, 0.002);
  EXPECT_EQ(p.chapters[1].title, "Two");
  EXPECT_NEAR(p.chapters[1].start_s, 0.2, 0.002);
  EXPECT_NEAR(p.chapters[1].end_s, 0.8, 0.002);
}

TEST(FfmpegWriter, WarnsOfWhatTheContainerCannotHold) {
  ScratchDir dir;
  const ClipSpec spec = clip_with_extras(dir / "in.mkv");
  make_clip(spec);
  VideoOutputOptions out;
  out.path = dir / "out.mp4";
  out.encoder = "libx264";
  out.preset = "ultrafast";
  ::testing::internal::CaptureStderr();
  transcode(input_of(spec.path), out);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("warning: " + out.path +
                     ": the mp4 container cannot hold attachments; font.ttf not copied"),
            std::string::npos)
      << err;
  const ContainerProbe mp4 = probe_container(out.path);
  EXPECT_EQ(metadata_of(mp4, "title"), "A film");
  EXPECT_EQ(mp4.chapters.size(), 3U);
  EXPECT_EQ(mp4.timecode, "01:00:00:00");
  EXPECT_TRUE(mp4.attachments.empty());

  out.path = dir / "out.ts";
  out.encoder = "";
  out.preset = "";
  ::testing::internal::CaptureStderr();
  transcode(input_of(spec.path), out);
  err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("the mpegts container cannot hold chapters; 3 not copied"), std::string::npos)
      << err;
  EXPECT_NE(err.find("the mpegts container cannot hold attachments; font.ttf not copied"),
            std::string::npos)
      << err;
}

TEST(FfmpegWriter, NoAudioWhenAsked) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.audio_encoder = "flac";
  spec.frames = 5;
  make_clip(spec);
  VideoInputOptions in = input_of(spec.path);
  VideoReader reader(in);
  VideoOutputOptions out;
  out.path = dir / "out.mkv";
  out.encoder = "ffv1";
  out.copy_streams = false;
  out.copy_from = in;
  VideoWriter writer(out, reader.info().format, reader.info());
  Bytes frame(bytes_of(reader.info().format));
  FrameTime t;
  while (reader.read_frame(frame, &t)) {
    writer.write_frame(frame, t);
  }
  writer.close();
  const auto streams = probe(out.path);
  EXPECT_EQ(streams.size(), 1U);
}

// A stream the container cannot hold is converted to the container's own audio codec (PCM in MP4
// and Opus in MOV become AAC), or dropped with a warning where it takes no audio (GIF); never a
// failed run, never lost without a word. The sound lasts as long as the video.
TEST(FfmpegWriter, ConvertsOrDropsAudioTheContainerCannotHold) {
  struct Case {
    std::string audio;
    std::string out;
    std::string encoder;
    std::string codec;  // "" for none
    std::string warning;
  };
  const Case cases[] = {{"pcm_s16le", "out.mp4", "libx264", "aac", "converted to aac"},
                        {"libopus", "out.mov", "libx264", "aac", "converted to aac"},
                        {"flac", "out.gif", "gif", "", "not copied"},
                        {"flac", "%04d.png", "png", "", "not copied"}};
  for (const Case& c : cases) {
    ScratchDir dir;
    ClipSpec spec;
    spec.path = dir / "in.mkv";
    spec.audio_encoder = c.audio;
    spec.frames = 25;
    make_clip(spec);
    VideoOutputOptions out;
    out.path = dir / c.out;
    out.encoder = c.encoder;
    ::testing::internal::CaptureStderr();
    transcode(input_of(spec.path), out);
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find(c.warning), std::string::npos) << c.out << ": " << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << "one line: " << err;
    const auto streams = probe(out.path);
    ASSERT_NE(find(streams, AVMEDIA_TYPE_VIDEO), nullptr);
    const StreamProbe* audio = find(streams, AVMEDIA_TYPE_AUDIO);
    if (c.codec.empty()) {
      EXPECT_EQ(audio, nullptr) << c.out;
      continue;
    }
    ASSERT_NE(audio, nullptr) << c.out;
    EXPECT_EQ(audio->codec, c.codec) << c.out;
    EXPECT_NEAR(audio->end_s - std::max(0.0, audio->first_s), 1.0, 0.1) << c.out;
  }
}

// --audio-codec: every audio stream encoded as asked, at the bit rate asked.
TEST(FfmpegWriter, AudioCodecAndBitrateOptions) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.audio_encoder = "flac";
  spec.frames = 25;
  make_clip(spec);
  VideoOutputOptions out;
  out.path = dir / "out.mkv";
  out.encoder = "ffv1";
  out.audio_codec = "libopus";
  out.audio_bitrate = 64000;
  transcode(input_of(spec.path), out);
  const auto streams = probe(out.path);
  const StreamProbe* audio = find(streams, AVMEDIA_TYPE_AUDIO);
  ASSERT_NE(audio, nullptr);
  EXPECT_EQ(audio->codec, "opus");
  EXPECT_NEAR(audio->end_s - std::max(0.0, audio->first_s), 1.0, 0.1);
  out.path = dir / "bad.mp4";
  out.encoder = "libx264";
  out.audio_codec = "nope";
  VideoReader reader(input_of(spec.path));
  out.copy_from = input_of(spec.path);
  EXPECT_THROW(VideoWriter(out, reader.info().format, reader.info()), UsageError);
  out.audio_codec = "pcm_s16le";  // not in mp4
  EXPECT_THROW(VideoWriter(out, reader.info().format, reader.info()), UsageError);
  EXPECT_FALSE(fs::exists(dir / "bad.mp4.part"));
}

TEST(FfmpegWriter, PngSequenceInAndOut) {
  ScratchDir dir;
  fs::create_directories(dir / "in");
  fs::create_directories(dir / "out");
  for (const AVPixelFormat pix_fmt : {AV_PIX_FMT_RGB24, AV_PIX_FMT_RGB48BE}) {
    ClipSpec spec;
    spec.path = dir / "in/%04d.png";
    spec.video_encoder = "png";
    spec.pix_fmt = pix_fmt;
    spec.frames = 5;
    make_clip(spec);
    VideoOutputOptions out;
    out.path = dir / "out/f%03d.png";
    transcode(input_of(spec.path), out);
    for (int i = 1; i <= 5; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "out/f%03d.png", i);
      EXPECT_TRUE(fs::exists(dir / name)) << name;
      EXPECT_FALSE(fs::exists(dir / name + ".part")) << name;
    }
    const Decoded a = read_all(spec.path);
    const Decoded b = read_all(out.path);
    ASSERT_TRUE(std::holds_alternative<ImageDesc>(b.info.format));
    EXPECT_TRUE(a.info.format == b.info.format);
    ASSERT_EQ(b.frames.size(), 5U);
    EXPECT_TRUE(a.frames == b.frames);
  }
}

// The writer converts where the encoder does not take the frames' layout.
TEST(FfmpegWriter, ConvertsBetweenRgbAndYuv) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.frames = 4;
  make_clip(spec);
  VideoOutputOptions png;
  png.path = dir / "%02d.png";
  transcode(input_of(spec.path), png);
  const Decoded rgb = read_all(png.path);
  ASSERT_TRUE(std::holds_alternative<ImageDesc>(rgb.info.format));
  ASSERT_EQ(rgb.frames.size(), 4U);
  // Limited-range luma L with neutral-ish chroma is about (L - 16) * 255 / 219 in RGB.
  const auto& image = std::get<ImageDesc>(rgb.info.format);
  const double expected = (stamp_level(2) + 3.5 - 16) * 255.0 / 219.0;
  double green = 0;
  for (std::size_t i = 0; i < image.pixels(); ++i) {
    green += static_cast<double>(rgb.frames[2][i * 3 + 1]);
  }
  EXPECT_NEAR(green / static_cast<double>(image.pixels()), expected, 12);

  VideoOutputOptions x264;
  x264.path = dir / "back.mkv";
  x264.preset = "ultrafast";
  x264.crf = 0;
  transcode(input_of(png.path), x264);
  VideoReader back(input_of(x264.path));
  // RGB becomes 4:2:0, the H.264 that players decode (High 4:4:4 is rarely supported).
  EXPECT_EQ(std::get<YuvDesc>(back.info().format).chroma, ChromaLayout::yuv420);
}

TEST(FfmpegWriter, PixFmtOption) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.frames = 3;
  make_clip(spec);
  VideoOutputOptions out;
  out.path = dir / "out.mkv";
  out.preset = "ultrafast";
  out.pix_fmt = "yuv444p10le";
  transcode(input_of(spec.path), out);
  const Decoded d = read_all(out.path);
  const auto& yuv = std::get<YuvDesc>(d.info.format);
  EXPECT_EQ(yuv.chroma, ChromaLayout::yuv444);
  EXPECT_EQ(yuv.bits, 10);
  EXPECT_EQ(stamps_of(d), iota(0, 3));

  VideoReader reader(input_of(spec.path));
  out.pix_fmt = "rgb48be";
  const std::string m =
      message_of<UsageError>([&] { VideoWriter w(out, reader.info().format, reader.info()); });
  EXPECT_NE(m.find("does not take pixel format rgb48be"), std::string::npos) << m;
  out.pix_fmt = "nonsense";
  EXPECT_THROW(VideoWriter(out, reader.info().format, reader.info()), UsageError);
}

TEST(FfmpegWriter, WithoutCloseLeavesNothing) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.frames = 4;
  make_clip(spec);
  VideoReader reader(input_of(spec.path));
  const std::string existing = dir / "existing.mkv";
  std::ofstream(existing) << "keep me";
  for (const std::string& path : {dir / "out.mkv", existing, dir / "seq%02d.png"}) {
    {
      VideoOutputOptions out;
      out.path = path;
      out.encoder = path.ends_with(".png") ? "" : "ffv1";
      VideoWriter writer(out, reader.info().format, reader.info());
      Bytes frame(bytes_of(reader.info().format), std::byte{100});
      writer.write_frame(frame, FrameTime{0, 40});
      writer.write_frame(frame, FrameTime{40, 40});
    }
    std::vector<std::string> left;
    for (const auto& entry : fs::directory_iterator(dir.path())) {
      left.push_back(entry.path().filename());
    }
    std::sort(left.begin(), left.end());
    EXPECT_EQ(left, (std::vector<std::string>{"existing.mkv", "in.mkv"})) << path;
  }
  std::ifstream in(existing);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "keep me");
}

TEST(FfmpegWriter, ClearErrors) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.frames = 2;
  make_clip(spec);
  VideoReader reader(input_of(spec.path));
  const VideoInfo& info = reader.info();

  VideoOutputOptions out;
  out.path = dir / "out.mkv";
  out.encoder = "no-such-encoder";
  EXPECT_NE(message_of<UsageError>([&] {
              VideoWriter w(out, info.format, info);
            }).find("unknown encoder 'no-such-encoder'"),
            std::string::npos);
  out.encoder = "flac";
  EXPECT_THROW(VideoWriter(out, info.format, info), UsageError);

  out.encoder = "libx264";
  YuvDesc odd = std::get<YuvDesc>(info.format);
  odd.width = 65;
  odd.height = 49;
  const std::string m = message_of<UsageError>([&] { VideoWriter w(out, odd, info); });
  EXPECT_NE(m.find("65x49"), std::string::npos) << m;
  EXPECT_NE(m.find("libx264"), std::string::npos) << m;
  EXPECT_NE(m.find("even"), std::string::npos) << m;

  out.encoder = "ffv1";
  out.path = dir / "out.mp4";
  EXPECT_NE(message_of<UsageError>([&] {
              VideoWriter w(out, info.format, info);
            }).find("cannot hold ffv1"),
            std::string::npos);
  out.path = dir / "out.unknownext";
  out.encoder = "";
  EXPECT_NE(message_of<UsageError>([&] {
              VideoWriter w(out, info.format, info);
            }).find("cannot tell the container"),
            std::string::npos);
  out.path = dir / "no-such-dir/out.mkv";
  EXPECT_NE(
      message_of<UsageError>([&] { VideoWriter w(out, info.format, info); }).find("cannot create"),
      std::string::npos);
  out.path = dir / "out.mkv";
  out.encoder = "ffv1";
  out.crf = 20;
  EXPECT_THROW(VideoWriter(out, info.format, info), UsageError);

  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    left.push_back(entry.path().filename());
  }
  EXPECT_EQ(left, (std::vector<std::string>{"in.mkv"}));
}

}  // namespace
}  // namespace pyn::test
