// `run --hwdec` as a user runs it, on a machine without a GPU: the flag in --help, its names, the
// one-line errors and their exit codes, --encoder *_nvenc without an encoder, and auto decoding on the CPU (one line saying why) with
// output bytes identical to --hwdec none. The GPU half is tests/io/nvdec_gpu_test.cpp.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "cli/program.hpp"

namespace pyn::test {
namespace {

bool has_gpu() { return std::filesystem::exists("/dev/nvidia0"); }

int lines_of(const std::string& text) {
  int n = 0;
  for (const char c : text) {
    n += c == '\n' ? 1 : 0;
  }
  return n;
}

TEST(Hwdec, HelpNamesTheFlagAndItsDefault) {
  const Result r = run("run --help");
  EXPECT_EQ(r.code, 0) << r.output;
  const std::size_t at = r.output.find("--hwdec MODE");
  ASSERT_NE(at, std::string::npos) << r.output;
  const std::string line = r.output.substr(at, r.output.find('\n', at) - at);
  EXPECT_NE(line.find("auto"), std::string::npos) << line;
  EXPECT_NE(line.find("cuda"), std::string::npos) << line;
  EXPECT_NE(line.find("(default: auto)"), std::string::npos) << line;
}

TEST(Hwdec, UnknownNameIsOneLineOfUsage) {
  const Result r = run("run -i synthetic:16x8:2 -o null -m synthetic:x1 --device cpu --hwdec nvdec");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_EQ(r.output, "pynference: --hwdec takes auto, cuda or none, not 'nvdec'\n");
}

TEST(Hwdec, CudaWithTheCpuDeviceIsOneLineOfUsage) {
  const Result r = run("run -i synthetic:16x8:2 -o null -m synthetic:x1 --device cpu --hwdec cuda");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_EQ(r.output,
            "pynference: --hwdec cuda decodes on the GPU: it does not go with --device cpu\n");
}

TEST(Hwdec, CudaWithoutAGpuIsOneLineAndExit3) {
  if (has_gpu()) {
    GTEST_SKIP() << "this machine has a GPU";
  }
  const Result r = run("run -i synthetic:16x8:2 -o null -m synthetic:x1 --hwdec cuda");
  EXPECT_EQ(r.code, 3) << r.output;
  const std::string last = r.output.substr(r.output.rfind("pynference:"));
  EXPECT_EQ(lines_of(last), 1) << r.output;
  EXPECT_NE(last.find("--hwdec cuda: no CUDA device on this machine"), std::string::npos)
      << r.output;
}

TEST(Hwdec, AutoWithoutAGpuDecodesOnTheCpuWithTheSameBytes) {
  if (has_gpu()) {
    GTEST_SKIP() << "this machine has a GPU";
  }
  const auto dir = scratch("hwdec-auto");
  const std::string clip = (dir / "in.mkv").string();
  const Result made = run("run -i synthetic:64x48:12 -m synthetic:x1 --device cpu --encoder libx264 "
                          "--quiet -o " + clip);
  ASSERT_EQ(made.code, 0) << made.output;
  const Result none = run("run -i " + clip + " -m synthetic:x1 --hwdec none --quiet -o " +
                          (dir / "none.y4m").string());
  ASSERT_EQ(none.code, 0) << none.output;
  const Result automatic =
      run("run -i " + clip + " -m synthetic:x1 --hwdec auto -o " + (dir / "auto.y4m").string());
  ASSERT_EQ(automatic.code, 0) << automatic.output;
  EXPECT_NE(automatic.output.find("pynference: --hwdec auto: decoding on the CPU: "),
            std::string::npos)
      << automatic.output;
  const std::size_t why = automatic.output.find("--hwdec auto");
  EXPECT_EQ(automatic.output.find("--hwdec auto", why + 1), std::string::npos)
      << "said twice: " << automatic.output;
  EXPECT_EQ(read(dir / "none.y4m"), read(dir / "auto.y4m"));
  EXPECT_FALSE(read(dir / "none.y4m").empty());
  // Without --hwdec (auto by default), a run on the CPU says nothing of decoding.
  const Result unsaid = run("run -i " + clip + " -m synthetic:x1 -o " + (dir / "default.y4m").string());
  ASSERT_EQ(unsaid.code, 0) << unsaid.output;
  EXPECT_EQ(unsaid.output.find("decoding on the CPU"), std::string::npos) << unsaid.output;
  EXPECT_EQ(unsaid.output.find("--hwdec"), std::string::npos) << unsaid.output;
  EXPECT_EQ(read(dir / "none.y4m"), read(dir / "default.y4m"));
  std::filesystem::remove_all(dir);
}

TEST(Hwdec, NvencWithoutAnEncoderIsOneLine) {
  const auto dir = scratch("nvenc");
  for (const char* encoder : {"h264_nvenc", "hevc_nvenc"}) {
    const Result r = run(std::string("run -i synthetic:64x48:3 -m synthetic:x1 --quiet --encoder ") +
                         encoder + " -o " + (dir / "out.mkv").string());
    if (r.code == 0) {
      GTEST_SKIP() << "this machine has an NVENC encoder";
    }
    if (r.output.find("unknown encoder") != std::string::npos) {
      continue;  // an FFmpeg built without it
    }
    EXPECT_EQ(r.code, 2) << r.output;
    const std::string last = r.output.substr(r.output.rfind("pynference:"));
    EXPECT_EQ(lines_of(last), 1) << r.output;
    EXPECT_NE(last.find(std::string("cannot open encoder ") + encoder +
                        ": this GPU has no video encoder (NVENC), or the driver refused the session"),
              std::string::npos)
        << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir / "out.mkv"));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pyn::test
