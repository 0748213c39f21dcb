// `pynference segments` and `pynference join`: a clip with audio cut at its key frames into
// segments, each run apart (-ss/-to, video only), joined without re-encoding, equals one run of
// the whole clip frame for frame (count, timestamps, decoded frames) with the same audio.

#include "pynference/io/segments.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/program.hpp"
#include "io/ffmpeg_test_util.hpp"

namespace pyn::test {
namespace {

std::string seconds(double s) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.17g", s);
  return buffer;
}

const std::string kCommon = " -m synthetic:x2 --encoder ffv1 --device cpu --quiet";

// The clip cut into `segments` run apart and joined into `out`; the frames each segment wrote.
std::vector<std::int64_t> run_in_segments(const ScratchDir& dir, const std::string& in,
                                          const std::vector<Segment>& segments,
                                          const std::string& out) {
  std::string join = "join -i " + in + " -o " + out;
  std::vector<std::int64_t> counts;
  for (std::size_t k = 0; k < segments.size(); ++k) {
    const std::string part = dir / ("seg" + std::to_string(k) + ".mkv");
    std::string window = " -ss " + seconds(segments[k].start_s);
    if (segments[k].end_s) {
      window += " -to " + seconds(*segments[k].end_s);
    }
    const Result r = run("run -i " + in + " -o " + part + kCommon + " --no-audio" + window);
    EXPECT_EQ(r.code, 0) << r.output;
    counts.push_back(static_cast<std::int64_t>(read_all(part).frames.size()));
    join += " --segment " + part + " --start " + seconds(segments[k].start_s);
  }
  const Result r = run(join);
  EXPECT_EQ(r.code, 0) << r.output;
  return counts;
}

void expect_same_as_one_run(const std::string& one, const std::string& joined) {
  const Decoded a = read_all(one);
  const Decoded b = read_all(joined);
  ASSERT_EQ(a.frames.size(), b.frames.size());
  for (std::size_t i = 0; i < a.frames.size(); ++i) {
    EXPECT_EQ(a.times[i].pts, b.times[i].pts) << "frame " << i;
    EXPECT_TRUE(a.frames[i] == b.frames[i]) << "frame " << i << " differs";
  }
  const std::vector<StreamProbe> pa = probe(one);
  const std::vector<StreamProbe> pb = probe(joined);
  const StreamProbe* audio_a = find(pa, AVMEDIA_TYPE_AUDIO);
  const StreamProbe* audio_b = find(pb, AVMEDIA_TYPE_AUDIO);
  ASSERT_NE(audio_a, nullptr);
  ASSERT_NE(audio_b, nullptr) << "the audio is copied into the joined file";
  EXPECT_EQ(audio_a->codec, audio_b->codec);
  EXPECT_EQ(audio_a->packets, audio_b->packets);
  EXPECT_EQ(audio_a->pts, audio_b->pts);
  EXPECT_DOUBLE_EQ(audio_a->end_s, audio_b->end_s);
  EXPECT_EQ(find(pa, AVMEDIA_TYPE_VIDEO)->pts, find(pb, AVMEDIA_TYPE_VIDEO)->pts);
}

ClipSpec h264_clip(const ScratchDir& dir) {
  ClipSpec spec;
  spec.path = dir / "in.mkv";
  spec.video_encoder = "libx264";  // a key frame every 5 frames, predicted frames between
  spec.width = 64;
  spec.height = 48;
  spec.frames = 36;
  spec.audio_encoder = "flac";
  make_clip(spec);
  return spec;
}

TEST(Segments, ThreeSegmentsJoinedEqualOneRun) {
  ScratchDir dir;
  const ClipSpec spec = h264_clip(dir);
  const Keyframes keys = list_keyframes(spec.path);
  ASSERT_EQ(keys.packets, 36);
  ASSERT_EQ(keys.times_s.size(), 8U) << "a key frame every 5 frames";
  const std::vector<Segment> segments = plan_segments(keys, 3);
  ASSERT_EQ(segments.size(), 3U);
  EXPECT_DOUBLE_EQ(segments[1].start_s, 0.4);  // 36 frames at 25 fps: 0.48 s is nearest frame 10
  EXPECT_DOUBLE_EQ(segments[2].start_s, 1.0);  // 0.96 s nearest frame 25

  const Result one = run("run -i " + spec.path + " -o " + (dir / "one.mkv") + kCommon);
  ASSERT_EQ(one.code, 0) << one.output;
  const std::vector<std::int64_t> counts =
      run_in_segments(dir, spec.path, segments, dir / "joined.mkv");
  // No frame lost or taken twice at the cuts: [start, end) each.
  EXPECT_EQ(counts, (std::vector<std::int64_t>{10, 15, 11}));
  expect_same_as_one_run(dir / "one.mkv", dir / "joined.mkv");
}

// libx264's B-frames in Matroska, which stores no decode times: the join makes them (it failed
// with "Invalid argument" from the muxer before), and the joined file decodes to the single run's
// frame count and timestamps. Lossy: each segment is an encode of its own, so frames may differ.
TEST(Segments, ReorderedH264SegmentsJoinIntoTheSingleRunsTimeline) {
  ScratchDir dir;
  const ClipSpec spec = h264_clip(dir);
  const std::vector<Segment> segments = plan_segments(list_keyframes(spec.path), 3);
  const std::string lossy = " -m synthetic:x2 --device cpu --quiet";
  ASSERT_EQ(run("run -i " + spec.path + " -o " + (dir / "one.mkv") + lossy).code, 0);
  std::string join = "join -i " + spec.path + " -o " + (dir / "joined.mkv");
  for (std::size_t k = 0; k < segments.size(); ++k) {
    const std::string part = dir / ("seg" + std::to_string(k) + ".mkv");
    const Result r =
        run("run -i " + spec.path + " -o " + part + lossy + " --no-audio -ss " +
            seconds(segments[k].start_s) +
            (segments[k].end_s ? " -to " + seconds(*segments[k].end_s) : std::string()));
    ASSERT_EQ(r.code, 0) << r.output;
    join += " --segment " + part + " --start " + seconds(segments[k].start_s);
  }
  const Result r = run(join);
  ASSERT_EQ(r.code, 0) << r.output;
  const Decoded one = read_all(dir / "one.mkv");
  const Decoded joined = read_all(dir / "joined.mkv");
  ASSERT_EQ(joined.frames.size(), 36U);
  for (std::size_t i = 0; i < one.times.size(); ++i) {
    EXPECT_EQ(one.times[i].pts, joined.times[i].pts) << "frame " << i;
  }
  const std::vector<StreamProbe> streams = probe(dir / "joined.mkv");
  EXPECT_EQ(find(streams, AVMEDIA_TYPE_VIDEO)->codec, "h264");
  EXPECT_EQ(find(streams, AVMEDIA_TYPE_AUDIO)->pts,
            find(probe(dir / "one.mkv"), AVMEDIA_TYPE_AUDIO)->pts);
}

TEST(Segments, TheCommandPlansByCountOrDuration) {
  ScratchDir dir;
  const ClipSpec spec = h264_clip(dir);
  const Result by_count = run("segments -i " + spec.path + " --segments 3");
  ASSERT_EQ(by_count.code, 0) << by_count.output;
  EXPECT_NE(by_count.output.find("\"packets\": 36"), std::string::npos) << by_count.output;
  EXPECT_NE(by_count.output.find("{\"start_s\": 0.40000000000000002, \"end_s\": 1}"),
            std::string::npos)
      << by_count.output;
  const std::vector<Segment> every = plan_segments(list_keyframes(spec.path), 1, 0.5);
  ASSERT_EQ(every.size(), 3U);  // key frames at or after 0.5 and 1.0 s: 0.6 and 1.0
  EXPECT_DOUBLE_EQ(every[1].start_s, 0.6);
  EXPECT_DOUBLE_EQ(every[2].start_s, 1.0);
  EXPECT_FALSE(every[2].end_s.has_value());
  const Result by_time = run("segments -i " + spec.path + " --every 0.5");
  ASSERT_EQ(by_time.code, 0) << by_time.output;
  EXPECT_NE(by_time.output.find("{\"start_s\": 0.59999999999999998, \"end_s\": 1}"),
            std::string::npos)
      << by_time.output;
  // More segments than key frames: one per key frame.
  EXPECT_EQ(plan_segments(list_keyframes(spec.path), 50).size(), 8U);
}

TEST(Segments, JoinRefusesMismatchedSegmentsInOneLine) {
  ScratchDir dir;
  const ClipSpec spec = h264_clip(dir);
  ASSERT_EQ(
      run("run -i " + spec.path + " -o " + (dir / "a.mkv") + kCommon + " --no-audio -to 0.4").code,
      0);
  ASSERT_EQ(run("run -i " + spec.path + " -o " + (dir / "b.mkv") +
                " -m synthetic:x1 --encoder ffv1 --device cpu --quiet --no-audio -ss 0.4")
                .code,
            0);
  const Result r =
      run("join -i " + spec.path + " -o " + (dir / "j.mkv") + " --segment " + (dir / "a.mkv") +
          " --start 0 --segment " + (dir / "b.mkv") + " --start 0.4");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("is not encoded as"), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_FALSE(fs::exists(dir / "j.mkv"));
  EXPECT_FALSE(fs::exists(dir / "j.mkv.part"));
  const Result unordered =
      run("join -i " + spec.path + " -o " + (dir / "j.mkv") + " --segment " + (dir / "a.mkv") +
          " --start 0.4 --segment " + (dir / "a.mkv") + " --start 0");
  EXPECT_EQ(unordered.code, 2) << unordered.output;
  EXPECT_NE(unordered.output.find("must ascend"), std::string::npos) << unordered.output;
}

}  // namespace
}  // namespace pyn::test
