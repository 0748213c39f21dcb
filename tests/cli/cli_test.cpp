// The program as a user meets it: exit codes, one-line errors, and the files it writes.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "program.hpp"

namespace {

using pyn::test::read;
using pyn::test::Result;
using pyn::test::run;
using pyn::test::scratch;

TEST(Cli, HelpAnswersAndBadUsageIsOneLineWithCode2) {
  EXPECT_EQ(run("--help").code, 0);
  for (const char* command : {"info", "bench", "study"}) {
    const Result help = run(std::string(command) + " --help");
    EXPECT_EQ(help.code, 0) << command;
    EXPECT_NE(help.output.find("usage: pynference " + std::string(command)), std::string::npos);
  }
  const Result unknown = run("bench --strategy nope");
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.output.find("unknown strategy 'nope'"), std::string::npos) << unknown.output;
  EXPECT_EQ(run("frobnicate").code, 2);
  EXPECT_EQ(run("bench --frames -3 --device cpu").code, 2);
}

TEST(Cli, CudaGraphIsInTheHelpAndNeedsACudaDevice) {
  EXPECT_NE(run("bench --help").output.find("--cuda-graph"), std::string::npos);
  const Result r = run("bench --device cpu --cuda-graph --frames 4 --size 8x8");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("pynference: --cuda-graph needs a CUDA device\n"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("running"), std::string::npos) << "refused before any run: " << r.output;
}

TEST(Cli, AMissingDeviceIsOneClearLineWithCode3) {
  const Result r = run("info --device cuda:77");
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_NE(r.output.find("no CUDA device"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("terminate"), std::string::npos) << "no crash: " << r.output;
}

TEST(Cli, InfoSelfChecksTheKernels) {
  const Result r = run("info --device cpu");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("self-check: passed"), std::string::npos) << r.output;
}

TEST(Cli, BenchWritesOneJsonResultPerStrategy) {
  const auto dir = scratch("bench");
  const Result r = run("bench --device cpu --frames 8 --size 24x16 --compute-ms 0.5 --json " +
                       (dir / "bench.json").string() + " --trace " + (dir / "trace").string());
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string json = read(dir / "bench.json");
  for (const char* name : {"serial-pageable", "serial-pinned", "worker-streams", "split-streams", "multi-compute"}) {
    EXPECT_NE(json.find(std::string("\"strategy\":\"") + name + "\""), std::string::npos) << name;
    EXPECT_NE(r.output.find(name), std::string::npos) << "table row for " << name;
    EXPECT_TRUE(std::filesystem::exists(dir / "trace" / (std::string(name) + ".svg"))) << name;
    EXPECT_TRUE(std::filesystem::exists(dir / "trace" / (std::string(name) + ".trace.json"))) << name;
  }
  EXPECT_NE(json.find("\"commit\":"), std::string::npos);
  EXPECT_NE(json.find("\"cuda_graph\":false"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Cli, BenchRunsEveryStrategyWithTilesAndChecksTheirFrames) {
  const Result r = run(
      "bench --device cpu --frames 6 --repeat 1 --size 30x22 --compute-ms 0 --check --tile 12x10 "
      "--tile-overlap 2 --tile-batch 2");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("every output frame matched the CPU reference"), std::string::npos)
      << r.output;
  for (const char* name :
       {"serial-pageable", "serial-pinned", "worker-streams", "split-streams", "multi-compute"}) {
    EXPECT_NE(r.output.find(std::string(name) + ": 9 tiles of 12x10, 2 per inference (overlap 2)"),
              std::string::npos)
        << name << "\n"
        << r.output;
  }
  const Result help = run("bench --help");
  for (const char* flag :
       {"--tile WxH|auto", "--tile-overlap N", "--tile-batch N", "--max-vram SIZE"}) {
    EXPECT_NE(help.output.find(flag), std::string::npos) << flag;
  }
}

TEST(Cli, BenchRunsEveryStrategyInBatchesChecksTheirFramesAndNamesTheBatch) {
  const auto dir = scratch("bench-batch");
  const std::string json = (dir / "bench.json").string();
  const Result r = run(
      "bench --device cpu --frames 7 --warmup 0 --repeat 1 --size 30x22 --compute-ms 0 --check "
      "--batch 3 --json " +
      json);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("every output frame matched the CPU reference"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(", 3 frames per inference"), std::string::npos) << r.output;
  const std::string results = read(json);
  std::size_t named = 0;
  for (std::size_t at = results.find("\"batch\":3"); at != std::string::npos;
       at = results.find("\"batch\":3", at + 1)) {
    ++named;
  }
  EXPECT_EQ(named, 5U) << results;
  EXPECT_NE(run("bench --help").output.find("--batch N"), std::string::npos);
  const Result refused = run("bench --device cpu --frames 4 --batch 2 --tile auto");
  EXPECT_EQ(refused.code, 2) << refused.output;
  EXPECT_NE(refused.output.find("--tile auto sizes tiles and slots"), std::string::npos)
      << refused.output;
  std::filesystem::remove_all(dir);
}

TEST(Cli, StudyWritesTheReportAndFiveTimelines) {
  const auto dir = scratch("study");
  const Result r = run("study --device cpu --frames 12 --out " + dir.string());
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string report = read(dir / "report.md");
  EXPECT_NE(report.find("host backend"), std::string::npos) << "the CPU note";
  for (const char* name : {"serial-pageable", "serial-pinned", "worker-streams", "split-streams", "multi-compute"}) {
    EXPECT_NE(report.find(std::string("### ") + name), std::string::npos) << name;
    EXPECT_TRUE(std::filesystem::exists(dir / (std::string(name) + ".svg"))) << name;
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "report.json"));
  std::filesystem::remove_all(dir);
}

TEST(Cli, AnUnwritableJsonOrTracePathIsRefusedBeforeTheRun) {
  // Refused in one line with code 2 before the device is opened or a frame runs (no "device:"
  // line).
  for (const char* option :
       {"--json /nonexistent-dir/x.json", "--json /", "--trace /proc/version/x"}) {
    const Result r = run(
        std::string(
            "bench --device cpu --frames 4 --size 8x8 --compute-ms 0 --strategy split-streams ") +
        option);
    EXPECT_EQ(r.code, 2) << option << ": " << r.output;
    EXPECT_NE(r.output.find("cannot write --"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("device:"), std::string::npos)
        << "refused before the run: " << r.output;
    EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << "one line: " << r.output;
  }
  const Result run_trace =
      run("run -i synthetic:16x8:2 -o null -m synthetic --device cpu --trace /proc/version/x");
  EXPECT_EQ(run_trace.code, 2) << run_trace.output;
  EXPECT_NE(run_trace.output.find("cannot write --trace"), std::string::npos) << run_trace.output;
}

TEST(Cli, RunTakesDashHForHelp) {
  const Result r = run("run -h");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("usage: pynference run"), std::string::npos) << r.output;
}

TEST(Cli, CudaWithoutAGpuSaysSoInWords) {
  if (std::filesystem::exists("/dev/nvidia0")) {
    GTEST_SKIP() << "this machine has a GPU";
  }
  for (const char* device : {"cuda", "cuda:0"}) {
    const Result r =
        run(std::string("run -i synthetic:16x8:2 -o null -m synthetic --device ") + device);
    EXPECT_EQ(r.code, 3) << r.output;
    EXPECT_NE(r.output.find("no NVIDIA GPU"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("insufficient"), std::string::npos) << r.output;
  }
}

}  // namespace
