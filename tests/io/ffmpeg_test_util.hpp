#pragma once
// What the FFmpeg reader and writer tests share: a scratch directory, reading a whole file through
// VideoReader, a frame's stamp and the message of an expected error.

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "io/av_clip.hpp"
#include "pynference/device/error.hpp"
#include "pynference/io/video.hpp"

namespace pyn::test {

namespace fs = std::filesystem;
using Bytes = std::vector<std::byte>;

// A directory of its own per test, removed afterwards.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "-" + info->name();
    std::replace(name.begin(), name.end(), '/', '_');
    path_ = fs::temp_directory_path() / ("pyn-ffmpeg-" + std::to_string(::getpid()) + "-" + name);
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  [[nodiscard]] std::string operator/(const std::string& name) const { return path_ / name; }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline VideoInputOptions input_of(const std::string& path) {
  VideoInputOptions o;
  o.path = path;
  return o;
}

struct Decoded {
  VideoInfo info;
  std::vector<Bytes> frames;
  std::vector<FrameTime> times;
};

inline Decoded read_all(const VideoInputOptions& options) {
  VideoReader reader(options);
  Decoded d;
  d.info = reader.info();
  Bytes frame(bytes_of(d.info.format));
  FrameTime t;
  while (reader.read_frame(frame, &t)) {
    d.frames.push_back(frame);
    d.times.push_back(t);
  }
  EXPECT_EQ(reader.frames_read(), static_cast<std::int64_t>(d.frames.size()));
  return d;
}

inline Decoded read_all(const std::string& path) { return read_all(input_of(path)); }

// The index make_clip() stamped on a frame, from its mean luma (YUV) or red (RGB).
inline int stamp_of(const FrameFormat& format, const Bytes& frame) {
  double sum = 0;
  std::size_t n = 0;
  if (const auto* yuv = std::get_if<YuvDesc>(&format)) {
    for (std::size_t i = 0; i < yuv->pixels(); ++i) {
      sum +=
          yuv->bits > 8
              ? static_cast<double>(reinterpret_cast<const std::uint16_t*>(frame.data())[i]) / 4.0
              : static_cast<double>(frame[i]);
    }
    n = yuv->pixels();
    return static_cast<int>(std::lround((sum / static_cast<double>(n) - 3.5 - 16.0) / 8.0));
  }
  const auto& image = std::get<ImageDesc>(format);
  for (std::size_t i = 0; i < image.pixels(); ++i) {
    sum += image.pixel == PixelType::u16
               ? static_cast<double>(reinterpret_cast<const std::uint16_t*>(frame.data())[i * 3]) /
                     257.0
               : static_cast<double>(frame[i * 3]);
  }
  n = image.pixels();
  return static_cast<int>(std::lround((sum / static_cast<double>(n) - 16.0) / 8.0));
}

inline std::vector<int> stamps_of(const Decoded& d) {
  std::vector<int> out;
  for (const Bytes& f : d.frames) {
    out.push_back(stamp_of(d.info.format, f));
  }
  return out;
}

inline std::vector<int> iota(int first, int count) {
  std::vector<int> out;
  for (int i = 0; i < count; ++i) {
    out.push_back(first + i);
  }
  return out;
}

// The message of the exception of type E that `f` throws, or "" (a test failure) if none.
template <typename E = Error, typename F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "no exception";
  return "";
}

}  // namespace pyn::test
