#include "pynference/io/y4m.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "pynference/device/error.hpp"

namespace pyn {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::byte>;

// Fresh each run, printed so a failure can be replayed with PYN_TEST_SEED.
std::mt19937_64 fresh_rng() {
  const char* fixed = std::getenv("PYN_TEST_SEED");
  const std::uint64_t seed =
      fixed != nullptr ? std::strtoull(fixed, nullptr, 10)
                       : (std::uint64_t{std::random_device{}()} << 32U) ^ std::random_device{}();
  std::printf("random seed %llu (PYN_TEST_SEED replays it)\n",
              static_cast<unsigned long long>(seed));
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  return std::mt19937_64(seed);
}

Bytes random_bytes(std::size_t n, std::mt19937_64& rng) {
  Bytes out(n);
  for (std::byte& b : out) {
    b = static_cast<std::byte>(rng() >> 56U);
  }
  return out;
}

Y4mHeader header_of(std::string_view colorspace, int width, int height) {
  Y4mHeader h;
  for (const Y4mColorspace& c : y4m_colorspaces()) {
    if (c.name == colorspace) {
      h.desc.chroma = c.chroma;
      h.desc.bits = c.bits;
    }
  }
  h.desc.width = width;
  h.desc.height = height;
  h.colorspace = colorspace;
  return h;
}

std::string read_text(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), {}};
}

void write_text(const fs::path& path, std::string_view text) {
  std::ofstream(path, std::ios::binary)
      .write(text.data(), static_cast<std::streamsize>(text.size()));
}

std::string as_text(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// The message of the pyn::Error `f` throws, or "" (a test failure) if it throws none.
template <typename E = Error, typename F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

class Y4mFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "pyn_y4m_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  [[nodiscard]] fs::path path(const std::string& name) const { return dir_ / name; }

  // `frames` frames of random bytes written to `name`; returns them.
  std::vector<Bytes> write_stream(const std::string& name, const Y4mHeader& h, int frames,
                                  std::mt19937_64& rng) const {
    std::vector<Bytes> out;
    Y4mWriter writer(path(name).string(), h);
    for (int i = 0; i < frames; ++i) {
      out.push_back(random_bytes(h.desc.bytes(), rng));
      writer.write_frame(out.back());
    }
    writer.close();
    return out;
  }

 private:
  fs::path dir_;
};

struct RoundTripCase {
  std::string_view colorspace;
  int width;
  int height;
};

class Y4mRoundTrip : public Y4mFiles, public ::testing::WithParamInterface<RoundTripCase> {};

TEST_P(Y4mRoundTrip, GivesBackHeaderAndFrames) {
  auto rng = fresh_rng();
  Y4mHeader h = header_of(GetParam().colorspace, GetParam().width, GetParam().height);
  h.frame_rate = {30000, 1001};
  h.aspect = {16, 15};
  const std::vector<Bytes> frames = write_stream("rt.y4m", h, 4, rng);

  Y4mReader reader(path("rt.y4m").string());
  EXPECT_EQ(reader.header().colorspace, h.colorspace);
  EXPECT_EQ(reader.header().desc.width, h.desc.width);
  EXPECT_EQ(reader.header().desc.height, h.desc.height);
  EXPECT_EQ(reader.header().desc.chroma, h.desc.chroma);
  EXPECT_EQ(reader.header().desc.bits, h.desc.bits);
  EXPECT_EQ(reader.header().frame_rate, h.frame_rate);
  EXPECT_EQ(reader.header().aspect, h.aspect);
  Bytes frame(reader.frame_bytes());
  for (const Bytes& expected : frames) {
    ASSERT_TRUE(reader.read_frame(frame));
    EXPECT_TRUE(frame == expected) << "frame " << reader.frames_read() - 1;
  }
  EXPECT_FALSE(reader.read_frame(frame));
  EXPECT_EQ(reader.frames_read(), 4);
}

std::vector<RoundTripCase> round_trip_cases() {
  std::vector<RoundTripCase> out;
  for (const Y4mColorspace& c : y4m_colorspaces()) {
    for (const auto& [w, h] :
         {std::pair{1, 1}, std::pair{3, 5}, std::pair{33, 17}, std::pair{640, 360}}) {
      out.push_back({c.name, w, h});
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllColorspaces, Y4mRoundTrip, ::testing::ValuesIn(round_trip_cases()),
                         [](const ::testing::TestParamInfo<RoundTripCase>& p) {
                           return "C" + std::string(p.param.colorspace) + "_" +
                                  std::to_string(p.param.width) + "x" +
                                  std::to_string(p.param.height);
                         });

TEST_F(Y4mFiles, WriterHeaderIsFfmpegStyle) {
  Y4mHeader h = header_of("420mpeg2", 4, 2);
  h.frame_rate = {25, 1};
  h.aspect = {1, 1};
  h.interlace = Interlace::top_first;
  h.desc.range = ColorRange::full;
  h.extensions = {"YSCSS=420MPEG2", "COLORRANGE=LIMITED"};
  Y4mWriter(path("h.y4m").string(), h).close();
  EXPECT_EQ(read_text(path("h.y4m")),
            "YUV4MPEG2 W4 H2 F25:1 It A1:1 C420mpeg2 XYSCSS=420MPEG2 XCOLORRANGE=FULL\n");

  for (const auto& [chroma, bits, name] :
       {std::tuple{ChromaLayout::yuv420, 8, "420jpeg"}, std::tuple{ChromaLayout::yuv444, 8, "444"},
        std::tuple{ChromaLayout::yuv420, 10, "420p10"},
        std::tuple{ChromaLayout::yuv444, 10, "444p10"}}) {
    Y4mHeader d;
    d.desc = YuvDesc{2, 2, chroma, bits};
    Y4mWriter(path("d.y4m").string(), d).close();
    EXPECT_EQ(Y4mReader(path("d.y4m").string()).header().colorspace, name);
  }
}

TEST_F(Y4mFiles, ReaderTakesTagsInAnyOrderAndKeepsXTags) {
  write_text(path("t.y4m"),
             "YUV4MPEG2 C444 Zfoo H2  A10:11 W3 It F30000:1001 XYSCSS=444 XCOLORRANGE=FULL\n");
  const Y4mReader reader(path("t.y4m").string());
  const Y4mHeader& h = reader.header();
  EXPECT_EQ(h.desc, (YuvDesc{3, 2, ChromaLayout::yuv444, 8, ColorMatrix::bt601, ColorRange::full}));
  EXPECT_EQ(h.colorspace, "444");
  EXPECT_EQ(h.frame_rate, (Rational{30000, 1001}));
  EXPECT_EQ(h.aspect, (Rational{10, 11}));
  EXPECT_EQ(h.interlace, Interlace::top_first);
  EXPECT_EQ(h.extensions, (std::vector<std::string>{"YSCSS=444", "COLORRANGE=FULL"}));
}

TEST_F(Y4mFiles, ReaderDefaults) {
  write_text(path("d.y4m"), "YUV4MPEG2 W4 H2\n");
  const Y4mHeader h = Y4mReader(path("d.y4m").string()).header();
  EXPECT_EQ(h.colorspace, "420jpeg");
  EXPECT_EQ(h.desc,
            (YuvDesc{4, 2, ChromaLayout::yuv420, 8, ColorMatrix::bt601, ColorRange::limited}));
  EXPECT_EQ(h.frame_rate, Rational{});
  EXPECT_EQ(h.aspect, Rational{});
  EXPECT_EQ(h.interlace, Interlace::progressive);
  EXPECT_TRUE(h.extensions.empty());
}

TEST_F(Y4mFiles, MatrixIsGuessedFromTheSize) {
  for (const auto& [w, h, matrix] :
       {std::tuple{1280, 720, ColorMatrix::bt709}, std::tuple{1279, 576, ColorMatrix::bt601},
        std::tuple{720, 576, ColorMatrix::bt601}, std::tuple{720, 577, ColorMatrix::bt709}}) {
    write_text(path("m.y4m"), "YUV4MPEG2 W" + std::to_string(w) + " H" + std::to_string(h) + "\n");
    EXPECT_EQ(Y4mReader(path("m.y4m").string()).header().desc.matrix, matrix) << w << "x" << h;
  }
}

TEST_F(Y4mFiles, FrameParametersAreIgnoredAndInterlacingExposed) {
  auto rng = fresh_rng();
  const Bytes a = random_bytes(12, rng);
  const Bytes b = random_bytes(12, rng);
  write_text(path("p.y4m"),
             "YUV4MPEG2 W4 H2 Im\nFRAME Ib XFOO=1\n" + as_text(a) + "FRAME\n" + as_text(b));
  Y4mReader reader(path("p.y4m").string());
  EXPECT_EQ(reader.header().interlace, Interlace::mixed);
  Bytes frame(12);
  ASSERT_TRUE(reader.read_frame(frame));
  EXPECT_EQ(frame, a);
  ASSERT_TRUE(reader.read_frame(frame));
  EXPECT_EQ(frame, b);
  EXPECT_FALSE(reader.read_frame(frame));
}

TEST_F(Y4mFiles, ManyTinyFramesCrossTheReadBuffer) {
  auto rng = fresh_rng();
  const std::vector<Bytes> frames = write_stream("tiny.y4m", header_of("420jpeg", 1, 1), 5000, rng);
  Y4mReader reader(path("tiny.y4m").string());
  Bytes frame(3);
  for (const Bytes& expected : frames) {
    ASSERT_TRUE(reader.read_frame(frame));
    ASSERT_EQ(frame, expected) << "frame " << reader.frames_read() - 1;
  }
  EXPECT_FALSE(reader.read_frame(frame));
}

TEST_F(Y4mFiles, TruncatedFrameIsNamed) {
  auto rng = fresh_rng();
  const Y4mHeader h = header_of("420jpeg", 33, 17);  // 561 + 2 * 153 = 867 bytes
  write_stream("full.y4m", h, 3, rng);
  const std::string full = read_text(path("full.y4m"));
  const std::size_t frame2 = full.size() - 867;

  write_text(path("cut.y4m"), full.substr(0, frame2 + 100));
  Y4mReader reader(path("cut.y4m").string());
  Bytes frame(reader.frame_bytes());
  ASSERT_TRUE(reader.read_frame(frame));
  ASSERT_TRUE(reader.read_frame(frame));
  EXPECT_EQ(message_of([&] { (void)reader.read_frame(frame); }),
            path("cut.y4m").string() + ": Y4M frame 2 is truncated: 100 of 867 bytes");

  write_text(path("marker.y4m"), full.substr(0, frame2 - 3));  // "FRA"
  Y4mReader cut_marker(path("marker.y4m").string());
  ASSERT_TRUE(cut_marker.read_frame(frame));
  ASSERT_TRUE(cut_marker.read_frame(frame));
  EXPECT_NE(
      message_of([&] { (void)cut_marker.read_frame(frame); }).find("Y4M frame 2 is truncated"),
      std::string::npos);
}

TEST_F(Y4mFiles, GarbageAfterTheLastFrameIsNamed) {
  auto rng = fresh_rng();
  write_stream("g.y4m", header_of("444", 3, 5), 2, rng);
  for (const char* garbage : {"FRAMX\n", "FRAMEX\n", "\n", "junk"}) {
    write_text(path("bad.y4m"), read_text(path("g.y4m")) + garbage);
    Y4mReader reader(path("bad.y4m").string());
    Bytes frame(reader.frame_bytes());
    ASSERT_TRUE(reader.read_frame(frame));
    ASSERT_TRUE(reader.read_frame(frame));
    const std::string message = message_of([&] { (void)reader.read_frame(frame); });
    EXPECT_NE(message.find("Y4M frame 2 does not start with FRAME"), std::string::npos) << message;
  }
  write_text(path("long.y4m"), read_text(path("g.y4m")) + "FRAME " + std::string(5000, 'x'));
  Y4mReader reader(path("long.y4m").string());
  Bytes frame(reader.frame_bytes());
  ASSERT_TRUE(reader.read_frame(frame));
  ASSERT_TRUE(reader.read_frame(frame));
  EXPECT_NE(message_of([&] { (void)reader.read_frame(frame); }).find("FRAME line is longer"),
            std::string::npos);
}

struct BadHeader {
  const char* name;
  std::string text;
  const char* message;
};

class Y4mBadHeader : public Y4mFiles, public ::testing::WithParamInterface<BadHeader> {};

TEST_P(Y4mBadHeader, IsOneClearUsageError) {
  write_text(path("h.y4m"), GetParam().text);
  const std::string message =
      message_of<UsageError>([&] { Y4mReader reader(path("h.y4m").string()); });
  EXPECT_NE(message.find(GetParam().message), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Y4mBadHeader,
    ::testing::Values(
        BadHeader{"Empty", "", "is empty, not a Y4M stream"},
        BadHeader{"WrongMagic", "YUV4MPEG3 W2 H2\n", "is not a Y4M stream"},
        BadHeader{"MagicGlued", "YUV4MPEG2W2 H2\n", "is not a Y4M stream"},
        BadHeader{"Binary", std::string("\0\x01\xff\n", 4), "starts with '\\x00\\x01\\xff'"},
        BadHeader{"NoWidth", "YUV4MPEG2 H2\n", "has no width (W tag)"},
        BadHeader{"NoHeight", "YUV4MPEG2 W2\n", "has no height (H tag)"},
        BadHeader{"ZeroWidth", "YUV4MPEG2 W0 H2\n", "Y4M width 0 is out of range (1 to 16384)"},
        BadHeader{"NegativeHeight", "YUV4MPEG2 W2 H-3\n", "Y4M height -3 is out of range"},
        BadHeader{"HugeWidth", "YUV4MPEG2 W16385 H2\n", "Y4M width 16385 is out of range"},
        BadHeader{"TextWidth", "YUV4MPEG2 Wabc H2\n", "bad Y4M width 'Wabc'"},
        BadHeader{"OverflowHeight", "YUV4MPEG2 W2 H99999999999\n", "bad Y4M height"},
        BadHeader{"ZeroDenominator", "YUV4MPEG2 W2 H2 F30:0\n", "bad Y4M frame rate 'F30:0'"},
        BadHeader{"NoColon", "YUV4MPEG2 W2 H2 A1\n", "bad Y4M aspect ratio 'A1'"},
        BadHeader{"Interlacing", "YUV4MPEG2 W2 H2 Ix\n", "bad Y4M interlacing 'Ix'"},
        BadHeader{"Unsupported", "YUV4MPEG2 W2 H2 C422\n",
                  "unsupported Y4M colour space '422' (supported: 420jpeg, 420paldv, 420mpeg2, "
                  "420, 444, 420p10, 444p10)"},
        BadHeader{"Mono", "YUV4MPEG2 W2 H2 Cmono\n", "colour space 'mono' (grey frames"},
        BadHeader{"NoNewline", "YUV4MPEG2 W2 H2", "has no end of line"},
        BadHeader{"TooLong", "YUV4MPEG2 W2 H2 X" + std::string(5000, 'a') + "\n",
                  "header is longer than 4096 bytes"},
        BadHeader{"TooLarge", "YUV4MPEG2 W16384 H16384 C444p10\n", "more than the 1 GiB"}),
    [](const ::testing::TestParamInfo<BadHeader>& p) { return std::string(p.param.name); });

TEST_F(Y4mFiles, UnreadablePathsAreUsageErrors) {
  const std::string missing = path("missing.y4m").string();
  EXPECT_EQ(message_of<UsageError>([&] { Y4mReader reader(missing); }),
            "cannot open " + missing + ": No such file or directory");
  const std::string dir = path("").string();
  EXPECT_EQ(message_of<UsageError>([&] { Y4mReader reader(dir); }),
            "cannot open " + dir + ": Is a directory");
}

TEST_F(Y4mFiles, ReadFrameWantsAFrameSizedBuffer) {
  write_text(path("s.y4m"), "YUV4MPEG2 W2 H2\n");
  Y4mReader reader(path("s.y4m").string());
  Bytes small(5);
  EXPECT_THROW((void)reader.read_frame(small), UsageError);
}

TEST_F(Y4mFiles, PartFileIsRenamedOnClose) {
  auto rng = fresh_rng();
  const Y4mHeader h = header_of("420p10", 3, 5);
  const fs::path out = path("out.y4m");
  const fs::path part = path("out.y4m.part");
  Y4mWriter writer(out.string(), h);
  EXPECT_TRUE(fs::exists(part));
  EXPECT_FALSE(fs::exists(out));
  const Bytes frame = random_bytes(h.desc.bytes(), rng);
  writer.write_frame(frame);
  EXPECT_FALSE(fs::exists(out));
  writer.close();
  writer.close();  // a second close is harmless
  EXPECT_FALSE(fs::exists(part));
  Y4mReader reader(out.string());
  Bytes back(reader.frame_bytes());
  ASSERT_TRUE(reader.read_frame(back));
  EXPECT_EQ(back, frame);
  EXPECT_EQ(writer.frames_written(), 1);
  EXPECT_THROW(writer.write_frame(frame), UsageError);
}

TEST_F(Y4mFiles, WriterDestroyedWithoutCloseLeavesNothingBehind) {
  const fs::path out = path("keep.y4m");
  write_text(out, "earlier output");
  {
    Y4mWriter writer(out.string(), header_of("444", 2, 2));
    writer.write_frame(Bytes(12));
  }
  EXPECT_EQ(read_text(out), "earlier output");
  EXPECT_FALSE(fs::exists(path("keep.y4m.part")));
}

TEST_F(Y4mFiles, WriterRefusesBadArguments) {
  const std::string out = path("w.y4m").string();
  Y4mHeader h = header_of("420jpeg", 4, 2);
  {
    Y4mWriter writer(out, h);
    EXPECT_THROW(writer.write_frame(Bytes(13)), UsageError);
  }
  Y4mHeader bad = h;
  bad.extensions = {"TWO WORDS"};
  EXPECT_THROW(Y4mWriter(out, bad), UsageError);
  bad = h;
  bad.colorspace = "444";
  EXPECT_THROW(Y4mWriter(out, bad), UsageError);
  bad = h;
  bad.desc.bits = 12;
  EXPECT_THROW(Y4mWriter(out, bad), UsageError);
  bad = h;
  bad.desc.width = 0;
  EXPECT_THROW(Y4mWriter(out, bad), UsageError);
  bad = h;
  bad.frame_rate = {1, 0};
  EXPECT_THROW(Y4mWriter(out, bad), UsageError);
  EXPECT_FALSE(fs::exists(out + ".part"));
  EXPECT_NE(message_of<UsageError>([&] {
              Y4mWriter w(path("no/such/dir.y4m").string(), h);
            }).find("cannot create"),
            std::string::npos);
  EXPECT_NE(
      message_of<UsageError>([&] { Y4mWriter w(path("").string(), h); }).find("Is a directory"),
      std::string::npos);
}

// Standard input and output are swapped for a file while `body` runs.
template <typename F>
void with_fd_as(int target, const fs::path& file, int flags, F&& body) {
  const int fd = ::open(file.c_str(), flags, 0644);
  ASSERT_GE(fd, 0);
  std::fflush(stdout);  // what gtest printed so far stays out of the file
  const int saved = ::dup(target);
  ASSERT_GE(saved, 0);
  ASSERT_EQ(::dup2(fd, target), target);
  ::close(fd);
  body();
  ASSERT_EQ(::dup2(saved, target), target);
  ::close(saved);
}

TEST_F(Y4mFiles, DashMeansStandardInputAndOutput) {
  auto rng = fresh_rng();
  const Y4mHeader h = header_of("420", 5, 3);
  const Bytes frame = random_bytes(h.desc.bytes(), rng);
  with_fd_as(STDOUT_FILENO, path("stdout.y4m"), O_WRONLY | O_CREAT | O_TRUNC, [&] {
    Y4mWriter writer("-", h);
    writer.write_frame(frame);
    writer.close();
  });
  with_fd_as(STDIN_FILENO, path("stdout.y4m"), O_RDONLY, [&] {
    Y4mReader reader("-");
    Bytes back(reader.frame_bytes());
    ASSERT_TRUE(reader.read_frame(back));
    EXPECT_EQ(back, frame);
    EXPECT_FALSE(reader.read_frame(back));
  });
}

class Pipe {
 public:
  Pipe() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) {
      throw Error("pipe2 failed");
    }
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe() {
    close_read();
    close_write();
  }
  [[nodiscard]] int read_end() const { return fds_[0]; }
  [[nodiscard]] int write_end() const { return fds_[1]; }
  void close_read() { close(fds_[0]); }
  void close_write() { close(fds_[1]); }

 private:
  static void close(int& fd) {
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
  }
  int fds_[2] = {-1, -1};
};

TEST(Y4mPipe, WriterThreadToReader) {
  auto rng = fresh_rng();
  const Y4mHeader h = header_of("420p10", 641, 361);  // a frame is many pipe buffers
  std::vector<Bytes> frames(5);
  for (Bytes& f : frames) {
    f = random_bytes(h.desc.bytes(), rng);
  }
  Pipe pipe;
  std::exception_ptr failure;
  std::jthread writer_thread([&] {
    try {
      Y4mWriter writer(pipe.write_end(), "pipe", h);
      for (const Bytes& f : frames) {
        writer.write_frame(f);
      }
      writer.close();
    } catch (...) {
      failure = std::current_exception();
    }
    pipe.close_write();
  });
  std::vector<Bytes> got;
  std::string error;
  try {
    Y4mReader reader(pipe.read_end(), "pipe");
    Bytes frame(reader.frame_bytes());
    while (reader.read_frame(frame)) {
      got.push_back(frame);
    }
  } catch (const Error& e) {
    error = e.what();
  }
  // A writer left on a full pipe by a failed reader must see EPIPE, or the join never returns.
  pipe.close_read();
  writer_thread.join();
  EXPECT_EQ(error, "");
  EXPECT_FALSE(failure);
  ASSERT_EQ(got.size(), frames.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(got[i] == frames[i]) << "frame " << i;
  }
}

TEST(Y4mPipe, ShortReadsAnywhere) {
  auto rng = fresh_rng();
  const Bytes expected = random_bytes(45, rng);
  const std::string stream = "YUV4MPEG2 W3 H5 C444 XA=B\nFRAME\n" + as_text(expected);
  Pipe pipe;
  std::mt19937_64 sizes(rng());
  std::jthread feeder([&] {
    // One to seven bytes a write, so reads end anywhere: in the magic, a tag, the marker, a plane.
    for (std::size_t at = 0; at < stream.size();) {
      const std::size_t n = std::min<std::size_t>(1 + sizes() % 7, stream.size() - at);
      if (::write(pipe.write_end(), stream.data() + at, n) != static_cast<ssize_t>(n)) {
        break;
      }
      at += n;
      std::this_thread::yield();
    }
    pipe.close_write();
  });
  Y4mReader reader(pipe.read_end(), "pipe");
  EXPECT_EQ(reader.header().extensions, std::vector<std::string>{"A=B"});
  Bytes frame(reader.frame_bytes());
  ASSERT_TRUE(reader.read_frame(frame));
  EXPECT_EQ(frame, expected);
  EXPECT_FALSE(reader.read_frame(frame));
}

TEST(Y4mPipe, ClosedReaderIsBrokenPipeNotSigpipe) {
  Pipe pipe;
  pipe.close_read();
  Y4mWriter writer(pipe.write_end(), "pipe", header_of("420jpeg", 2, 2));
  EXPECT_EQ(message_of([&] { writer.write_frame(Bytes(6)); }), "cannot write pipe: Broken pipe");
  EXPECT_NE(message_of([&] { writer.close(); }).find("an earlier write failed"), std::string::npos);
}

}  // namespace
}  // namespace pyn
