// `pynference run` with FFmpeg containers, as a user runs it: a clip with audio made with libav*,
// the synthetic engine through `run`, and the result decoded again: size, frame count, order,
// every pixel (ffv1 is lossless: compared with the CPU reference of the whole chain), timing and
// the copied audio; 10-bit and odd sizes; damaged and cut input; Ctrl-C.

#include <cstdlib>
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
  synthetic_cpu(TensorView{tensor_in.data(), in_shape, DType::f16},
                TensorView{tensor_out.data(), out_shape, DType::f16}, scale);
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
                         ::testing::Values(Case{AV_PIX_FMT_YUV420P, 64, 48},
                                           Case{AV_PIX_FMT_YUV420P10LE, 35, 21},
                                           Case{AV_PIX_FMT_YUV444P, 33, 17}),
                         [](const auto& p) {
                           return std::string(av_get_pix_fmt_name(p.param.pix_fmt)) + "_" +
                                  std::to_string(p.param.width) + "x" +
                                  std::to_string(p.param.height);
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
    const Result r = run("run -i " + spec.path + " -o " + (dir / "out/%03d.png") +
                         " -m synthetic:x2 --device cpu --quiet");
    ASSERT_EQ(r.code, 0) << r.output;
    const Decoded in = read_all(spec.path);
    const Decoded out = read_all(dir / "out/%03d.png");
    ASSERT_TRUE(std::holds_alternative<ImageDesc>(out.info.format));
    EXPECT_EQ(std::get<ImageDesc>(out.info.format).pixel,
              std::get<ImageDesc>(in.info.format).pixel);
    ASSERT_EQ(out.frames.size(), 4U);
    for (std::size_t i = 0; i < in.frames.size(); ++i) {
      EXPECT_TRUE(out.frames[i] == expected_output(in.info.format, in.frames[i], 2))
          << "frame " << i;
    }
  }
}

// Image sequences: the first frame found wherever the numbers start (ffmpeg looks at 0 to 4 only),
// --start-number, --input-rate (25 by default) and globs taken in name order.
TEST(RunVideoFiles, SequencesStartWhereTheirFramesStartAtTheirRateAndGlobsInNameOrder) {
  ScratchDir dir;
  fs::create_directories(dir / "in");
  fs::create_directories(dir / "glob");
  ClipSpec spec;
  spec.path = dir / "in/%04d.png";
  spec.video_encoder = "png";
  spec.pix_fmt = AV_PIX_FMT_RGB24;
  spec.width = 32;
  spec.height = 16;
  spec.frames = 6;
  make_clip(spec);
  const Decoded all = read_all(spec.path);
  ASSERT_EQ(all.frames.size(), 6U);
  // 0001..0006 become 0100..0105; three of them are copied for the glob, named against their order.
  for (int i = 0; i < 6; ++i) {
    char from[16];
    char to[16];
    std::snprintf(from, sizeof from, "%04d.png", i + 1);
    std::snprintf(to, sizeof to, "%04d.png", i + 100);
    fs::rename(dir / ("in/" + std::string(from)), dir / ("in/" + std::string(to)));
    if (i < 3) {
      fs::copy_file(dir / ("in/" + std::string(to)),
                    dir / (std::string("glob/f-") + "bac"[i] + ".png"));
    }
  }
  const std::string base = " -m synthetic:x1 --device cpu --quiet";
  const auto frames_of = [&](const std::string& args, const std::string& out) {
    fs::create_directories(dir / out);
    const Result r = run("run " + args + " -o " + (dir / (out + "/%03d.png")) + base);
    EXPECT_EQ(r.code, 0) << args << ": " << r.output;
    return r.code == 0 ? read_all(dir / (out + "/%03d.png")).frames : std::vector<Bytes>{};
  };
  const auto expect_frames = [&](const std::vector<Bytes>& got, const std::vector<int>& from) {
    ASSERT_EQ(got.size(), from.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(got[i] == expected_output(all.info.format, all.frames[from[i]], 1))
          << "frame " << i;
    }
  };
  expect_frames(frames_of("-i " + spec.path, "found"), {0, 1, 2, 3, 4, 5});
  expect_frames(frames_of("-i " + spec.path + " --start-number 102", "from102"), {2, 3, 4, 5});
  expect_frames(frames_of("-i '" + (dir / "glob/*.png") + "'", "glob"), {1, 0, 2});

  for (const auto& [rate, expected] :
       {std::pair{std::string(), Rational{25, 1}},
        std::pair{std::string(" --input-rate 10"), Rational{10, 1}},
        std::pair{std::string(" --input-rate 30000/1001"), Rational{30000, 1001}}}) {
    fs::remove(dir / "rate.mkv");
    const Result r =
        run("run -i " + spec.path + rate + " -o " + (dir / "rate.mkv") + " --encoder ffv1" + base);
    ASSERT_EQ(r.code, 0) << rate << ": " << r.output;
    const Decoded out = read_all(dir / "rate.mkv");
    EXPECT_EQ(out.info.frame_rate, expected) << rate;
    EXPECT_EQ(out.frames.size(), 6U) << rate;
  }
  ClipSpec mkv;
  mkv.path = dir / "in.mkv";
  mkv.frames = 3;
  make_clip(mkv);
  for (const std::string& bad :
       {"-i " + mkv.path + " --start-number 3", "-i " + mkv.path + " --input-rate 10",
        "-i " + spec.path + " --input-rate fast"}) {
    const Result r = run("run " + bad + " -o " + (dir / "x.mkv") + base);
    EXPECT_EQ(r.code, 2) << bad << ": " << r.output;
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
  const Result r =
      run("run -i " + spec.path + " -o " + (dir / "out.mp4") +
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
    const Result r = run("run -i " + (dir / name) + " -o " + (dir / "out.mkv") +
                         " -m synthetic:x1 --device cpu --quiet");
    EXPECT_EQ(r.code, 1) << name << ": " << r.output;
    EXPECT_NE(r.output.find("frame "), std::string::npos) << name << ": " << r.output;
    EXPECT_FALSE(fs::exists(dir / "out.mkv")) << name;
    EXPECT_FALSE(fs::exists(dir / "out.mkv.part")) << name;
  }
  const Result odd =
      run("run -i synthetic:65x49:3 -o " + (dir / "odd.mp4") + " -m synthetic:x1 --device cpu");
  EXPECT_EQ(odd.code, 2) << odd.output;
  EXPECT_NE(odd.output.find("65x49"), std::string::npos) << odd.output;
  const Result missing =
      run("run -i " + (dir / "nope.mkv") + " -o " + (dir / "o.mkv") + " -m synthetic --device cpu");
  EXPECT_EQ(missing.code, 2) << missing.output;
  EXPECT_FALSE(fs::exists(dir / "odd.mp4.part"));
}

// A copy of `from` with 64 bytes in the middle overwritten.
std::string damaged_copy(const std::string& from, const std::string& to) {
  fs::copy_file(from, to);
  std::fstream f(to, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(fs::file_size(from) / 2));
  const std::string junk(64, '\x5a');
  f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  return to;
}

// The number after `before` in `text`; -1 where there is none.
long long number_after(const std::string& text, const std::string& before) {
  const std::size_t at = text.find(before);
  return at == std::string::npos ? -1 : std::atoll(text.c_str() + at + before.size());
}

// --on-error keep: the frames before the damage are written and renamed into place, exit 1, one
// line saying how many; skip: the run goes on past the damage and counts it; stop as before.
TEST(RunVideoFiles, OnErrorKeepWritesTheFramesBeforeTheDamageAndSkipGoesOn) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.frames = 20;
  make_clip(spec);
  const std::string bad = damaged_copy(spec.path, dir / "bad.mkv");
  const std::string base = " -m synthetic:x1 --encoder ffv1 --device cpu";

  const Result keep =
      run("run -i " + bad + " -o " + (dir / "kept.mkv") + base + " --on-error keep");
  EXPECT_EQ(keep.code, 1) << keep.output;
  const long long at = number_after(keep.output, bad + ": frame ");
  const long long kept = number_after(keep.output, "kept the ");
  EXPECT_NE(keep.output.find("slice CRC mismatch"), std::string::npos) << keep.output;
  EXPECT_EQ(keep.output.find("pynference: wrote"), std::string::npos) << keep.output;
  EXPECT_EQ(kept, at) << keep.output;
  EXPECT_GE(kept, 3) << keep.output;
  EXPECT_LT(kept, 20) << keep.output;
  ASSERT_TRUE(fs::exists(dir / "kept.mkv")) << keep.output;
  EXPECT_FALSE(fs::exists(dir / "kept.mkv.part"));
  const Decoded in = read_all(spec.path);
  const Decoded out = read_all(dir / "kept.mkv");
  ASSERT_EQ(static_cast<long long>(out.frames.size()), kept);
  for (std::size_t i = 0; i < out.frames.size(); ++i) {
    EXPECT_TRUE(out.frames[i] == expected_output(in.info.format, in.frames[i], 1)) << "frame " << i;
  }

  const Result skip =
      run("run -i " + bad + " -o " + (dir / "skip.mkv") + base + " --on-error skip");
  EXPECT_EQ(skip.code, 0) << skip.output;
  const long long damaged = number_after(skip.output, "; ");
  EXPECT_NE(skip.output.find(" damaged frame"), std::string::npos) << skip.output;
  EXPECT_GE(damaged, 1) << skip.output;
  const Decoded skipped = read_all(dir / "skip.mkv");
  EXPECT_GT(static_cast<long long>(skipped.frames.size()), kept) << skip.output;
  EXPECT_LE(skipped.frames.size(), 20U);

  const Result stop =
      run("run -i " + bad + " -o " + (dir / "stop.mkv") + base + " --on-error stop");
  EXPECT_EQ(stop.code, 1) << stop.output;
  EXPECT_FALSE(fs::exists(dir / "stop.mkv"));
  EXPECT_FALSE(fs::exists(dir / "stop.mkv.part"));

  const Result wrong =
      run("run -i " + bad + " -o " + (dir / "w.mkv") + base + " --on-error ignore");
  EXPECT_EQ(wrong.code, 2) << wrong.output;
  const Result y4m =
      run("run -i synthetic:64x48:3 -o " + (dir / "s.mkv") + base + " --on-error skip");
  EXPECT_EQ(y4m.code, 2) << y4m.output;
}

// H.264 in MP4 damaged in the middle: stop fails naming a frame; skip decodes on as ffmpeg does and
// writes a file with frames past the damage; keep writes the frames before it.
TEST(RunVideoFiles, OnErrorWithDamagedH264InMp4) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mp4";
  spec.video_encoder = "libx264";
  spec.width = 320;
  spec.height = 240;
  spec.frames = 30;
  make_clip(spec);
  const std::string bad = damaged_copy(spec.path, dir / "bad.mp4");
  const std::string base = " -m synthetic:x1 --encoder ffv1 --device cpu";
  const Result stop = run("run -i " + bad + " -o " + (dir / "stop.mkv") + base);
  EXPECT_EQ(stop.code, 1) << stop.output;
  EXPECT_FALSE(fs::exists(dir / "stop.mkv"));
  const long long at = number_after(stop.output, bad + ": frame ");
  EXPECT_GE(at, 0) << stop.output;

  const Result skip =
      run("run -i " + bad + " -o " + (dir / "skip.mkv") + base + " --on-error skip");
  EXPECT_EQ(skip.code, 0) << skip.output;
  EXPECT_GT(static_cast<long long>(read_all(dir / "skip.mkv").frames.size()), at) << skip.output;

  const Result keep =
      run("run -i " + bad + " -o " + (dir / "keep.mkv") + base + " --on-error keep");
  EXPECT_EQ(keep.code, 1) << keep.output;
  if (at > 0) {
    ASSERT_TRUE(fs::exists(dir / "keep.mkv")) << keep.output;
    EXPECT_EQ(static_cast<long long>(read_all(dir / "keep.mkv").frames.size()), at) << keep.output;
    EXPECT_EQ(number_after(keep.output, "kept the "), at) << keep.output;
  } else {
    EXPECT_FALSE(fs::exists(dir / "keep.mkv")) << keep.output;
  }
}

// -i - reads a container as well as Y4M (told apart by its first bytes): Matroska through cat and
// from a file on standard input, NUT from another run's -o - -f nut, and --input-format.
TEST(RunVideoFiles, ContainersOnStandardInput) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.frames = 12;
  make_clip(spec);
  const Decoded in = read_all(spec.path);
  const std::string base = " -m synthetic:x1 --encoder ffv1 --device cpu --quiet";
  const auto check = [&](const std::string& name, const Result& r, int passes) {
    ASSERT_EQ(r.code, 0) << name << ": " << r.output;
    const Decoded out = read_all(dir / name);
    ASSERT_EQ(out.frames.size(), in.frames.size()) << name;
    for (std::size_t i = 0; i < in.frames.size(); ++i) {
      Bytes expected = in.frames[i];
      for (int p = 0; p < passes; ++p) {
        expected = expected_output(in.info.format, expected, 1);
      }
      EXPECT_TRUE(out.frames[i] == expected) << name << ": frame " << i;
    }
  };
  const std::string pyn = binary();
  check("cat.mkv",
        shell("cat " + spec.path + " | " + pyn + " run -i - -o " + (dir / "cat.mkv") + base), 1);
  check("file.mkv", shell(pyn + " run -i - -o " + (dir / "file.mkv") + base + " < " + spec.path),
        1);
  check("nut.mkv",
        shell(pyn + " run -i " + spec.path + " -o - -f nut" + base + " | " + pyn + " run -i - -o " +
              (dir / "nut.mkv") + base),
        2);
  check("named.mkv",
        shell("cat " + spec.path + " | " + pyn + " run -i - --input-format matroska -o " +
              (dir / "named.mkv") + base),
        1);
  const Result unknown = shell("cat " + spec.path + " | " + pyn +
                               " run -i - --input-format nosuch -o " + (dir / "x.mkv") + base);
  EXPECT_EQ(unknown.code, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("nosuch"), std::string::npos) << unknown.output;
  EXPECT_FALSE(fs::exists(dir / "x.mkv"));
}

TEST(RunVideoFiles, CtrlCLeavesAValidShorterVideo) {
  ScratchDir dir;
  // The signal goes once frames have reached the partial file, so after the program's handler is
  // in place (as run_test.cpp's after_frames does): a shell's background job starts with SIGINT
  // ignored, and one sent before the handler (after a fixed second, on a loaded machine) was lost.
  const Result r = shell(binary() + " run -i synthetic:64x48:100000 -o " + (dir / "o.mkv") +
                         " -m synthetic:x1:2 --encoder ffv1 --device cpu & pid=$!; "
                         "for i in $(seq 300); do [ $(stat -c %s '" +
                         (dir / "o.mkv") +
                         ".part' 2>/dev/null || echo 0) -gt 2000 ] && break; sleep 0.1; done; "
                         "kill -INT $pid; wait $pid");
  EXPECT_EQ(r.code, 130) << r.output;
  ASSERT_TRUE(fs::exists(dir / "o.mkv")) << r.output;
  const Decoded out = read_all(dir / "o.mkv");
  EXPECT_GT(out.frames.size(), 0U);
  EXPECT_LT(out.frames.size(), 100000U);
}

TEST(RunVideoFiles, ImageOutputsAreEncodedAsTheirExtensionSays) {
  ScratchDir dir;
  struct Image {
    std::string out;   // -o
    std::string file;  // one file written
    std::string codec;
  };
  const Image cases[] = {{"one.jpg", "one.jpg", "mjpeg"},
                         {"t/%04d.tif", "t/0003.tif", "tiff"},
                         {"w/%04d.webp", "w/0003.webp", "webp"},
                         {"p/%04d.png", "p/0003.png", "png"}};
  for (const Image& c : cases) {
    fs::create_directories(dir.path() / fs::path(c.out).parent_path());
    const Result r = run("run -i synthetic:64x48:3 -o " + (dir / c.out) +
                         " -m synthetic:x1 --device cpu --quiet");
    ASSERT_EQ(r.code, 0) << c.out << ": " << r.output;
    const auto streams = probe(dir / c.file);
    ASSERT_NE(find(streams, AVMEDIA_TYPE_VIDEO), nullptr) << c.file;
    EXPECT_EQ(find(streams, AVMEDIA_TYPE_VIDEO)->codec, c.codec) << c.file;
    EXPECT_EQ(find(streams, AVMEDIA_TYPE_VIDEO)->width, 64) << c.file;
  }
  // One image file for three frames: the last one, and a warning says so.
  const Result one =
      run("run -i synthetic:64x48:3 -o " + (dir / "two.jpg") + " -m synthetic:x1 --device cpu");
  EXPECT_NE(one.output.find("holds one image"), std::string::npos) << one.output;
  EXPECT_EQ(find(probe(dir / "two.jpg"), AVMEDIA_TYPE_VIDEO)->pix_fmt, AV_PIX_FMT_YUVJ420P)
      << "full range for viewers";
}

TEST(RunVideoFiles, MpegTsPsM2tsAndMxfFromAContainerInput) {
  // An mp4 input counts in 1/12800 s; MPEG-1/2 take their frame rate from the time base.
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mp4";
  spec.video_encoder = "libx264";
  spec.frames = 12;
  make_clip(spec);
  ASSERT_EQ(run("run -i " + spec.path + " -o " + (dir / "ref.mkv") +
                " -m synthetic:x1 --device cpu --quiet --encoder ffv1")
                .code,
            0);
  const std::vector<int> expected = stamps_of(read_all(dir / "ref.mkv"));
  for (const char* name : {"o.ts", "o.mpg", "o.m2ts", "o.mxf"}) {
    const Result r = run("run -i " + spec.path + " -o " + (dir / name) +
                         " -m synthetic:x1 --device cpu --quiet");
    ASSERT_EQ(r.code, 0) << name << ": " << r.output;
    const Decoded out = read_all(dir / name);
    ASSERT_EQ(out.frames.size(), 12U) << name;
    const std::vector<int> stamps = stamps_of(out);
    for (std::size_t i = 0; i < stamps.size(); ++i) {
      EXPECT_NEAR(stamps[i], expected[i], 1)
          << name << " frame " << i << " (lossy: within one step)";
    }
    EXPECT_EQ(out.info.frame_rate, (Rational{25, 1})) << name;
  }
  // 12 fps is no MPEG-1 rate: the next one up that is, each frame at its own time.
  ClipSpec slow = spec;
  slow.path = dir / "slow.mkv";
  slow.video_encoder = "ffv1";
  slow.rate = {12, 1};
  make_clip(slow);
  const Result r = run("run -i " + slow.path + " -o " + (dir / "slow.mpg") +
                       " -m synthetic:x1 --device cpu --quiet");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("go out at 24000/1001 fps"), std::string::npos) << r.output;
  const auto streams = probe(dir / "slow.mpg");
  const StreamProbe* video = find(streams, AVMEDIA_TYPE_VIDEO);
  ASSERT_NE(video, nullptr);
  EXPECT_EQ(video->packets, 12);
  EXPECT_NEAR(video->end_s - video->first_s, 11.0 / 12.0, 0.1) << "the 12 fps timeline kept";
}

TEST(RunVideoFiles, AWindowWithoutFramesFailsAndWritesNothing) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.frames = 10;
  make_clip(spec);
  for (const char* window : {"-ss 5", "-t 0"}) {
    for (const char* name : {"o.mkv", "o.mp4", "o/%03d.png"}) {
      fs::create_directories(dir / "o");
      const Result r = run("run -i " + spec.path + " -o " + (dir / name) +
                           " -m synthetic:x1 --device cpu --quiet " + window);
      EXPECT_EQ(r.code, 1) << window << " " << name << ": " << r.output;
      EXPECT_NE(r.output.find("nothing written"), std::string::npos) << r.output;
      EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << "one line: " << r.output;
      EXPECT_FALSE(fs::exists(dir / name));
      EXPECT_FALSE(fs::exists(dir / (std::string(name) + ".part")));
      EXPECT_TRUE(fs::is_empty(dir / "o"));
    }
  }
}

TEST(RunVideoFiles, SequencesKeepExistingFramesWithoutYAndNeverReplaceTheInput) {
  ScratchDir dir;
  fs::create_directories(dir / "seq");
  const std::string pattern = dir / "seq/%04d.png";
  ASSERT_EQ(
      run("run -i synthetic:32x16:3 -o " + pattern + " -m synthetic:x1 --device cpu --quiet").code,
      0);
  const auto before = fs::last_write_time(dir / "seq/0002.png");
  const Result again =
      run("run -i synthetic:32x16:3 -o " + pattern + " -m synthetic:x1 --device cpu --quiet");
  EXPECT_EQ(again.code, 2) << again.output;
  EXPECT_NE(again.output.find("exists: add -y"), std::string::npos) << again.output;
  const Result same =
      run("run -i " + pattern + " -o " + pattern + " -m synthetic:x1 --device cpu --quiet -y");
  EXPECT_EQ(same.code, 2) << same.output;
  EXPECT_NE(same.output.find("the output is the input"), std::string::npos) << same.output;
  EXPECT_EQ(fs::last_write_time(dir / "seq/0002.png"), before);
  const Result forced =
      run("run -i synthetic:32x16:2 -o " + pattern + " -m synthetic:x1 --device cpu --quiet -y");
  EXPECT_EQ(forced.code, 0) << forced.output;
}

TEST(RunVideoFiles, DefaultsAViewerCanPlayNamedInTheSummary) {
  ScratchDir dir;
  // 4:4:4 and RGB sources: H.264 4:2:0 in an mp4 with its index first.
  for (const char* in : {"synthetic:64x48:5:yuv444p", "synthetic:64x48:5:rgb24"}) {
    const Result r = run(std::string("run -i ") + in + " -o " + (dir / "o.mp4") +
                         " -m synthetic:x1 --device cpu -y");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("as libx264 yuv420p crf 23"), std::string::npos) << r.output;
    const auto streams = probe(dir / "o.mp4");
    const StreamProbe* video = find(streams, AVMEDIA_TYPE_VIDEO);
    ASSERT_NE(video, nullptr);
    EXPECT_EQ(video->pix_fmt, AV_PIX_FMT_YUV420P) << in;
    const std::string bytes = read(dir / "o.mp4");
    ASSERT_NE(bytes.find("moov"), std::string::npos);
    EXPECT_LT(bytes.find("moov"), bytes.find("mdat")) << "faststart: the index before the media";
  }
  // 10-bit input: HEVC Main 10 keeps the depth.
  const Result deep = run("run -i synthetic:64x48:5:yuv420p10le -o " + (dir / "deep.mkv") +
                          " -m synthetic:x1 --device cpu --preset ultrafast");
  ASSERT_EQ(deep.code, 0) << deep.output;
  const auto streams = probe(dir / "deep.mkv");
  const StreamProbe* video = find(streams, AVMEDIA_TYPE_VIDEO);
  ASSERT_NE(video, nullptr);
  EXPECT_EQ(video->codec, "hevc");
  EXPECT_EQ(video->pix_fmt, AV_PIX_FMT_YUV420P10LE);
  // Asked for, 4:4:4 stays.
  const Result asked = run("run -i synthetic:64x48:5:yuv444p -o " + (dir / "asked.mkv") +
                           " -m synthetic:x1 --device cpu --pix-fmt yuv444p --quiet");
  ASSERT_EQ(asked.code, 0) << asked.output;
  EXPECT_EQ(find(probe(dir / "asked.mkv"), AVMEDIA_TYPE_VIDEO)->pix_fmt, AV_PIX_FMT_YUV444P);
}

TEST(RunVideoFiles, OpusIntoMovIsConvertedAndAudioCodecIsTaken) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.audio_encoder = "libopus";
  spec.frames = 25;
  make_clip(spec);
  const Result mov = run("run -i " + spec.path + " -o " + (dir / "o.mov") +
                         " -m synthetic:x1 --device cpu --quiet");
  ASSERT_EQ(mov.code, 0) << mov.output;
  EXPECT_NE(mov.output.find("converted to aac"), std::string::npos) << mov.output;
  const auto streams = probe(dir / "o.mov");
  ASSERT_NE(find(streams, AVMEDIA_TYPE_AUDIO), nullptr);
  EXPECT_EQ(find(streams, AVMEDIA_TYPE_AUDIO)->codec, "aac");
  const Result flac =
      run("run -i " + spec.path + " -o " + (dir / "o.mkv") +
          " -m synthetic:x1 --device cpu --quiet --encoder ffv1 --audio-codec flac");
  ASSERT_EQ(flac.code, 0) << flac.output;
  const auto again = probe(dir / "o.mkv");
  ASSERT_NE(find(again, AVMEDIA_TYPE_AUDIO), nullptr);
  EXPECT_EQ(find(again, AVMEDIA_TYPE_AUDIO)->codec, "flac");
  const Result bad = run("run -i " + spec.path + " -o " + (dir / "b.mkv") +
                         " -m synthetic:x1 --device cpu --audio-bitrate 9x");
  EXPECT_EQ(bad.code, 2) << bad.output;
}

TEST(RunVideoFiles, ContainersThatStreamGoToStandardOutputWithFormat) {
  ScratchDir dir;
  for (const char* format : {"matroska", "nut", "mpegts"}) {
    const std::string out = dir / (std::string("o.") + format);
    const Result r = shell(binary() + " run -i synthetic:64x48:5 -o - -f " + format +
                           " -m synthetic:x1 --device cpu --quiet > " + out);
    ASSERT_EQ(r.code, 0) << format << ": " << r.output;
    EXPECT_EQ(r.output, "") << "stdout holds the container alone";
    EXPECT_EQ(read_all(out).frames.size(), 5U) << format;
  }
  const Result mp4 = shell(
      binary() + " run -i synthetic:64x48:5 -o - --format mp4 -m synthetic:x1 --device cpu > " +
      (dir / "o.mp4"));
  EXPECT_EQ(mp4.code, 2) << mp4.output;
  EXPECT_NE(mp4.output.find("use matroska, nut or mpegts"), std::string::npos) << mp4.output;
  EXPECT_EQ(fs::file_size(dir / "o.mp4"), 0U);
}

TEST(RunVideoFiles, MapSelectsStreamsAndRefusesMissingOnesWithExitCode2) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.audio_encoder = "flac";
  spec.subtitles = {0.1, 0.5};
  spec.subtitle_streams = 2;
  spec.frames = 25;
  make_clip(spec);
  const std::string common = " -m synthetic:x1 --device cpu --quiet --encoder ffv1";
  const Result kept =
      run("run -i " + spec.path + " -o " + (dir / "o.mkv") + common + " -map -a --map s:1");
  ASSERT_EQ(kept.code, 0) << kept.output;
  const auto streams = probe(dir / "o.mkv");
  ASSERT_EQ(streams.size(), 2U);
  EXPECT_EQ(find(streams, AVMEDIA_TYPE_AUDIO), nullptr);
  ASSERT_NE(find(streams, AVMEDIA_TYPE_SUBTITLE), nullptr);
  EXPECT_NEAR(find(streams, AVMEDIA_TYPE_SUBTITLE)->first_s, 0.12, 0.002);

  const Result missing =
      run("run -i " + spec.path + " -o " + (dir / "m.mkv") + common + " --map a:1");
  EXPECT_EQ(missing.code, 2) << missing.output;
  EXPECT_NE(missing.output.find("--map a:1: " + spec.path + " has 1 audio stream (a:0)"),
            std::string::npos)
      << missing.output;
  EXPECT_FALSE(fs::exists(dir / "m.mkv"));
  EXPECT_FALSE(fs::exists(dir / "m.mkv.part"));
  const Result synthetic =
      run("run -i synthetic:64x48:2 -o " + (dir / "y.mkv") + common + " --map a");
  EXPECT_EQ(synthetic.code, 2) << synthetic.output;
  EXPECT_NE(synthetic.output.find("has no audio or subtitle streams"), std::string::npos)
      << synthetic.output;
  const Result both =
      run("run -i " + spec.path + " -o " + (dir / "n.mkv") + common + " --map a --no-audio");
  EXPECT_EQ(both.code, 2) << both.output;
  EXPECT_FALSE(fs::exists(dir / "n.mkv"));
}

TEST(RunVideoFiles, CrfOutsideTheEncodersRangeIsRefused) {
  ScratchDir dir;
  const Result r = run("run -i synthetic:64x48:2 -o " + (dir / "o.mp4") +
                       " -m synthetic:x1 --device cpu --crf 52");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("outside libx264's range 0 to 51"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "o.mp4.part"));
  EXPECT_EQ(run("run -i synthetic:64x48:2 -o " + (dir / "o.mp4") +
                " -m synthetic:x1 --device cpu --crf 51 --quiet")
                .code,
            0);
}

}  // namespace
}  // namespace pyn::test
