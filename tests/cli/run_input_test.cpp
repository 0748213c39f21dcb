// `pynference run` on the input side, as a user runs it: errors of one line (FFmpeg's own log only
// with --verbose), chroma siting through Y4M, frames too large for memory refused up front,
// repeated frame times, rotation.

#include <fstream>
#include <string>
#include <vector>

#include "cli/program.hpp"
#include "io/ffmpeg_test_util.hpp"

namespace pyn::test {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  while (begin < text.size()) {
    const std::size_t end = text.find('\n', begin);
    out.push_back(text.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    begin = end == std::string::npos ? text.size() : end + 1;
  }
  return out;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// `run ARGS` with standard error alone captured.
Result run_stderr(const std::string& arguments) {
  return shell(binary() + " " + arguments + " >/dev/null");
}

// Damaged, cut and bogus inputs: FFmpeg logs about each of them; the user sees the tool's line.
TEST(RunInput, FailingInputsGiveOneLine) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.frames = 12;
  make_clip(spec);
  const std::string clip = read_file(spec.path);
  std::string bad = clip;
  for (std::size_t i = bad.size() / 2; i < bad.size() / 2 + 16; ++i) {
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
  }
  write_file(dir / "bad.mkv", bad);
  write_file(dir / "cut.mkv", clip.substr(0, clip.size() * 6 / 10));
  ClipSpec h264;
  h264.path = dir / "in.mp4";
  h264.video_encoder = "libx264";
  h264.frames = 10;
  make_clip(h264);
  const std::string mp4 = read_file(h264.path);
  write_file(dir / "cut.mp4", mp4.substr(0, mp4.size() / 2));
  write_file(dir / "junk.mkv", "\x1a\x45\xdf\xa3" + std::string(200, '\x7f'));

  for (const char* name : {"bad.mkv", "cut.mkv", "cut.mp4", "junk.mkv"}) {
    const std::string args =
        "run -i " + (dir / name) + " -o " + (dir / "out.mkv") + " -m synthetic:x1 --device cpu";
    const Result quiet = run_stderr(args + " --quiet");
    EXPECT_NE(quiet.code, 0) << name;
    const auto lines = lines_of(quiet.output);
    ASSERT_EQ(lines.size(), 1U) << name << ":\n" << quiet.output;
    EXPECT_TRUE(lines[0].starts_with("pynference: ")) << name << ": " << lines[0];
    EXPECT_NE(lines[0].find(name), std::string::npos) << lines[0];

    // Without --quiet the tool's own header may come first; nothing of FFmpeg's.
    const Result plain = run_stderr(args);
    for (const std::string& line : lines_of(plain.output)) {
      EXPECT_TRUE(line.starts_with("pynference: ")) << name << ": " << line;
    }
    EXPECT_EQ(lines_of(plain.output).back(), lines[0]) << name;
  }
  // --verbose shows what FFmpeg said about the cut MP4 (its index is missing), the tool's line
  // last.
  const Result verbose = run_stderr("run -i " + (dir / "cut.mp4") + " -o " + (dir / "out.mkv") +
                                    " -m synthetic:x1 --device cpu --quiet --verbose");
  const auto lines = lines_of(verbose.output);
  ASSERT_GE(lines.size(), 2U) << verbose.output;
  EXPECT_TRUE(lines.back().starts_with("pynference: ")) << verbose.output;
  EXPECT_NE(verbose.output.find("moov atom not found"), std::string::npos) << verbose.output;
}

std::string y4m_420(const std::string& colorspace) {
  std::string s = "YUV4MPEG2 W8 H8 F25:1 Ip A1:1 C" + colorspace + "\n";
  for (int f = 0; f < 2; ++f) {
    s += "FRAME\n";
    for (int i = 0; i < 96; ++i) {
      s += static_cast<char>(i < 64 ? 60 + i : 128 + (i % 8));
    }
  }
  return s;
}

TEST(RunInput, ChromaSitingThroughY4m) {
  ScratchDir dir;
  struct Case {
    AVChromaLocation location;
    const char* tag;
  };
  for (const Case c :
       {Case{AVCHROMA_LOC_LEFT, "C420mpeg2"}, Case{AVCHROMA_LOC_TOPLEFT, "C420paldv"},
        Case{AVCHROMA_LOC_CENTER, "C420jpeg"}}) {
    // A container's siting names the Y4M colour space...
    ClipSpec spec;
    spec.path = dir / "in.mkv";
    spec.frames = 2;
    spec.chroma_location = c.location;
    make_clip(spec);
    const std::string y4m = dir / "out.y4m";
    const Result r =
        run("run -i " + spec.path + " -o " + y4m + " -m synthetic:x1 --device cpu --quiet -y");
    ASSERT_EQ(r.code, 0) << r.output;
    const std::string header = read_file(y4m).substr(0, read_file(y4m).find('\n'));
    EXPECT_NE(header.find(std::string(" ") + c.tag), std::string::npos) << c.tag << ": " << header;

    // ...and a Y4M colour space gives the container's siting.
    const std::string in = dir / "in.y4m";
    write_file(in, y4m_420(c.tag + 1));
    const std::string out = dir / "out.mkv";
    const Result back = run("run -i " + in + " -o " + out +
                            " -m synthetic:x1 --device cpu --encoder ffv1 --quiet -y");
    ASSERT_EQ(back.code, 0) << back.output;
    const auto v_streams = probe(out);
    const StreamProbe* v = find(v_streams, AVMEDIA_TYPE_VIDEO);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->chroma_location, c.location) << c.tag;
  }
}

// A 4.6 KB file claiming 16384x16384 frames: refused before anything is allocated, in one line
// that names the size and the memory.
TEST(RunInput, FramesTooLargeForMemoryAreRefusedUpFront) {
  ScratchDir dir;
  const std::string big = dir / "big.y4m";
  write_file(big, "YUV4MPEG2 W16384 H16384 F25:1 C420jpeg\nFRAME\n" + std::string(4600, '\x10'));
  // x16 out: terabytes on any machine.
  const Result r = run_stderr("run -i " + big + " -o null -m synthetic:x16 --device cpu --quiet");
  EXPECT_EQ(r.code, 2) << r.output;
  const auto lines = lines_of(r.output);
  ASSERT_EQ(lines.size(), 1U) << r.output;
  EXPECT_NE(lines[0].find("16384x16384"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("of host memory"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("is available"), std::string::npos) << lines[0];
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  // Under a data limit of 2 GB (sanitizers reserve more than that for themselves), at x1.
  const Result limited = shell("ulimit -d 2000000; " + binary() + " run -i " + big +
                               " -o null -m synthetic:x1 --device cpu --quiet >/dev/null");
  EXPECT_EQ(limited.code, 2) << limited.output;
  ASSERT_EQ(lines_of(limited.output).size(), 1U) << limited.output;
  EXPECT_NE(limited.output.find("16384x16384"), std::string::npos) << limited.output;
  EXPECT_NE(limited.output.find("1.9 GiB is available"), std::string::npos) << limited.output;
#endif
}

TEST(RunInput, RepeatedFrameTimeIsDroppedWithAWarning) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "repeat.mkv";
  spec.frames = 6;
  spec.pts = {0, 1, 2, 2, 3, 4};
  make_clip(spec);
  const std::string out = dir / "out.mkv";
  const Result r = run_stderr("run -i " + spec.path + " -o " + out +
                              " -m synthetic:x1 --device cpu --encoder ffv1 --quiet");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("dropped 1 frame"), std::string::npos) << r.output;
  EXPECT_EQ(read_all(out).frames.size(), 5U);
}

TEST(RunInput, RotationReachesTheOutput) {
  ScratchDir dir;
  ClipSpec spec;
  spec.path = dir / "phone.mp4";
  spec.video_encoder = "libx264";
  spec.frames = 3;
  spec.rotation = -90;
  make_clip(spec);
  const std::string out = dir / "out.mp4";
  const Result r = run("run -i " + spec.path + " -o " + out +
                       " -m synthetic:x2 --device cpu --preset ultrafast --quiet");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto v_streams = probe(out);
  const StreamProbe* v = find(v_streams, AVMEDIA_TYPE_VIDEO);
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->has_display_matrix);
  EXPECT_NEAR(v->rotation, find(probe(spec.path), AVMEDIA_TYPE_VIDEO)->rotation, 1e-6);
  EXPECT_NEAR(std::abs(v->rotation), 90, 1e-6);
  EXPECT_EQ(v->width, 2 * spec.width);  // the frames themselves stay as coded
}

}  // namespace
}  // namespace pyn::test
