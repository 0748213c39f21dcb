// Runs the Y4M fuzz target without libFuzzer, so every build (the sanitizer ones above all) checks
// it: over generated seeds and a few thousand deterministic mutations of them, or over the files
// named on the command line (to replay what a fuzzer found).
//
//   pyn_y4m_fuzz_replay                      seeds and mutations
//   pyn_y4m_fuzz_replay FILE...              those files
//   pyn_y4m_fuzz_replay --write-seeds DIR    the seeds as files, a corpus to start libFuzzer from

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "pynference/io/y4m.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr int kMutations = 4000;

Bytes stream(const std::string& header, std::size_t frame_bytes, int frames,
             const std::string& marker = "FRAME\n") {
  Bytes out(header.begin(), header.end());
  for (int f = 0; f < frames; ++f) {
    out.insert(out.end(), marker.begin(), marker.end());
    for (std::size_t i = 0; i < frame_bytes; ++i) {
      out.push_back(static_cast<std::uint8_t>(i * 7 + static_cast<std::size_t>(f) * 31));
    }
  }
  return out;
}

// Small, valid and nearly valid streams: every colour space, odd sizes, the optional tags.
std::vector<Bytes> seeds() {
  std::vector<Bytes> out;
  for (const pyn::Y4mColorspace& c : pyn::y4m_colorspaces()) {
    pyn::YuvDesc d;
    d.width = 3;
    d.height = 5;
    d.chroma = c.chroma;
    d.bits = c.bits;
    out.push_back(
        stream("YUV4MPEG2 W3 H5 F25:1 Ip A1:1 C" + std::string(c.name) + "\n", d.bytes(), 2));
  }
  out.push_back(stream("YUV4MPEG2 W1 H1\n", 3, 3));
  out.push_back(
      stream("YUV4MPEG2 C420jpeg H2 W4 F30000:1001 It A128:117 XYSCSS=420JPEG "
             "XCOLORRANGE=FULL\n",
             12, 2, "FRAME Ib XFOO=1\n"));
  out.push_back(stream("YUV4MPEG2 W2 H2 Im A0:0 F0:0 Zunknown XCOLORRANGE=LIMITED\n", 6, 1));
  out.push_back(stream("YUV4MPEG2 W6 H4 C444p10 I?\n", 144, 1));
  out.push_back(stream("YUV4MPEG2 W2 H2 Cmono\n", 4, 1));
  out.push_back(stream("YUV4MPEG2 W2 H2\n", 6, 2, "FRAMX\n"));
  out.push_back(stream("YUV4MPEG2 W16384 H16384 C444p10\n", 0, 1));
  return out;
}

// One to three edits of the kinds that reach the parser's corners: flipped bits, cut ends, digits
// (sizes grow), spaces and newlines (tags split, lines end), repeated runs.
Bytes mutate(Bytes b, std::mt19937_64& rng) {
  const auto below = [&rng](std::size_t n) {
    return n == 0 ? 0 : static_cast<std::size_t>(rng() % n);
  };
  const std::size_t edits = 1 + below(3);
  for (std::size_t e = 0; e < edits; ++e) {
    const std::size_t at = below(b.size() + 1);
    switch (below(6)) {
      case 0:
        if (at < b.size()) {
          b[at] = static_cast<std::uint8_t>(b[at] ^ (1U << below(8)));
        }
        break;
      case 1:
        b.resize(at);
        break;
      case 2:
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at),
                 static_cast<std::uint8_t>('0' + below(10)));
        break;
      case 3:
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), below(2) == 0 ? ' ' : '\n');
        break;
      case 4:
        if (at < b.size()) {
          b.erase(b.begin() + static_cast<std::ptrdiff_t>(at));
        }
        break;
      default: {
        const std::size_t len =
            below(std::min<std::size_t>(16, b.size() - std::min(at, b.size())) + 1);
        const Bytes run(b.begin() + static_cast<std::ptrdiff_t>(at),
                        b.begin() + static_cast<std::ptrdiff_t>(at + len));
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), run.begin(), run.end());
        break;
      }
    }
  }
  return b;
}

void run(const Bytes& b) { LLVMFuzzerTestOneInput(b.data(), b.size()); }

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "--write-seeds") {
    std::filesystem::create_directories(args[1]);
    const std::vector<Bytes> all = seeds();
    for (std::size_t i = 0; i < all.size(); ++i) {
      std::ofstream file(std::filesystem::path(args[1]) / ("seed-" + std::to_string(i) + ".y4m"),
                         std::ios::binary);
      file.write(reinterpret_cast<const char*>(all[i].data()),
                 static_cast<std::streamsize>(all[i].size()));
    }
    std::printf("wrote %zu seeds to %s\n", all.size(), args[1].c_str());
    return 0;
  }
  if (!args.empty()) {
    for (const std::string& path : args) {
      std::ifstream file(path, std::ios::binary);
      if (!file) {
        std::fprintf(stderr, "cannot open %s\n", path.c_str());
        return 2;
      }
      run(Bytes(std::istreambuf_iterator<char>(file), {}));
    }
    std::printf("replayed %zu inputs\n", args.size());
    return 0;
  }
  const std::vector<Bytes> all = seeds();
  for (const Bytes& b : all) {
    run(b);
  }
  std::mt19937_64 rng(20240601);  // fixed: a failure here must reproduce
  for (int i = 0; i < kMutations; ++i) {
    run(mutate(all[static_cast<std::size_t>(i) % all.size()], rng));
  }
  std::printf("ran %zu seeds and %d mutations\n", all.size(), kMutations);
  return 0;
}
