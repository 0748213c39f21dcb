// The io stages of `pynference run` alone, without the pipeline: reading (and decoding) a file, and
// writing (encoding) frames of a given format. docs/video.md sets these beside the GPU's work and
// the whole run (scripts/video-bench.sh).
//
//   pyn_io_bench read IN                         IN: .y4m, or anything FFmpeg reads
//   pyn_io_bench write OUT WxH PIXFMT FRAMES [ENCODER]
//                                                OUT: .y4m or - (Y4M on standard output), or a
//                                                container; PIXFMT yuv420p, yuv444p,
//                                                yuv420p10le or yuv444p10le; 25 fps
//
// Prints one line on stderr: "read|write: N frames in S s = F fps".

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "pynference/io/synthetic.hpp"
#include "pynference/io/video_stream.hpp"
#include "pynference/io/y4m.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

bool is_y4m(const std::string& path) { return path == "-" || path.ends_with(".y4m"); }

void report(const char* what, long long frames, clock_type::time_point start) {
  const double s = std::chrono::duration<double>(clock_type::now() - start).count();
  std::fprintf(stderr, "%s: %lld frames in %.2f s = %.1f fps\n", what, frames, s, s > 0 ? static_cast<double>(frames) / s : 0.0);
}

int read(const std::string& path) {
  const auto start = clock_type::now();
  long long frames = 0;
  if (is_y4m(path)) {
    pyn::Y4mReader reader(path);
    std::vector<std::byte> frame(reader.frame_bytes());
    while (reader.read_frame(frame)) {
      ++frames;
    }
  } else {
    pyn::VideoInputOptions options;
    options.path = path;
    pyn::VideoReader reader(options);
    std::vector<std::byte> frame(pyn::bytes_of(reader.info().format));
    while (reader.read_frame(frame)) {
      ++frames;
    }
  }
  report("read", frames, start);
  return 0;
}

int write(const std::string& path, const std::string& size, const std::string& pix_fmt, long long frames,
          const std::string& encoder) {
  const std::size_t x = size.find('x');
  pyn::YuvDesc desc{std::atoi(size.substr(0, x).c_str()), std::atoi(size.substr(x + 1).c_str())};
  desc.chroma = pix_fmt.starts_with("yuv444") ? pyn::ChromaLayout::yuv444 : pyn::ChromaLayout::yuv420;
  desc.bits = pix_fmt.ends_with("10le") ? 10 : 8;
  // A few distinct frames, made before the clock starts and cycled.
  pyn::SyntheticSource source(desc, 8);
  std::vector<std::vector<std::byte>> pool(8, std::vector<std::byte>(desc.bytes()));
  for (std::size_t i = 0; i < pool.size(); ++i) {
    source.render(pool[i], static_cast<std::int64_t>(i));
  }
  const auto start = clock_type::now();
  if (is_y4m(path)) {
    pyn::Y4mHeader header;
    header.desc = desc;
    header.frame_rate = {25, 1};
    pyn::Y4mWriter writer(path, header);
    for (long long i = 0; i < frames; ++i) {
      writer.write_frame(pool[static_cast<std::size_t>(i) % pool.size()]);
    }
    writer.close();
  } else {
    pyn::VideoOutputOptions options;
    options.path = path;
    options.encoder = encoder;
    options.copy_streams = false;
    pyn::VideoWriter writer(options, desc, pyn::video_info_for(desc, {25, 1}, {}));
    for (long long i = 0; i < frames; ++i) {
      writer.write_frame(pool[static_cast<std::size_t>(i) % pool.size()], pyn::FrameTime{i, 1});
    }
    writer.close();
  }
  report("write", frames, start);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.size() == 2 && args[0] == "read") {
      return read(args[1]);
    }
    if ((args.size() == 5 || args.size() == 6) && args[0] == "write") {
      return write(args[1], args[2], args[3], std::atoll(args[4].c_str()), args.size() == 6 ? args[5] : "");
    }
    std::fprintf(stderr, "usage: pyn_io_bench read IN | write OUT WxH PIXFMT FRAMES [ENCODER]\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pyn_io_bench: %s\n", e.what());
    return 1;
  }
}
