// NVDEC through VideoReader (--hwdec cuda) against FFmpeg's CPU decoder, on clips the project's
// own VideoWriter makes: libx264 and libx265, 8 and 10 bit, 4:2:0, at 1280x720 and 3840x2160, and
// AV1 (libaom) where this FFmpeg encodes it. Each NVDEC frame is copied off the device
// (cudaMemcpy2D from its pitched planes), turned into planar samples (NV12/P010's interleaved
// chroma split, P010's high bits shifted down) and compared by hash with the CPU decoder's frame,
// with its time; and `run` with --hwdec cuda gives the bytes --hwdec none gives through the
// synthetic x1 engine. Skips without a CUDA device, or where FFmpeg cannot open NVDEC there.

#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

extern "C" {
#include <libavcodec/avcodec.h>
}

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/program.hpp"
#include "io/ffmpeg_test_util.hpp"
#include "pynference/io/video_stream.hpp"

namespace pyn::test {
namespace {

using HwDecode = VideoInputOptions::HwDecode;

bool has_cuda() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

std::uint64_t fnv1a(const std::vector<std::byte>& bytes) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const std::byte b : bytes) {
    h = (h ^ static_cast<std::uint64_t>(b)) * 1099511628211ULL;
  }
  return h;
}

struct Clip {
  std::string encoder;
  int bits;
  int width;
  int height;
  int frames;
};

// A moving gradient with texture, so that the codec predicts and the decoders have work.
void write_clip(const std::string& path, const Clip& c) {
  YuvDesc desc{c.width, c.height, ChromaLayout::yuv420, c.bits};
  VideoOutputOptions out;
  out.path = path;
  out.encoder = c.encoder;
  if (c.encoder == "libx264" || c.encoder == "libx265") {
    out.preset = "ultrafast";
  }
  out.copy_streams = false;
  VideoWriter writer(out, desc, video_info_for(desc, Rational{25, 1}, Rational{}));
  std::vector<std::byte> frame(desc.bytes());
  const int top = (1 << c.bits) - 1;
  std::uint32_t noise = 12345;
  for (int i = 0; i < c.frames; ++i) {
    const FramePlanes planes = packed_planes(desc, frame.data());
    for (int p = 0; p < 3; ++p) {
      const int w = p == 0 ? c.width : static_cast<int>(desc.chroma_width());
      const int h = p == 0 ? c.height : static_cast<int>(desc.chroma_height());
      for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
          noise = noise * 1664525U + 1013904223U;
          const int v = ((x + 3 * i) * (p + 1) + y * 2 + static_cast<int>(noise >> 28)) % (top + 1);
          auto* row = planes[static_cast<std::size_t>(p)].data +
                      static_cast<std::size_t>(y) * planes[static_cast<std::size_t>(p)].pitch;
          if (c.bits > 8) {
            const auto s = static_cast<std::uint16_t>(v);
            std::memcpy(row + 2 * static_cast<std::size_t>(x), &s, 2);
          } else {
            row[x] = static_cast<std::byte>(v);
          }
        }
      }
    }
    writer.write_frame(frame, FrameTime{i, 1});
  }
  writer.close();
}

// A device frame of `format` (NV12, P010, yuv444p, yuv444p16) as the planar bytes of
// planar_of(format).
std::vector<std::byte> download_planar(const YuvDesc& format, const FramePlanes& planes) {
  std::vector<std::vector<std::byte>> host(static_cast<std::size_t>(plane_count(format)));
  for (int p = 0; p < plane_count(format); ++p) {
    auto& h = host[static_cast<std::size_t>(p)];
    const std::size_t row = plane_row_bytes(format, p);
    const auto rows = static_cast<std::size_t>(plane_rows(format, p));
    h.resize(row * rows);
    const Plane& plane = planes[static_cast<std::size_t>(p)];
    EXPECT_EQ(cudaMemcpy2D(h.data(), row, plane.data, plane.pitch, row, rows,
                           cudaMemcpyDeviceToHost),
              cudaSuccess);
  }
  const YuvDesc planar = planar_of(format);
  std::vector<std::byte> out(planar.bytes());
  const FramePlanes to = packed_planes(planar, out.data());
  const std::size_t sample = planar.sample_bytes();
  const unsigned shift = format.msb_aligned ? static_cast<unsigned>(16 - format.bits) : 0U;
  for (int p = 0; p < 3; ++p) {
    const std::size_t count = plane_row_bytes(planar, p) / sample *
                              static_cast<std::size_t>(plane_rows(planar, p));
    for (std::size_t i = 0; i < count; ++i) {
      const bool interleaved = p > 0 && format.interleaved_chroma;
      const std::size_t at = interleaved ? 2 * i + (p == 2 ? 1 : 0) : i;
      const auto& from = host[static_cast<std::size_t>(interleaved ? 1 : p)];
      std::uint16_t v = 0;
      std::memcpy(&v, from.data() + at * sample, sample);
      v = static_cast<std::uint16_t>(v >> shift);
      std::memcpy(to[static_cast<std::size_t>(p)].data + i * sample, &v, sample);
    }
  }
  return out;
}

class NvdecGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!has_cuda()) {
      GTEST_SKIP() << "no CUDA device";
    }
    // As in a run, where the pipeline's device is open before the reader: the runtime makes the
    // primary context with its own scheduling flags, which FFmpeg refused until the reader set its
    // own (av_cuda.cpp).
    ASSERT_EQ(cudaFree(nullptr), cudaSuccess);
  }

  // NVDEC's frames and times against the CPU decoder's, frame by frame by hash.
  void compare(const std::string& path, const VideoInputOptions& window, int expect_bits) {
    VideoInputOptions cpu_options = window;
    cpu_options.path = path;
    const Decoded cpu = read_all(cpu_options);
    ASSERT_FALSE(cpu.frames.empty()) << path;
    VideoInputOptions hw_options = cpu_options;
    hw_options.hwdec = HwDecode::cuda;
    VideoReader nvdec(hw_options);
    ASSERT_TRUE(nvdec.info().on_device) << path;
    EXPECT_NE(nvdec.info().decoder.find(" on nvdec (cuda:0)"), std::string::npos)
        << nvdec.info().decoder;
    const auto& format = std::get<YuvDesc>(nvdec.info().format);
    EXPECT_EQ(format.bits, expect_bits) << to_string(format);
    EXPECT_EQ(planar_of(format), std::get<YuvDesc>(cpu.info.format)) << to_string(format);
    std::size_t n = 0;
    FrameTime t;
    while (const std::optional<FramePlanes> planes = nvdec.lend_frame(&t)) {
      ASSERT_LT(n, cpu.frames.size()) << path << ": NVDEC gave more frames";
      const std::vector<std::byte> got = download_planar(format, *planes);
      nvdec.give_back(static_cast<std::int64_t>(n));
      EXPECT_EQ(fnv1a(got), fnv1a(cpu.frames[n])) << path << " frame " << n;
      EXPECT_EQ(t.pts, cpu.times[n].pts) << path << " frame " << n;
      EXPECT_EQ(t.duration, cpu.times[n].duration) << path << " frame " << n;
      ++n;
    }
    EXPECT_EQ(n, cpu.frames.size()) << path;
  }
};

TEST_F(NvdecGpu, FramesEqualTheCpuDecodersByHash) {
  ScratchDir dir;
  std::vector<Clip> clips = {
      {"libx264", 8, 1280, 720, 30},  {"libx265", 8, 1280, 720, 30},
      {"libx265", 10, 1280, 720, 30},
      {"libx264", 8, 3840, 2160, 12}, {"libx265", 10, 3840, 2160, 12},
  };
  if (avcodec_find_encoder_by_name("libaom-av1") != nullptr) {
    clips.push_back({"libaom-av1", 8, 352, 288, 8});
    clips.push_back({"libaom-av1", 10, 352, 288, 8});
  }
  for (const Clip& c : clips) {
    const std::string path = dir / (c.encoder + "-" + std::to_string(c.bits) + "-" +
                                    std::to_string(c.width) + ".mkv");
    write_clip(path, c);
    SCOPED_TRACE(path);
    if (c.encoder == "libaom-av1") {  // where the card (and this FFmpeg) decodes it
      VideoInputOptions probe = input_of(path);
      probe.hwdec = HwDecode::cuda;
      try {
        const VideoReader reader(probe);
      } catch (const UsageError& e) {
        std::printf("AV1 %d-bit not compared: %s\n", c.bits, e.what());
        continue;
      }
    }
    compare(path, VideoInputOptions{}, c.bits);
  }
}

// High 10 H.264 is not in NVDEC's hardware: refused before the decoder opens, in one line.
TEST_F(NvdecGpu, TenBitH264IsRefused) {
  ScratchDir dir;
  const std::string path = dir / "x264-10.mkv";
  write_clip(path, {"libx264", 10, 1280, 720, 4});
  VideoInputOptions options = input_of(path);
  options.hwdec = HwDecode::cuda;
  try {
    const VideoReader reader(options);
    ADD_FAILURE() << "opened on NVDEC";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ": cannot decode on NVDEC: NVDEC decodes H.264 only as 8-bit 4:2:0, not "
                     "yuv420p10le");
  }
}

TEST_F(NvdecGpu, WindowsSeekAsOnTheCpu) {
  ScratchDir dir;
  const std::string path = dir / "x264.mp4";
  write_clip(path, {"libx264", 8, 1280, 720, 50});
  VideoInputOptions window;
  window.start_s = 0.6;
  window.duration_s = 0.8;
  compare(path, window, 8);
}

TEST_F(NvdecGpu, LendingIsBoundedAndStopEndsTheWait) {
  ScratchDir dir;
  const std::string path = dir / "x265.mkv";
  write_clip(path, {"libx265", 10, 1280, 720, 10});
  VideoInputOptions options = input_of(path);
  options.hwdec = HwDecode::cuda;
  options.device_frames = 2;
  VideoSource source(options);
  ASSERT_EQ(source.lends(), Memory::device);
  FrameInfo a{0, std::nullopt};
  FrameInfo b{1, std::nullopt};
  ASSERT_TRUE(source.lend(a));
  ASSERT_TRUE(source.lend(b));
  source.give_back(0);
  FrameInfo c{2, std::nullopt};
  ASSERT_TRUE(source.lend(c));  // one came back: room for one more
  source.stop_lending();
  FrameInfo d{3, std::nullopt};
  EXPECT_FALSE(source.lend(d));  // at the bound, stopped: no wait
}

TEST_F(NvdecGpu, RunGivesTheSameBytesAsCpuDecoding) {
  ScratchDir dir;
  for (const Clip& c : {Clip{"libx264", 8, 1280, 720, 20}, Clip{"libx265", 10, 1280, 720, 20}}) {
    const std::string clip = dir / (c.encoder + ".mkv");
    write_clip(clip, c);
    const std::string none = dir / (c.encoder + "-none.y4m");
    const std::string cuda = dir / (c.encoder + "-cuda.y4m");
    const Result a = run("run -i " + clip + " -m synthetic:x1 --hwdec none --quiet -o " + none);
    ASSERT_EQ(a.code, 0) << a.output;
    const Result b = run("run -i " + clip + " -m synthetic:x1 --hwdec cuda -o " + cuda);
    ASSERT_EQ(b.code, 0) << b.output;
    EXPECT_NE(b.output.find("decode: " + std::string(c.encoder == "libx264" ? "h264" : "hevc") +
                            " on nvdec"),
              std::string::npos)
        << b.output;
    const std::string expected = read(none);
    EXPECT_FALSE(expected.empty());
    EXPECT_TRUE(read(cuda) == expected) << c.encoder << ": --hwdec cuda and none differ";
    // Batches under every schedule: a group needs all its frames lent before any comes back
    // (serial-pageable gives nothing back before), and a window seeks as on the CPU.
    for (const char* extra : {"--strategy serial-pageable --batch 4", "--strategy multi-compute --batch 3",
                              "--slots 2", "-ss 0.2 -t 0.4"}) {
      const std::string a_out = dir / (c.encoder + "-none-x.y4m");
      const std::string b_out = dir / (c.encoder + "-cuda-x.y4m");
      const Result x = run("run -y -i " + clip + " -m synthetic:x1 --hwdec none --quiet " + extra +
                           " -o " + a_out);
      ASSERT_EQ(x.code, 0) << extra << ": " << x.output;
      const Result y = run("run -y -i " + clip + " -m synthetic:x1 --hwdec cuda --quiet " + extra +
                           " -o " + b_out);
      ASSERT_EQ(y.code, 0) << extra << ": " << y.output;
      EXPECT_TRUE(read(a_out) == read(b_out)) << c.encoder << " " << extra << ": they differ";
    }
  }
}

}  // namespace
}  // namespace pyn::test
