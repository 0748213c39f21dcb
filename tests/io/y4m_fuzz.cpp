// Fuzz target for the Y4M reader: any bytes must end in frames or in a pyn::Error, never in a
// crash, a hang or an allocation the input did not ask for. And whatever the reader takes, the
// writer must write back so that the reader takes it again unchanged.
//
// Built as a libFuzzer binary (PYN_BUILD_FUZZ=ON with clang) and into pyn_y4m_fuzz_replay, which
// runs it over seeds and their mutations in every build.

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

#include "pynference/device/error.hpp"
#include "pynference/io/y4m.hpp"

namespace {

// The harness's own cap: larger frames are legal but would make each run slow.
constexpr std::size_t kMaxFrameBytes = std::size_t{64} << 20U;

// A memory file holding `bytes`, positioned at its start; one per role, reused across runs.
int memory_file(int& fd, const char* name) {
  if (fd < 0) {
    fd = memfd_create(name, MFD_CLOEXEC);
  }
  if (fd < 0 || ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
    std::abort();
  }
  return fd;
}

void rewind(int fd) {
  if (lseek(fd, 0, SEEK_SET) != 0) {
    std::abort();
  }
}

struct Stream {
  pyn::Y4mHeader header;
  std::vector<std::byte> frames;
  std::int64_t count = 0;
  bool complete = false;  // read to a clean end
};

// Everything the reader takes from `fd`; nullopt where it refuses the header.
std::optional<Stream> read_stream(int fd) {
  std::optional<pyn::Y4mReader> reader;
  try {
    reader.emplace(fd, "fuzz input");
  } catch (const pyn::Error&) {
    return std::nullopt;
  }
  Stream s{reader->header(), {}, 0, false};
  const std::size_t n = reader->frame_bytes();
  if (n == 0 || n > pyn::kY4mMaxFrameBytes) {
    __builtin_trap();  // the reader must refuse such headers
  }
  if (n > kMaxFrameBytes) {
    return s;
  }
  const auto frame = std::make_unique_for_overwrite<std::byte[]>(n);
  try {
    while (reader->read_frame({frame.get(), n})) {
      s.frames.insert(s.frames.end(), frame.get(), frame.get() + n);
      ++s.count;
    }
    s.complete = true;
  } catch (const pyn::Error&) {
    // a bad frame ends the stream; what came before stands
  }
  if (reader->frames_read() != s.count) {
    __builtin_trap();
  }
  return s;
}

// The X tags a writer gives back: its own COLORRANGE in place of the caller's.
std::vector<std::string> written_extensions(const pyn::Y4mHeader& h) {
  std::vector<std::string> out;
  for (const std::string& x : h.extensions) {
    if (!x.starts_with("COLORRANGE=")) {
      out.push_back(x);
    }
  }
  if (h.desc.range == pyn::ColorRange::full) {
    out.emplace_back("COLORRANGE=FULL");
  }
  return out;
}

bool same_header(const pyn::Y4mHeader& a, const pyn::Y4mHeader& b) {
  return a.desc == b.desc && a.colorspace == b.colorspace && a.frame_rate == b.frame_rate &&
         a.aspect == b.aspect && a.interlace == b.interlace &&
         written_extensions(a) == b.extensions;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static int input_fd = -1;
  static int output_fd = -1;
  const int in = memory_file(input_fd, "y4m-fuzz-input");
  for (std::size_t done = 0; done < size;) {
    const ssize_t n = write(in, data + done, size - done);
    if (n <= 0) {
      std::abort();
    }
    done += static_cast<std::size_t>(n);
  }
  rewind(in);
  const std::optional<Stream> first = read_stream(in);
  if (!first) {
    return 0;
  }

  const int out = memory_file(output_fd, "y4m-fuzz-output");
  try {
    pyn::Y4mWriter writer(out, "fuzz output", first->header);
    const std::size_t n = first->header.desc.bytes();
    for (std::int64_t i = 0; i < first->count; ++i) {
      writer.write_frame(std::span(first->frames).subspan(static_cast<std::size_t>(i) * n, n));
    }
    writer.close();
  } catch (const pyn::UsageError&) {
    return 0;  // X tags the writer cannot carry (NUL), or a header it cannot fit in a line
  }
  rewind(out);
  const std::optional<Stream> second = read_stream(out);
  if (!second || !same_header(first->header, second->header) || (second->frames != first->frames) ||
      !(second->complete || second->header.desc.bytes() > kMaxFrameBytes)) {
    __builtin_trap();
  }
  return 0;
}
