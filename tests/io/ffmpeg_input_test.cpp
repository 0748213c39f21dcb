// What the reader carries from its input to the writer and what it converts: rotation, BT.2020
// and SMPTE 240M matrices, frames with repeated times, the layouts the pipeline does not take;
// and damaged H.264 decoded the same way every time.
#include <fstream>
#include <iterator>

extern "C" {
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
}

#include "io/ffmpeg_test_util.hpp"
#include "pynference/io/video_stream.hpp"

namespace pyn::test {
namespace {

// Reads `input` and writes every frame to `options.path` through the pipeline's sink, as `run`
// does with an identity network.
void reencode(const VideoInputOptions& input, VideoOutputOptions options) {
  VideoSource source(input);
  options.copy_from = input;
  VideoSink sink(options, source.info());
  sink.open(source.format());
  Bytes frame(bytes_of(source.format()));
  for (FrameInfo info{0, std::nullopt}; source.read(frame, info); ++info.index) {
    sink.write(frame, info);
  }
  sink.close();
}

TEST(FfmpegInput, RotationIsCarriedToTheOutput) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "phone.mp4";
  spec.video_encoder = "libx264";
  spec.frames = 3;
  spec.rotation = 90;
  make_clip(spec);
  // The angle as the file says it (MP4's matrix reads back with the other sign).
  const auto in_streams = probe(spec.path);
  const StreamProbe* in = find(in_streams, AVMEDIA_TYPE_VIDEO);
  ASSERT_TRUE(in->has_display_matrix);
  const double angle = in->rotation;
  ASSERT_NEAR(std::abs(angle), 90, 1e-6);

  {
    const VideoReader reader(input_of(spec.path));
    ASSERT_TRUE(reader.info().display_matrix.has_value());
    EXPECT_NEAR(av_display_rotation_get(reader.info().display_matrix->data()), angle, 1e-6);
  }
  for (const char* name : {"out.mp4", "out.mov"}) {
    VideoOutputOptions out;
    out.path = dir / name;
    out.preset = "ultrafast";
    reencode(input_of(spec.path), out);
    const auto v_streams = probe(out.path);
    const StreamProbe* v = find(v_streams, AVMEDIA_TYPE_VIDEO);
    ASSERT_NE(v, nullptr);
    EXPECT_TRUE(v->has_display_matrix) << name;
    EXPECT_NEAR(v->rotation, angle, 1e-6) << name;
  }

  // Matroska (FFmpeg 5.1) cannot keep it: a warning says so.
  VideoOutputOptions mkv;
  mkv.path = dir / "out.mkv";
  mkv.encoder = "ffv1";
  ::testing::internal::CaptureStderr();
  reencode(input_of(spec.path), mkv);
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("matroska container does not keep the input's rotation"), std::string::npos)
      << said;

  // An upright input gets no matrix.
  spec.path = dir / "upright.mp4";
  spec.rotation = 0;
  make_clip(spec);
  EXPECT_FALSE(VideoReader(input_of(spec.path)).info().display_matrix.has_value());
  VideoOutputOptions out;
  out.path = dir / "upright-out.mp4";
  out.preset = "ultrafast";
  reencode(input_of(spec.path), out);
  EXPECT_FALSE(find(probe(out.path), AVMEDIA_TYPE_VIDEO)->has_display_matrix);
}

// Two frames at one time (0, 40, 80, 80, 120, 160 ms): the second is dropped, as ffmpeg drops it
// for a variable-rate output, and the run goes on.
TEST(FfmpegInput, AFrameRepeatingTheTimeBeforeIsDroppedAndCounted) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "repeat.mkv";
  spec.frames = 6;
  spec.pts = {0, 1, 2, 2, 3, 4};
  make_clip(spec);
  const auto pts = find(probe(spec.path), AVMEDIA_TYPE_VIDEO)->pts;
  ASSERT_EQ(pts, (std::vector<std::int64_t>{0, 40, 80, 80, 120, 160}));

  VideoReader reader(input_of(spec.path));
  Bytes frame(bytes_of(reader.info().format));
  std::vector<int> stamps;
  std::vector<std::int64_t> times;
  FrameTime t;
  while (reader.read_frame(frame, &t)) {
    stamps.push_back(stamp_of(reader.info().format, frame));
    times.push_back(t.pts);
  }
  EXPECT_EQ(stamps, (std::vector<int>{0, 1, 2, 4, 5}));
  EXPECT_EQ(times, (std::vector<std::int64_t>{0, 40, 80, 120, 160}));
  EXPECT_EQ(reader.frames_dropped(), 1);

  VideoOutputOptions out;
  out.path = dir / "out.mkv";
  out.encoder = "ffv1";
  reencode(input_of(spec.path), out);
  EXPECT_EQ(stamps_of(read_all(out.path)), (std::vector<int>{0, 1, 2, 4, 5}));
}

struct ColourCase {
  const char* name;
  AVColorPrimaries primaries;
  AVColorTransferCharacteristic transfer;
  AVColorSpace matrix;
  ColorMatrix frames;    // what the reader must convert with
  AVColorSpace written;  // the output's matrix tag
};

class FfmpegInputColour : public ::testing::TestWithParam<ColourCase> {};

// HD sizes, so that a guess from the size (BT.709) would be wrong.
TEST_P(FfmpegInputColour, MatrixFromTheTagsAndTaggedSo) {
  const ColourCase c = GetParam();
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.pix_fmt = AV_PIX_FMT_YUV420P10LE;
  spec.width = 1280;
  spec.height = 720;
  spec.frames = 2;
  spec.primaries = c.primaries;
  spec.transfer = c.transfer;
  spec.matrix = c.matrix;
  make_clip(spec);
  {
    const VideoReader reader(input_of(spec.path));
    const auto& yuv = std::get<YuvDesc>(reader.info().format);
    EXPECT_EQ(yuv.matrix, c.frames) << to_string(yuv.matrix);
  }
  for (const char* encoder : {"ffv1", "libx264"}) {
    VideoOutputOptions out;
    out.path = dir / (std::string(encoder) + ".mkv");
    out.encoder = encoder;
    out.preset = std::string(encoder) == "libx264" ? "ultrafast" : "";
    reencode(input_of(spec.path), out);
    const auto v_streams = probe(out.path);
    const StreamProbe* v = find(v_streams, AVMEDIA_TYPE_VIDEO);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->matrix, c.written) << encoder << " " << av_color_space_name(v->matrix);
    EXPECT_EQ(v->primaries, c.primaries) << encoder;
    EXPECT_EQ(v->transfer, c.transfer) << encoder;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Matrices, FfmpegInputColour,
    ::testing::Values(ColourCase{"bt2020_pq", AVCOL_PRI_BT2020, AVCOL_TRC_SMPTE2084,
                                 AVCOL_SPC_BT2020_NCL, ColorMatrix::bt2020, AVCOL_SPC_BT2020_NCL},
                      ColourCase{"bt2020_untagged_matrix", AVCOL_PRI_BT2020, AVCOL_TRC_ARIB_STD_B67,
                                 AVCOL_SPC_UNSPECIFIED, ColorMatrix::bt2020, AVCOL_SPC_BT2020_NCL},
                      ColourCase{"smpte240m", AVCOL_PRI_SMPTE240M, AVCOL_TRC_SMPTE240M,
                                 AVCOL_SPC_SMPTE240M, ColorMatrix::smpte240m, AVCOL_SPC_SMPTE240M},
                      ColourCase{"bt709", AVCOL_PRI_BT709, AVCOL_TRC_BT709, AVCOL_SPC_BT709,
                                 ColorMatrix::bt709, AVCOL_SPC_BT709}),
    [](const auto& p) { return std::string(p.param.name); });

// Layouts the pipeline does not take are converted with a phrase for the warning.
TEST(FfmpegInput, ConvertedLayoutsAreNamedInTheInfo) {
  ScratchDir dir;
  struct Case {
    AVPixelFormat pix_fmt;
    const char* says;  // a piece of the phrase
  };
  for (const Case c : {Case{AV_PIX_FMT_YUV422P, "4:2:2 (yuv422p) becomes 4:4:4"},
                       Case{AV_PIX_FMT_YUVA420P, "alpha"}, Case{AV_PIX_FMT_GRAY8, "grey"},
                       Case{AV_PIX_FMT_YUV420P12LE, "12-bit samples"}}) {
    ClipSpec spec;
    spec.path = dir / (std::string(av_get_pix_fmt_name(c.pix_fmt)) + ".mkv");
    spec.pix_fmt = c.pix_fmt;
    spec.frames = 1;
    make_clip(spec);
    const VideoReader reader(input_of(spec.path));
    std::string all;
    for (const std::string& phrase : reader.info().conversions) {
      all += phrase + "; ";
    }
    EXPECT_NE(all.find(c.says), std::string::npos) << av_get_pix_fmt_name(c.pix_fmt) << ": " << all;
  }
  ClipSpec plain;
  plain.path = dir / "plain.mkv";
  plain.frames = 1;
  make_clip(plain);
  EXPECT_TRUE(VideoReader(input_of(plain.path)).info().conversions.empty());
}

struct Outcome {
  std::vector<int> stamps;
  std::string error;
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

Outcome decode(const std::string& path) {
  Outcome o;
  try {
    VideoReader reader(input_of(path));
    Bytes frame(bytes_of(reader.info().format));
    while (reader.read_frame(frame)) {
      o.stamps.push_back(stamp_of(reader.info().format, frame));
    }
  } catch (const Error& e) {
    o.error = e.what();
  }
  return o;
}

// Damaged H.264 in MP4 at many places: each file decodes to the same frames and the same error
// every time (FFmpeg's frame threads once made the outcome depend on their timing).
TEST(FfmpegInput, DamagedH264DecodesTheSameEveryTime) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mp4";
  spec.video_encoder = "libx264";
  spec.width = 320;
  spec.height = 240;
  spec.frames = 10;
  make_clip(spec);
  std::ifstream in(spec.path, std::ios::binary);
  const std::string clip{std::istreambuf_iterator<char>(in), {}};
  int failed = 0;
  for (int place = 1; place < 20; ++place) {
    std::string bad = clip;
    const std::size_t at = bad.size() * static_cast<std::size_t>(place) / 24;
    for (std::size_t i = at; i < at + 24 && i < bad.size(); ++i) {
      bad[i] = static_cast<char>(bad[i] ^ 0xa5);
    }
    const std::string path = dir / ("bad" + std::to_string(place) + ".mp4");
    std::ofstream(path, std::ios::binary)
        .write(bad.data(), static_cast<std::streamsize>(bad.size()));
    const Outcome first = decode(path);
    failed += first.error.empty() ? 0 : 1;
    for (int again = 0; again < 6; ++again) {
      const Outcome o = decode(path);
      EXPECT_EQ(o.stamps, first.stamps) << path << " run " << again;
      EXPECT_EQ(o.error, first.error) << path << " run " << again;
    }
  }
  EXPECT_GT(failed, 0);  // the damage is seen somewhere
}

}  // namespace
}  // namespace pyn::test
