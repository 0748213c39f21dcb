#pragma once
// A video cut at its key frames into segments that are processed apart, and the segments' encoded
// video joined again without re-encoding, with the input's audio and subtitles copied once: what
// `pynference segments` and `pynference join` do, and pynference.distributed builds on
// (docs/distributed.md). Both throw UsageError in a build without FFmpeg.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pyn {

struct Keyframes {
  // The key frames' times of the video stream (the one VideoReader reads), ascending, in seconds on
  // the input's timeline as -ss takes them (0 = the file's start time).
  std::vector<double> times_s;
  double end_s = 0;          // the end of the stream's last packet, on the same timeline
  std::int64_t packets = 0;  // the stream's packets (its frames, for most codecs)
};

// Reads the input's packets (no decoding). UsageError where it cannot be opened or has no video.
[[nodiscard]] Keyframes list_keyframes(const std::string& path);

// [start_s, end_s) on the input's timeline; the last segment has no end (to the end of the input).
struct Segment {
  double start_s = 0;
  std::optional<double> end_s;
};

// `count` segments (at least 1) cut at the key frame nearest each of count - 1 even splits of
// the stream, or (every_s > 0) at the first key frame at or after each multiple of every_s from
// the first; fewer where key frames are fewer. The first starts at the first key frame.
// UsageError for a count below 1, or a stream without key frames.
[[nodiscard]] std::vector<Segment> plan_segments(const Keyframes& keyframes, int count,
                                                 double every_s = 0);

struct JoinOptions {
  // The input the segments were cut from: where the audio and subtitles are copied from, and the
  // timeline of starts_s.
  std::string input;
  // Each segment's file (its video stream only is read), in order, and its start on the input's
  // timeline: the time of its first frame, as plan_segments gave it.
  std::vector<std::string> segments;
  std::vector<double> starts_s;
  // The container from the extension; written to "<output>.part" and renamed at the end (removed
  // on failure).
  std::string output;
  bool copy_streams = true;  // false: the video only (--no-audio)
};

// Writes the segments' video packets one after the other, each shifted by its start less the
// first's, and every audio and subtitle stream of the input up to the end of the last frame,
// shifted as a single run shifts them. Returns the video packets written. UsageError where the
// segments' video differs (codec, size, pixel format, codec headers) or starts do not ascend;
// Error where a segment's frames overlap the one before it.
std::int64_t join_segments(const JoinOptions& options);

}  // namespace pyn
