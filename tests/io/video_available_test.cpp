// The video API in every build: with FFmpeg it reports itself; without, it says to use Y4M.
#include <gtest/gtest.h>

#include <string>

#include "pynference/device/error.hpp"
#include "pynference/io/video.hpp"

namespace pyn {
namespace {

VideoInputOptions input_of(const std::string& path) {
  VideoInputOptions o;
  o.path = path;
  return o;
}

VideoOutputOptions output_of(const std::string& path) {
  VideoOutputOptions o;
  o.path = path;
  return o;
}

TEST(VideoAvailable, MatchesTheBuild) { EXPECT_EQ(ffmpeg_available(), PYN_WITH_FFMPEG == 1); }

TEST(VideoAvailable, WithoutFfmpegConstructorsSayUseY4m) {
  if (ffmpeg_available()) {
    GTEST_SKIP() << "this build has FFmpeg";
  }
  try {
    VideoReader reader(input_of("in.mkv"));
    FAIL() << "no exception";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("use Y4M"), std::string::npos) << e.what();
  }
  VideoInfo info;
  info.format = YuvDesc{64, 48};
  EXPECT_THROW(VideoWriter(output_of("out.mkv"), info.format, info), UsageError);
}

}  // namespace
}  // namespace pyn
