// pyn_clip_tool: test clips for tests outside C++ (tests/python), made and read back with libav*
// and VideoReader, as the C++ tests make and read theirs.
//   pyn_clip_tool make PATH FRAMES WxH VIDEO_ENCODER AUDIO_ENCODER|none
//   pyn_clip_tool probe PATH   -> JSON: the video's decoded frames (count, pts, a hash each) and
//                                 every stream's packets (codec, count, first_s, end_s)

#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "io/av_clip.hpp"
#include "pynference/io/video.hpp"

namespace {

// FNV-1a, 64 bit: equal frames give equal hashes.
std::uint64_t hash_of(const std::vector<std::byte>& bytes) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const std::byte b : bytes) {
    h = (h ^ static_cast<std::uint64_t>(b)) * 1099511628211ULL;
  }
  return h;
}

int probe_file(const std::string& path) {
  pyn::VideoInputOptions options;
  options.path = path;
  pyn::VideoReader reader(options);
  std::vector<std::byte> frame(pyn::bytes_of(reader.info().format));
  pyn::FrameTime time;
  std::string pts;
  std::string hashes;
  std::int64_t count = 0;
  while (reader.read_frame(frame, &time)) {
    if (count > 0) {
      pts.append(", ");
      hashes.append(", ");
    }
    pts.append(std::to_string(time.pts));
    char buffer[24];
    std::snprintf(buffer, sizeof buffer, "\"%016llx\"",
                  static_cast<unsigned long long>(hash_of(frame)));
    hashes.append(buffer);
    ++count;
  }
  const pyn::Rational tb = reader.info().time_base;
  std::printf(
      "{\"frames\": %lld, \"time_base\": [%d, %d], \"pts\": [%s], \"hashes\": [%s], \"streams\": [",
      static_cast<long long>(count), static_cast<int>(tb.num), static_cast<int>(tb.den),
      pts.c_str(), hashes.c_str());
  bool first = true;
  for (const pyn::test::StreamProbe& s : pyn::test::probe(path)) {
    std::printf(
        "%s{\"type\": \"%s\", \"codec\": \"%s\", \"packets\": %lld, \"first_s\": %.6f, \"end_s\": "
        "%.6f}",
        first ? "" : ", ", av_get_media_type_string(s.type), s.codec.c_str(),
        static_cast<long long>(s.packets), s.first_s, s.end_s);
    first = false;
  }
  std::printf("]}\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 6 && args[0] == "make") {
      pyn::test::ClipSpec spec;
      spec.path = args[1];
      spec.frames = std::stoi(args[2]);
      const std::size_t x = args[3].find('x');
      spec.width = std::stoi(args[3].substr(0, x));
      spec.height = std::stoi(args[3].substr(x + 1));
      spec.video_encoder = args[4];
      spec.audio_encoder = args[5] == "none" ? "" : args[5];
      pyn::test::make_clip(spec);
      return 0;
    }
    if (args.size() == 2 && args[0] == "probe") {
      return probe_file(args[1]);
    }
    std::fprintf(stderr,
                 "usage: pyn_clip_tool make PATH FRAMES WxH VIDEO_ENCODER AUDIO_ENCODER|none\n"
                 "       pyn_clip_tool probe PATH\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pyn_clip_tool: %s\n", e.what());
    return 1;
  }
}
