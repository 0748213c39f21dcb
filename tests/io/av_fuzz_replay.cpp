// Runs the FFmpeg fuzz target (av_fuzz.cpp) without libFuzzer, so every build (the asan preset
// above all) checks it: small Matroska and MP4 clips made with libav*, and deterministic
// mutations of them, at least 1000 per container, or the files named on the command line (to
// replay what a fuzzer found). Fails on a crash or sanitizer report (the process dies), on an
// input that takes longer than kBound (a hang), and on any stderr line other than the reader's
// own warnings (FFmpeg's log must stay quiet).
//
//   pyn_av_fuzz_replay                      seeds and mutations
//   pyn_av_fuzz_replay FILE...              those files
//   pyn_av_fuzz_replay --write-seeds DIR    the seeds as files, a corpus to start libFuzzer from

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "io/av_clip.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern long pyn_av_fuzz_errors;

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

// 3000 per container. TSan (10-20x slower, and after races, not memory errors) runs a sixth of them;
// ASan and the release build run them all.
#if defined(__SANITIZE_THREAD__)
constexpr int kMutationsPerSeed = 250;
#else
constexpr int kMutationsPerSeed = 1500;
#endif
// Far above what one small input takes under ASan (milliseconds); only a hang gets near it.
constexpr auto kBound = std::chrono::seconds(60);

Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

struct Seed {
  std::string container;  // "mkv" or "mp4"
  Bytes bytes;
};

// Small clips, a few frames each: ffv1 (with slice CRCs) and H.264 in Matroska, H.264 with and
// without AAC in MP4.
std::vector<Seed> seeds(const fs::path& dir) {
  std::vector<Seed> out;
  const auto make = [&](const std::string& name, const std::string& encoder,
                        const std::string& audio) {
    pyn::test::ClipSpec spec;
    spec.path = dir / name;
    spec.video_encoder = encoder;
    spec.audio_encoder = audio;
    spec.width = 32;
    spec.height = 24;
    spec.frames = 4;
    pyn::test::make_clip(spec);
    out.push_back({fs::path(name).extension().string().substr(1), read_bytes(spec.path)});
  };
  make("ffv1.mkv", "ffv1", "");
  make("h264.mkv", "libx264", "flac");
  make("h264.mp4", "libx264", "");
  make("h264-aac.mp4", "libx264", "aac");
  return out;
}

// One to four edits: flipped bits, bytes overwritten, cut ends, bytes inserted and removed,
// repeated runs (sizes and counts in headers grow, elements overlap).
Bytes mutate(Bytes b, std::mt19937_64& rng) {
  const auto below = [&rng](std::size_t n) {
    return n == 0 ? 0 : static_cast<std::size_t>(rng() % n);
  };
  const std::size_t edits = 1 + below(4);
  for (std::size_t e = 0; e < edits; ++e) {
    const std::size_t at = below(b.size() + 1);
    switch (below(6)) {
      case 0:
        if (at < b.size()) {
          b[at] = static_cast<std::uint8_t>(b[at] ^ (1U << below(8)));
        }
        break;
      case 1:
        if (at < b.size()) {
          b[at] = static_cast<std::uint8_t>(below(2) == 0 ? 0xff : rng());
        }
        break;
      case 2:
        b.resize(at);
        break;
      case 3:
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(rng()));
        break;
      case 4:
        if (at < b.size()) {
          b.erase(b.begin() + static_cast<std::ptrdiff_t>(at));
        }
        break;
      default: {
        const std::size_t len =
            below(std::min<std::size_t>(32, b.size() - std::min(at, b.size())) + 1);
        const Bytes run(b.begin() + static_cast<std::ptrdiff_t>(at),
                        b.begin() + static_cast<std::ptrdiff_t>(at + len));
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), run.begin(), run.end());
        break;
      }
    }
  }
  return b;
}

// Aborts the process where one input runs past kBound, naming it.
class Watchdog {
 public:
  Watchdog() : thread_([this] { watch(); }) {}
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  ~Watchdog() {
    done_ = true;
    thread_.join();
  }
  void start(std::string what) {
    {
      const std::lock_guard lock(mutex_);
      what_ = std::move(what);
    }
    since_ = std::chrono::steady_clock::now().time_since_epoch().count();
  }

 private:
  void watch() {
    while (!done_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const auto since =
          std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(since_.load()));
      if (since_.load() != 0 && std::chrono::steady_clock::now() - since > kBound) {
        const std::lock_guard lock(mutex_);
        std::fprintf(stdout, "hang: %s ran longer than %lld s\n", what_.c_str(),
                     static_cast<long long>(kBound.count()));
        std::fflush(stdout);
        std::abort();
      }
    }
  }

  std::atomic<bool> done_{false};
  std::atomic<std::chrono::steady_clock::rep> since_{0};
  std::mutex mutex_;
  std::string what_;
  std::thread thread_;
};

// Standard error into a file while the inputs run; its lines afterwards.
class StderrCapture {
 public:
  explicit StderrCapture(const fs::path& path) : path_(path), saved_(::dup(STDERR_FILENO)) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ::dup2(fd, STDERR_FILENO);
    ::close(fd);
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;
  ~StderrCapture() { restore(); }
  std::vector<std::string> restore() {
    if (saved_ >= 0) {
      std::fflush(stderr);
      ::dup2(saved_, STDERR_FILENO);
      ::close(saved_);
      saved_ = -1;
    }
    std::vector<std::string> lines;
    std::ifstream in(path_);
    for (std::string line; std::getline(in, line);) {
      lines.push_back(line);
    }
    return lines;
  }

 private:
  fs::path path_;
  int saved_;
};

void run(const Bytes& b) { LLVMFuzzerTestOneInput(b.data(), b.size()); }

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const fs::path dir =
      fs::temp_directory_path() / ("pyn-av-fuzz-replay-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  if (args.size() == 2 && args[0] == "--write-seeds") {
    fs::create_directories(args[1]);
    const std::vector<Seed> all = seeds(dir);
    for (std::size_t i = 0; i < all.size(); ++i) {
      std::ofstream file(fs::path(args[1]) / ("seed-" + std::to_string(i) + "." + all[i].container),
                         std::ios::binary);
      file.write(reinterpret_cast<const char*>(all[i].bytes.data()),
                 static_cast<std::streamsize>(all[i].bytes.size()));
    }
    std::printf("wrote %zu seeds to %s\n", all.size(), args[1].c_str());
    fs::remove_all(dir);
    return 0;
  }
  if (!args.empty()) {
    for (const std::string& path : args) {
      run(read_bytes(path));
    }
    std::printf("replayed %zu inputs\n", args.size());
    fs::remove_all(dir);
    return 0;
  }

  const std::vector<Seed> all = seeds(dir);
  // Where a crash leaves FFmpeg's and the sanitizer's last words, if any.
  const fs::path log = dir / "stderr.txt";
  std::printf("stderr of the inputs goes to %s until they are done\n", log.c_str());
  std::fflush(stdout);
  std::map<std::string, int> mutants;
  {
    Watchdog watchdog;
    StderrCapture capture(log);
    std::mt19937_64 rng(20261201);  // fixed: a failure here must reproduce
    for (std::size_t s = 0; s < all.size(); ++s) {
      watchdog.start("seed " + std::to_string(s));
      run(all[s].bytes);
      for (int i = 0; i < kMutationsPerSeed; ++i) {
        const Bytes b = mutate(all[s].bytes, rng);
        watchdog.start("mutation " + std::to_string(i) + " of seed " + std::to_string(s) + " (" +
                       all[s].container + ")");
        run(b);
        ++mutants[all[s].container];
      }
    }
    const std::vector<std::string> lines = capture.restore();
    int foreign = 0;
    for (const std::string& line : lines) {
      if (!line.starts_with("warning: ")) {
        if (++foreign <= 5) {
          std::printf("stderr line not the reader's: %s\n", line.c_str());
        }
      }
    }
    if (foreign > 0) {
      std::printf("FAILED: %d lines on stderr besides the reader's warnings\n", foreign);
      return 1;
    }
  }
  std::printf("ran %zu seeds and", all.size());
  for (const auto& [container, n] : mutants) {
    std::printf(" %d %s", n, container.c_str());
  }
  std::printf(" mutations: %ld ended in a one-line error, none crashed, hung or logged\n",
              pyn_av_fuzz_errors);
  fs::remove_all(dir);
  return 0;
}
