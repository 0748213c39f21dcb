// VideoReader's --hwdec without a GPU at hand: what keeps a stream off NVDEC (a codec without the
// hwaccel, 4:2:2, no CUDA device) gives, under automatic, the CPU decoder's frames and one line on
// stderr saying why, and under cuda a UsageError of one line. NVDEC itself: nvdec_gpu_test.cpp.

#include <gtest/gtest.h>

#include <string>

#include "io/ffmpeg_test_util.hpp"

namespace pyn::test {
namespace {

using HwDecode = VideoInputOptions::HwDecode;

VideoInputOptions with_hwdec(const std::string& path, HwDecode mode) {
  VideoInputOptions o = input_of(path);
  o.hwdec = mode;
  return o;
}

// Under automatic: the CPU's frames, one stderr line "note: PATH: decoding on the CPU: WHY", and
// WHY in hwdec_fallback; returns WHY.
std::string expect_fallback(const std::string& path) {
  const Decoded cpu = read_all(with_hwdec(path, HwDecode::none));
  testing::internal::CaptureStderr();
  const Decoded automatic = read_all(with_hwdec(path, HwDecode::automatic));
  const std::string said = testing::internal::GetCapturedStderr();
  EXPECT_FALSE(automatic.info.on_device);
  // The CPU decoder's own warnings (4:2:2 becomes 4:4:4) come first, as without --hwdec.
  std::string notes;
  for (std::size_t at = 0; at < said.size();) {
    const std::size_t end = said.find('\n', at);
    const std::string line = said.substr(at, end - at + 1);
    if (!line.starts_with("warning: ")) {
      notes += line;
    }
    at = end == std::string::npos ? said.size() : end + 1;
  }
  EXPECT_EQ(notes, "note: " + path + ": decoding on the CPU: " + automatic.info.hwdec_fallback + "\n");
  EXPECT_EQ(automatic.info.hwdec_fallback.find('\n'), std::string::npos);
  EXPECT_EQ(automatic.info.format, cpu.info.format);
  EXPECT_EQ(automatic.frames, cpu.frames);
  EXPECT_EQ(automatic.info.decoder.find(" on the cpu"), automatic.info.decoder.size() - 11);
  return automatic.info.hwdec_fallback;
}

// Under cuda: UsageError "PATH: cannot decode on NVDEC: WHY".
void expect_refusal(const std::string& path, const std::string& why) {
  try {
    const VideoReader reader(with_hwdec(path, HwDecode::cuda));
    ADD_FAILURE() << "opened on NVDEC";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": cannot decode on NVDEC: " + why);
  }
}

TEST(NvdecReader, CodecWithoutTheHwaccelDecodesOnTheCpu) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  make_clip(spec);  // ffv1
  const std::string why = expect_fallback(spec.path);
  EXPECT_EQ(why, "this FFmpeg's ffv1 decoder has no NVDEC (CUDA) hwaccel");
  expect_refusal(spec.path, why);
}

// An H.264 clip in `pix_fmt` decodes on the CPU under automatic, and cuda refuses it, both saying
// `want`; skipped where this FFmpeg's h264 decoder has no NVDEC at all.
void expect_h264_on_the_cpu(AVPixelFormat pix_fmt, const std::string& want) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.video_encoder = "libx264";
  spec.pix_fmt = pix_fmt;
  make_clip(spec);
  const std::string why = expect_fallback(spec.path);
  if (why.find("hwaccel") != std::string::npos) {
    GTEST_SKIP() << "this FFmpeg has no NVDEC for h264: " << why;
  }
  EXPECT_EQ(why, want);
  expect_refusal(spec.path, why);
}

TEST(NvdecReader, Yuv422DecodesOnTheCpu) {
  expect_h264_on_the_cpu(AV_PIX_FMT_YUV422P, "4:2:2 (yuv422p) is not decoded by NVDEC");
}

// High 10 H.264 is not in NVDEC's hardware (found on a GPU machine, where FFmpeg's hwaccel gave
// CPU frames at the first frame): said before the decoder opens.
TEST(NvdecReader, TenBitH264DecodesOnTheCpu) {
  expect_h264_on_the_cpu(AV_PIX_FMT_YUV420P10LE,
                         "NVDEC decodes H.264 only as 8-bit 4:2:0, not yuv420p10le");
}

TEST(NvdecReader, NoCudaDeviceDecodesOnTheCpu) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mp4";
  spec.video_encoder = "libx264";
  make_clip(spec);
  {
    testing::internal::CaptureStderr();
    const VideoReader probe(with_hwdec(spec.path, HwDecode::automatic));
    (void)testing::internal::GetCapturedStderr();
    if (probe.info().on_device) {
      GTEST_SKIP() << "NVDEC opened here: the GPU test covers it";
    }
  }
  const std::string why = expect_fallback(spec.path);
  if (why.find("hwaccel") != std::string::npos) {
    GTEST_SKIP() << "this FFmpeg has no NVDEC for h264: " << why;
  }
  EXPECT_EQ(why.rfind("FFmpeg cannot open CUDA device 0 for NVDEC: ", 0), 0U) << why;
  expect_refusal(spec.path, why);
}

TEST(NvdecReader, CpuFramesAreReadNotLent) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  make_clip(spec);
  VideoReader reader(input_of(spec.path));
  EXPECT_EQ(reader.info().decoder, "ffv1 on the cpu");
  EXPECT_THROW((void)reader.lend_frame(), UsageError);
}

}  // namespace
}  // namespace pyn::test
