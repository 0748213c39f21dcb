// Fuzz target for FFmpeg demuxing and decoding through VideoReader: any bytes must end in frames
// or in one pyn::Error of one line, never in a crash, a hang, a sanitizer report or a message of
// several lines.
//
// Built as a libFuzzer binary (PYN_BUILD_FUZZ=ON with clang) and into pyn_av_fuzz_replay, which
// runs it over small Matroska and MP4 clips and their mutations in every build.

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "pynference/device/error.hpp"
#include "pynference/io/video.hpp"

namespace {

// The bytes as a file (FFmpeg probes the format from them, and the name helps); one per process.
const std::string& scratch_path() {
  static const std::string path = "/tmp/pyn-av-fuzz-" + std::to_string(::getpid()) + ".bin";
  return path;
}

// The reader's frames, bounded: a damaged header may claim huge sizes or endless streams.
constexpr std::size_t kMaxFrameBytes = std::size_t{64} << 20U;
constexpr int kMaxFrames = 64;

}  // namespace

// Inputs that ended in an Error, for the replay's summary.
long pyn_av_fuzz_errors = 0;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  {
    std::ofstream out(scratch_path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) {
      std::abort();
    }
  }
  try {
    pyn::VideoInputOptions options;
    options.path = scratch_path();
    pyn::VideoReader reader(options);
    const std::size_t bytes = pyn::bytes_of(reader.info().format);
    if (bytes == 0) {
      __builtin_trap();  // the reader must refuse what it cannot size
    }
    if (bytes <= kMaxFrameBytes) {
      std::vector<std::byte> frame(bytes);
      for (int i = 0; i < kMaxFrames && reader.read_frame(frame); ++i) {
      }
    }
  } catch (const pyn::Error& e) {
    ++pyn_av_fuzz_errors;
    const std::string message = e.what();
    if (message.empty() || message.find('\n') != std::string::npos) {
      __builtin_trap();  // every failure is one line
    }
  }
  return 0;
}
