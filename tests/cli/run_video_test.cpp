// `pynference run` with FFmpeg containers, as a user runs it: a clip with audio made with libav*,
// the synthetic engine through `run`, and the result decoded again: size, frame count, order,
// every pixel (ffv1 is lossless: compared with the CPU reference of the whole chain), timing and the
// copied audio; 10-bit and odd sizes; damaged and cut input; Ctrl-C.

#include <fstream>
#include <string>
#include <vector>

extern "C" {
#include <libavutil/pixdesc.h>
}

#include "cli/program.hpp"
#include "io/ffmpeg_test_util.hpp"
#include "pynference/engine/synthetic.hpp"
#include "pynference/kernels/frame.hpp"

namespace pyn::test {
namespace {

// What pre -> synthetic (scale, f16) -> post makes of `frame`, on the CPU.
Bytes expected_output(const FrameFormat& in, const Bytes& frame, int scale) {
  const FrameFormat out = with_size(in, width_of(in) * scale, height_of(in) * scale);
  const TensorShape in_shape = tensor_shape_of(in);
  const TensorShape out_shape = tensor_shape_of(out);
  std::vector<std::byte> tensor_in(in_shape.elements() * 2);
  std::vector<std::byte> tensor_out(out_shape.elements() * 2);
  frame_to_tensor_cpu(in, frame.data(), DType::f16, tensor_in.data());
  synthetic_cpu(TensorView{tensor_in.data(), in_shape, DType::f16}, TensorView{tensor_out.data(), out_shape, DType::f16},
                scale);
  Bytes result(bytes_of(out));
  tensor_to_frame_cpu(DType::f16, tensor_out.data(), out, result.data());
  return result;
}

struct Case {
  AVPixelFormat pix_fmt;
  int width;
  int height;
};

class RunVideo : public ::testing::TestWithParam<Case> {};

TEST_P(RunVideo, Ffv1WithAudioComesOutExactWithItsTimingAndSound) {
  const Case c = GetParam();
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.pix_fmt = c.pix_fmt;
  spec.width = c.width;
  spec.height = c.height;
  spec.frames = 24;
  spec.rate = {24000, 1001};
  spec.audio_encoder = "flac";
  make_clip(spec);

  const Result r = run("run -i " + spec.path + " -o " + (dir / "out.mkv") +
                       " -m synthetic:x2 --encoder ffv1 --device cpu --quiet");
  ASSERT_EQ(r.code, 0) << r.output;

  const Decoded in = read_all(spec.path);
  const Decoded out = read_all(dir / "out.mkv");
  ASSERT_EQ(out.frames.size(), in.frames.size());
  EXPECT_EQ(width_of(out.info.format), 2 * c.width);
  EXPECT_EQ(height_of(out.info.format), 2 * c.height);
  EXPECT_EQ(out.info.format.index(), in.info.format.index());
  EXPECT_EQ(out.info.frame_rate, (Rational{24000, 1001}));
  for (std::size_t i = 0; i < in.frames.size(); ++i) {
    EXPECT_TRUE(out.frames[i] == expected_output(in.info.format, in.frames[i], 2)) << "frame " << i;
  }
  const auto streams = probe(dir / "out.mkv");
  const StreamProbe* video = find(streams, AVMEDIA_TYPE_VIDEO);
  const StreamProbe* audio = find(streams, AVMEDIA_TYPE_AUDIO);
  ASSERT_NE(video, nullptr);
  ASSERT_NE(audio, nullptr) << "the audio stream is copied";
  EXPECT_EQ(video->codec, "ffv1");
  EXPECT_NEAR(video->first_s, 0.0, 1e-3);
  EXPECT_NEAR(video->end_s, 24 * 1001.0 / 24000.0, 0.01);
  EXPECT_EQ(audio->codec, "flac");
  EXPECT_NEAR(audio->end_s - audio->first_s, video->end_s, 0.1);
}

INSTANTIATE_TEST_SUITE_P(Formats, RunVideo,
                         ::testing::Values(Case{AV_PIX_FMT_YUV420P, 64, 48}, Case{AV_PIX_FMT_YUV420P10LE, 35, 21},
                                           Case{AV_PIX_FMT_YUV444P, 33, 17}),
                         [](const auto& p) {
                           return std::string(av_get_pix_fmt_name(p.param.pix_fmt)) + "_" +
                                  std::to_string(p.param.width) + "x" + std::to_string(p.param.height);
                         });

TEST(RunVideoFiles, PngSequenceThroughRunIsExactInRgb) {
  // RGB frames take pre/post instead of the YUV kernels; 8 and 16 bit.
  for (const AVPixelFormat pix_fmt : {AV_PIX_FMT_RGB24, AV_PIX_FMT_RGB48BE}) {
    ScratchDir dir;
    fs::create_directories(dir / "in");
    fs::create_directories(dir / "out");
    ClipSpec spec;
    spec.path = dir / "in/%04d.png";
    spec.video_encoder = "png";
    spec.pix_fmt = pix_fmt;
    spec.width = 31;
    spec.height = 17;
    spec.frames = 4;
    make_clip(spec);
    const Result r = run("run -i " + spec.path + " -o " + (dir / "out/%03d.png") + " -m synthetic:x2 --device cpu --quiet");
    ASSERT_EQ(r.code, 0) << r.output;
    const Decoded in = read_all(spec.path);
    const Decoded out = read_all(dir / "out/%03d.png");
    ASSERT_TRUE(std::holds_alternative<ImageDesc>(out.info.format));
    EXPECT_EQ(std::get<ImageDesc>(out.info.format).pixel, std::get<ImageDesc>(in.info.format).pixel);
    ASSERT_EQ(out.frames.size(), 4U);
    for (std::size_t i = 0; i < in.frames.size(); ++i) {
      EXPECT_TRUE(out.frames[i] == expected_output(in.info.format, in.frames[i], 2)) << "frame " << i;
    }
  }
}

TEST(RunVideoFiles, X264Mp4WithAacKeepsSizeCountOrderAndSound) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mp4";
  spec.video_encoder = "libx264";
  spec.audio_encoder = "aac";
  spec.frames = 25;
  make_clip(spec);
  const Result r = run("run -i " + spec.path + " -o " + (dir / "out.mp4") +
                       " -m synthetic:x1 --crf 18 --preset ultrafast --device cpu --quiet -ss 0.4 -t 0.4");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto streams = probe(dir / "out.mp4");
  const StreamProbe* video = find(streams, AVMEDIA_TYPE_VIDEO);
  ASSERT_NE(video, nullptr);
  EXPECT_EQ(video->codec, "h264");
  EXPECT_EQ(video->packets, 10);
  EXPECT_EQ(video->width, spec.width);
  ASSERT_NE(find(streams, AVMEDIA_TYPE_AUDIO), nullptr);
  EXPECT_EQ(find(streams, AVMEDIA_TYPE_AUDIO)->codec, "aac");
  const Result mute = run("run -i " + spec.path + " -o " + (dir / "mute.mp4") +
                          " -m synthetic:x1 --preset ultrafast --device cpu --quiet --no-audio");
  ASSERT_EQ(mute.code, 0) << mute.output;
  EXPECT_EQ(find(probe(dir / "mute.mp4"), AVMEDIA_TYPE_AUDIO), nullptr);
}

TEST(RunVideoFiles, CutAndDamagedInputsStopNamingTheFrameAndWriteNothing) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.frames = 20;
  make_clip(spec);
  const auto size = fs::file_size(spec.path);
  fs::copy_file(spec.path, dir / "cut.mkv");
  fs::resize_file(dir / "cut.mkv", size * 2 / 3);
  {
    // Damage in the middle of the file: ffv1's slice checksums catch it.
    fs::copy_file(spec.path, dir / "bad.mkv");
    std::fstream f(dir / "bad.mkv", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2));
    const std::string junk(64, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  for (const char* name : {"cut.mkv", "bad.mkv"}) {
    const Result r = run("run -i " + (dir / name) + " -o " + (dir / "out.mkv") + " -m synthetic:x1 --device cpu --quiet");
    EXPECT_EQ(r.code, 1) << name << ": " << r.output;
    EXPECT_NE(r.output.find("frame "), std::string::npos) << name << ": " << r.output;
    EXPECT_FALSE(fs::exists(dir / "out.mkv")) << name;
    EXPECT_FALSE(fs::exists(dir / "out.mkv.part")) << name;
  }
  const Result odd = run("run -i synthetic:65x49:3 -o " + (dir / "odd.mp4") + " -m synthetic:x1 --device cpu");
  EXPECT_EQ(odd.code, 2) << odd.output;
  EXPECT_NE(odd.output.find("65x49"), std::string::npos) << odd.output;
  const Result missing = run("run -i " + (dir / "nope.mkv") + " -o " + (dir / "o.mkv") + " -m synthetic --device cpu");
  EXPECT_EQ(missing.code, 2) << missing.output;
  EXPECT_FALSE(fs::exists(dir / "odd.mp4.part"));
}

TEST(RunVideoFiles, CtrlCLeavesAValidShorterVideo) {
  ScratchDir dir;
  const Result r = shell(binary() + " run -i synthetic:64x48:100000 -o " + (dir / "o.mkv") +
                         " -m synthetic:x1:2 --encoder ffv1 --device cpu & pid=$!; sleep 1; kill -INT $pid; wait $pid");
  EXPECT_EQ(r.code, 130) << r.output;
  ASSERT_TRUE(fs::exists(dir / "o.mkv")) << r.output;
  const Decoded out = read_all(dir / "o.mkv");
  EXPECT_GT(out.frames.size(), 0U);
  EXPECT_LT(out.frames.size(), 100000U);
}

}  // namespace
}  // namespace pyn::test
