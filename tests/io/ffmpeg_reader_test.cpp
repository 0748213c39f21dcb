// VideoReader against clips made with the libav* API (io/av_clip.hpp).
#include <fcntl.h>
#include <unistd.h>

#include <fstream>

#include "io/ffmpeg_test_util.hpp"

namespace pyn::test {
namespace {

TEST(FfmpegReader, Ffv1Yuv420InMatroska) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  make_clip(spec);

  const Decoded d = read_all(spec.path);
  const auto* yuv = std::get_if<YuvDesc>(&d.info.format);
  ASSERT_NE(yuv, nullptr);
  EXPECT_EQ(yuv->width, 96);
  EXPECT_EQ(yuv->height, 64);
  EXPECT_EQ(yuv->chroma, ChromaLayout::yuv420);
  EXPECT_EQ(yuv->bits, 8);
  EXPECT_EQ(yuv->matrix, ColorMatrix::bt601);  // SD, untagged
  EXPECT_EQ(yuv->range, ColorRange::limited);
  EXPECT_EQ(d.info.frame_rate, (Rational{25, 1}));
  EXPECT_EQ(d.info.time_base, (Rational{1, 1000}));
  ASSERT_TRUE(d.info.frame_count.has_value());
  EXPECT_EQ(*d.info.frame_count, 12);
  EXPECT_EQ(d.info.description, "ffv1 yuv420p 96x64 25 fps");
  EXPECT_EQ(stamps_of(d), iota(0, 12));
  ASSERT_EQ(d.times.size(), 12U);
  for (std::size_t i = 0; i < d.times.size(); ++i) {
    EXPECT_EQ(d.times[i].pts, static_cast<std::int64_t>(i) * 40);
    EXPECT_EQ(d.times[i].duration, 40);
  }
}

struct FormatCase {
  AVPixelFormat decoded;
  ChromaLayout chroma;
  int bits;
};

class FfmpegReaderFormats : public ::testing::TestWithParam<FormatCase> {};

TEST_P(FfmpegReaderFormats, MapsToThePipelinesLayouts) {
  const FormatCase c = GetParam();
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.pix_fmt = c.decoded;
  spec.frames = 6;
  make_clip(spec);
  const Decoded d = read_all(spec.path);
  const auto* yuv = std::get_if<YuvDesc>(&d.info.format);
  ASSERT_NE(yuv, nullptr);
  EXPECT_EQ(yuv->chroma, c.chroma);
  EXPECT_EQ(yuv->bits, c.bits);
  EXPECT_EQ(stamps_of(d), iota(0, 6));
}

INSTANTIATE_TEST_SUITE_P(
    All, FfmpegReaderFormats,
    ::testing::Values(FormatCase{AV_PIX_FMT_YUV420P, ChromaLayout::yuv420, 8},
                      FormatCase{AV_PIX_FMT_YUV444P, ChromaLayout::yuv444, 8},
                      FormatCase{AV_PIX_FMT_YUV420P10LE, ChromaLayout::yuv420, 10},
                      FormatCase{AV_PIX_FMT_YUV444P10LE, ChromaLayout::yuv444, 10},
                      // Converted: 4:2:2 to 4:4:4, 12 and 16 bit to 10.
                      FormatCase{AV_PIX_FMT_YUV422P, ChromaLayout::yuv444, 8},
                      FormatCase{AV_PIX_FMT_YUV420P12LE, ChromaLayout::yuv420, 10},
                      FormatCase{AV_PIX_FMT_YUV444P16LE, ChromaLayout::yuv444, 10}));

TEST(FfmpegReader, ConvertedPlanesMatchTheSource) {
  // yuv422p to yuv444p keeps luma exactly and repeats each chroma sample.
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.pix_fmt = AV_PIX_FMT_YUV422P;
  spec.frames = 2;
  make_clip(spec);
  ClipSpec same = spec;
  same.path = dir / "same.mkv";
  same.pix_fmt = AV_PIX_FMT_YUV444P;
  make_clip(same);
  const Decoded d = read_all(spec.path);
  const Decoded ref = read_all(same.path);
  ASSERT_EQ(d.frames.size(), 2U);
  const auto& desc = std::get<YuvDesc>(d.info.format);
  for (std::size_t f = 0; f < 2; ++f) {
    EXPECT_TRUE(std::equal(d.frames[f].begin(),
                           d.frames[f].begin() + static_cast<std::ptrdiff_t>(desc.y_bytes()),
                           ref.frames[f].begin()));
  }
}

TEST(FfmpegReader, GreyAndRgbSourcesGiveRgb) {
  ScratchDir dir;
  ClipSpec grey;
  grey.path = dir / "grey.mkv";
  grey.pix_fmt = AV_PIX_FMT_GRAY8;
  grey.frames = 3;
  make_clip(grey);
  const Decoded g = read_all(grey.path);
  const auto* image = std::get_if<ImageDesc>(&g.info.format);
  ASSERT_NE(image, nullptr);
  EXPECT_EQ(image->pixel, PixelType::u8);
  ASSERT_EQ(g.frames.size(), 3U);
  // Full-range grey: R = G = B = the luma code.
  EXPECT_EQ(g.frames[1][0], std::byte{static_cast<unsigned char>(stamp_level(1))});
  EXPECT_EQ(g.frames[1][1], g.frames[1][0]);

  ClipSpec png;
  png.path = dir / "f%03d.png";
  png.video_encoder = "png";
  png.pix_fmt = AV_PIX_FMT_RGB48BE;
  png.frames = 4;
  make_clip(png);
  ASSERT_TRUE(fs::exists(dir / "f001.png") || fs::exists(dir / "f000.png"));
  const Decoded p = read_all(png.path);
  const auto* deep = std::get_if<ImageDesc>(&p.info.format);
  ASSERT_NE(deep, nullptr);
  EXPECT_EQ(deep->pixel, PixelType::u16);
  EXPECT_EQ(stamps_of(p), iota(0, 4));
}

TEST(FfmpegReader, NtscRateAndTagsFromTheStream) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.rate = AVRational{24000, 1001};
  spec.width = 1280;
  spec.height = 720;
  spec.frames = 3;
  spec.range = AVCOL_RANGE_JPEG;
  spec.matrix = AVCOL_SPC_SMPTE170M;
  spec.sar = AVRational{4, 3};
  make_clip(spec);
  VideoReader reader(input_of(spec.path));
  EXPECT_EQ(reader.info().frame_rate, (Rational{24000, 1001}));
  EXPECT_EQ(reader.info().sample_aspect, (Rational{4, 3}));
  const auto& yuv = std::get<YuvDesc>(reader.info().format);
  EXPECT_EQ(yuv.range, ColorRange::full);
  EXPECT_EQ(yuv.matrix, ColorMatrix::bt601);  // tagged, though HD
  EXPECT_EQ(reader.info().color.matrix, AVCOL_SPC_SMPTE170M);
  EXPECT_EQ(reader.info().color.range, AVCOL_RANGE_JPEG);
  EXPECT_NE(reader.info().description.find("23.976 fps"), std::string::npos)
      << reader.info().description;
}

TEST(FfmpegReader, WindowSelectsFrames) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.frames = 20;
  make_clip(spec);  // frame i at i * 0.04 s

  VideoInputOptions o = input_of(spec.path);
  o.start_s = 0.2;
  o.duration_s = 0.2;
  Decoded d = read_all(o);
  EXPECT_EQ(stamps_of(d), iota(5, 5));
  ASSERT_FALSE(d.times.empty());
  EXPECT_EQ(d.times.front().pts, 200);
  ASSERT_TRUE(d.info.frame_count.has_value());
  EXPECT_EQ(*d.info.frame_count, 5);

  o = input_of(spec.path);
  o.end_s = 0.3;
  EXPECT_EQ(stamps_of(read_all(o)), iota(0, 8));

  o = input_of(spec.path);
  o.start_s = 0.5;  // between frames 12 (0.48) and 13 (0.52)
  EXPECT_EQ(stamps_of(read_all(o)), iota(13, 7));

  o = input_of(spec.path);
  o.start_s = 5;  // past the end
  EXPECT_TRUE(read_all(o).frames.empty());
}

// Seeking lands on a key frame (every 5th here) before the start; the frames up to the start are
// decoded and dropped, B-frames included.
TEST(FfmpegReader, WindowInH264SeeksAndDrops) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mp4";
  spec.video_encoder = "libx264";
  spec.frames = 30;
  make_clip(spec);
  VideoInputOptions o = input_of(spec.path);
  o.start_s = 0.5;
  o.end_s = 0.9;
  const Decoded d = read_all(o);
  EXPECT_EQ(stamps_of(d), iota(13, 10));
  ASSERT_TRUE(d.info.frame_count.has_value());
  EXPECT_EQ(*d.info.frame_count, 10);
}

TEST(FfmpegReader, BadWindowsAreUsageErrors) {
  VideoInputOptions o = input_of("whatever.mkv");
  o.duration_s = 1;
  o.end_s = 2;
  EXPECT_NE(message_of<UsageError>([&] { VideoReader r(o); }).find("not both"), std::string::npos);
  o = input_of("whatever.mkv");
  o.start_s = -1;
  EXPECT_NE(message_of<UsageError>([&] { VideoReader r(o); }).find("-ss"), std::string::npos);
  o = input_of("whatever.mkv");
  o.start_s = 2;
  o.end_s = 1;
  EXPECT_NE(message_of<UsageError>([&] { VideoReader r(o); }).find("-to"), std::string::npos);
}

TEST(FfmpegReader, OpenErrorsNameThePath) {
  ScratchDir dir;
  const std::string missing = dir / "missing.mkv";
  const std::string m = message_of<UsageError>([&] { VideoReader r(input_of(missing)); });
  EXPECT_NE(m.find(missing), std::string::npos) << m;
  EXPECT_NE(m.find("No such file"), std::string::npos) << m;

  const std::string text = dir / "text.mkv";
  std::ofstream(text) << "this is not a video\n";
  EXPECT_NE(message_of<UsageError>([&] { VideoReader r(input_of(text)); }).find(text),
            std::string::npos);

  EXPECT_NE(
      message_of<UsageError>([&] { VideoReader r(input_of(dir.path())); }).find("Is a directory"),
      std::string::npos);
}

TEST(FfmpegReader, WrongBufferSizeIsAUsageError) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.frames = 1;
  make_clip(spec);
  VideoReader reader(input_of(spec.path));
  Bytes small(10);
  EXPECT_THROW(reader.read_frame(small), UsageError);
}

// Reads standard input: the clip's file descriptor in place of fd 0 for the test.
TEST(FfmpegReader, StandardInput) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.nut";
  spec.frames = 8;
  make_clip(spec);
  const int saved = ::dup(STDIN_FILENO);
  const int fd = ::open(spec.path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::dup2(fd, STDIN_FILENO), STDIN_FILENO);
  ::close(fd);
  Decoded d;
  EXPECT_NO_THROW(d = read_all("-"));
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  EXPECT_EQ(stamps_of(d), iota(0, 8));
}

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// ffv1 level 3 carries a CRC per slice: damage in the middle of a frame is an error naming it,
// though FFmpeg 5.1's decoder only logs the mismatch and conceals it.
TEST(FfmpegReader, CorruptFfv1IsAnErrorNamingTheFrame) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.frames = 10;
  make_clip(spec);
  std::vector<char> bytes = read_bytes(spec.path);
  for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 16; ++i) {
    bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  }
  const std::string bad = dir / "bad.mkv";
  write_bytes(bad, bytes);
  VideoReader reader(input_of(bad));
  Bytes frame(bytes_of(reader.info().format));
  std::vector<int> stamps;
  const std::string m = message_of([&] {
    while (reader.read_frame(frame)) {
      stamps.push_back(stamp_of(reader.info().format, frame));
    }
  });
  EXPECT_NE(m.find(bad + ": frame " + std::to_string(stamps.size()) + ": slice CRC mismatch"),
            std::string::npos)
      << m;
  EXPECT_EQ(stamps, iota(0, static_cast<int>(stamps.size())));
  EXPECT_GE(stamps.size(), 3U);
}

// A file cut short: the frames before the cut, then an error naming the frame after them.
// Matroska reads on past a block cut short, but logs "File ended prematurely", which the reader
// turns into the error; NUT fails the read itself.
class FfmpegReaderTruncated : public ::testing::TestWithParam<const char*> {};

TEST_P(FfmpegReaderTruncated, GivesTheFramesBeforeTheCutThenAnError) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / (std::string("in.") + GetParam());
  spec.frames = 10;
  make_clip(spec);
  std::vector<char> bytes = read_bytes(spec.path);
  bytes.resize(bytes.size() * 6 / 10);
  const std::string cut = dir / (std::string("cut.") + GetParam());
  write_bytes(cut, bytes);
  VideoReader reader(input_of(cut));
  Bytes frame(bytes_of(reader.info().format));
  std::vector<int> stamps;
  const std::string m = message_of([&] {
    while (reader.read_frame(frame)) {
      stamps.push_back(stamp_of(reader.info().format, frame));
    }
  });
  EXPECT_NE(m.find(cut + ": frame " + std::to_string(stamps.size()) + ": "), std::string::npos)
      << m;
  EXPECT_GE(stamps.size(), 3U);
  EXPECT_LT(stamps.size(), 10U);
  EXPECT_EQ(stamps, iota(0, static_cast<int>(stamps.size())));
}

INSTANTIATE_TEST_SUITE_P(All, FfmpegReaderTruncated, ::testing::Values("mkv", "nut"));

// H.264 with AV_EF_EXPLODE: a damaged slice fails its packet. (Where FFmpeg's H.264 decoder
// notices damage depends on what the bytes hit; some damage decodes concealed.)
TEST(FfmpegReader, CorruptH264InMp4IsAnErrorNamingAFrame) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mp4";
  spec.video_encoder = "libx264";
  spec.width = 320;
  spec.height = 240;
  spec.frames = 30;
  make_clip(spec);
  std::vector<char> bytes = read_bytes(spec.path);
  for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) {
    bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  }
  const std::string bad = dir / "bad.mp4";
  write_bytes(bad, bytes);
  const std::string m = message_of([&] { (void)read_all(bad); });
  EXPECT_NE(m.find(bad + ": frame "), std::string::npos) << m;
}

// MP4 keeps its index (moov) at the end: a cut file has none and does not open.
TEST(FfmpegReader, TruncatedMp4DoesNotOpen) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mp4";
  spec.video_encoder = "libx264";
  spec.frames = 10;
  make_clip(spec);
  std::vector<char> bytes = read_bytes(spec.path);
  bytes.resize(bytes.size() / 2);
  const std::string cut = dir / "cut.mp4";
  write_bytes(cut, bytes);
  const std::string m = message_of<UsageError>([&] { VideoReader r(input_of(cut)); });
  EXPECT_NE(m.find(cut), std::string::npos) << m;
}

}  // namespace
}  // namespace pyn::test
