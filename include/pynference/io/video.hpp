#pragma once
// Video containers through FFmpeg (libavformat, libavcodec, libswscale): files of any format FFmpeg
// reads, standard input for the formats that stream (nut, matroska, mpegts), image sequences
// ("frames/%04d.png"). The reader decodes to the frames the pipeline takes; the writer encodes the
// pipeline's frames and copies the input's audio and subtitle streams beside them, and its
// container metadata, chapters (clipped to the -ss/-t/-to window), attachments (Matroska) and the
// video's timecode where the output's container holds them (a warning where it cannot).
//
// Builds without FFmpeg (cmake -DPYN_WITH_FFMPEG=OFF, or AUTO where pkg-config finds no libav*)
// keep this header: ffmpeg_available() is false and the constructors throw UsageError.
//
// Frames: what VideoInfo::format says, laid out as kernels/yuv.hpp and kernels/image.hpp describe
// (planar YUV, or interleaved RGB with packed rows). Decoded pixel formats map to the nearest of
// yuv420p, yuv444p, yuv420p10le, yuv444p10le (4:2:0 stays 4:2:0, other subsamplings go to 4:4:4,
// depths above 8 go to 10 bit), rgb24 and rgb48 (RGB, palette, Bayer and grey sources, rgb48 for
// depths above 8); VideoInfo::conversions names what such a conversion changes (and the reader
// warns of it on stderr). Full range comes from the stream or from yuvj*; the matrix (BT.601,
// BT.709, BT.2020 or SMPTE 240M) from the stream's tag, else from BT.2020 or SMPTE 240M
// primaries, else BT.709 for HD (width >= 1280 or height > 576) and BT.601 for SD, as Y4M guesses.
// The display matrix (rotation) is carried in VideoInfo for the writer.
//
// Time: FrameTime counts in VideoInfo::time_base (the stream's). The writer shifts the first frame
// it gets to 0 and the copied audio and subtitles by the same amount, so they stay in sync. It
// encodes in a time base fine enough for both the input's ticks and the frame rate, and snaps a
// time within half an input tick of the frame-rate grid onto it: Matroska's milliseconds of a
// 24000/1001 clip come out as exact 24000/1001 frames; variable rates keep their times.
//
// Threads: a reader or writer is used by one thread at a time (any thread). Both start FFmpeg's
// own codec threads (as many as cores). Calls block on file I/O; VideoWriter::write_frame()
// blocks while the encoder works when its threads are busy.
//
// Logging: the first reader or writer sets FFmpeg's log level to errors and installs a log
// callback for the whole process: it watches for the damage below and prints nothing unless
// set_ffmpeg_verbose(true).
//
// Damage: decoders run with AV_EF_EXPLODE | AV_EF_CRCCHECK, and read_frame() throws Error naming
// the frame where a decoder fails, flags a frame as damaged, or logs an error about it while
// concealing it (ffv1's slice CRCs in FFmpeg 5.1), and where the demuxer logs an error while
// reading on (Matroska skipping a damaged element). Files cut short: Matroska and NUT give the
// whole frames before the cut, then Error ("File ended prematurely"); an MP4 cut before its index
// (moov, at the end unless faststart) does not open. H.264/HEVC damage is reported where FFmpeg's
// decoder notices it, which is not always: some damage decodes concealed. Codecs with prediction
// between frames decode with slice threads only, so that what is noticed does not depend on the
// timing of frame threads: a damaged file gives the same frames and error every time.
//
// Repeated times: a frame whose time is not after the frame before it is dropped, as ffmpeg does
// for variable-rate outputs; frames_dropped() counts them and read_frame() warns at the end.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pynference/core/frame.hpp"
#include "pynference/core/frame_format.hpp"
#include "pynference/core/view.hpp"
#include "pynference/io/rational.hpp"

namespace pyn {

// False in a build without FFmpeg, where VideoReader and VideoWriter throw UsageError.
[[nodiscard]] bool ffmpeg_available() noexcept;

// FFmpeg's own log lines (its warnings and errors, and the encoders' that log through it) on
// stderr as FFmpeg prints them: for `run --verbose`. Off by default: errors reach the caller as
// exceptions of one line, and FFmpeg's lines are only read for the damage they report.
void set_ffmpeg_verbose(bool verbose);

struct VideoInputOptions {
  // A file, "-" for standard input, or an image-sequence pattern ("frames/%04d.png").
  std::string path;
  // -ss: the first frame is the first at or after this time, in seconds from the file's start.
  double start_s = 0;
  std::optional<double> duration_s;  // -t
  std::optional<double> end_s;       // -to, on the input's timeline; with -t a UsageError
  // Damaged input (run --on-error): stop throws Error at the first damage (the default); skip
  // decodes as ffmpeg does, concealing what the decoder can and dropping what it cannot, and counts
  // each such frame (frames_damaged()); keep ends the stream at the first damage as if the file
  // ended there, and error_kept() says what the damage was.
  enum class OnError { stop, skip, keep };
  OnError on_error = OnError::stop;
  // --input-format: FFmpeg's demuxer by name (matroska, nut, mpegts, ...) instead of probing.
  std::string format;
  // Image sequences ("frames/%04d.png", or a glob: "frames/*.png", taken in name order). The first
  // frame: this number, else the lowest number of the pattern's files there are (ffmpeg looks
  // only at 0 to 4). The frame rate: FFmpeg's notation (25, 30000/1001, 29.97, ntsc); empty: 25.
  // Either given for an input that is not a sequence: UsageError.
  std::optional<std::int64_t> start_number;
  std::string frame_rate;
  // --hwdec: where the video is decoded. none: FFmpeg's CPU decoder into host frames (read_frame).
  // cuda: NVDEC through FFmpeg's CUDA hwaccel on the primary context of CUDA device cuda_device
  // (the CUDA runtime's, the pipeline's), frames left on the device as NV12, P010, yuv444p or
  // yuv444p16 (lend_frame); where it cannot, the constructor throws UsageError, one line saying
  // why. automatic: NVDEC where the codec, pixel format and size allow it and the device opens,
  // else the CPU decoder, with one line on stderr saying why (VideoInfo::hwdec_fallback).
  enum class HwDecode { none, automatic, cuda };
  HwDecode hwdec = HwDecode::none;
  int cuda_device = 0;
  // Device frames lent at once (the pipeline's slots in flight, times its batch): VideoSource waits
  // for one to come back past this. The decoder gets as many extra frames, up to 8
  // (AVCodecContext::extra_hw_frames, which nvdec adds to its decode surfaces, 32 at most); the
  // frames lent come from FFmpeg's CUDA frame pool, which grows as needed.
  int device_frames = 8;
};

// FFmpeg's enum values (AVColorPrimaries, AVColorTransferCharacteristic, AVColorSpace,
// AVColorRange, AVChromaLocation); 2 (0 for range and chroma location) = unspecified.
struct ColorTags {
  int primaries = 2;
  int transfer = 2;
  int matrix = 2;
  int range = 0;
  int chroma_location = 0;
  friend constexpr bool operator==(const ColorTags&, const ColorTags&) = default;
};

struct VideoInfo {
  FrameFormat format;      // what read_frame() fills
  Rational frame_rate;     // frames per second (a guess for variable rates); 25 where unknown
  Rational time_base;      // of FrameTime
  Rational sample_aspect;  // 0:0 unknown
  ColorTags color;
  std::optional<std::int64_t> frame_count;  // an estimate within the -ss/-t/-to window, where known
  std::string description;                  // "h264 yuv420p 1920x1080 23.976 fps", for messages
  // FFmpeg's display matrix (3x3, 16.16 and 2.30 fixed point, as libavutil/display.h): how a
  // player rotates or flips the frames (phone videos). The writer stores it where the container
  // can (MP4, MOV); absent where the stream has none.
  std::optional<std::array<std::int32_t, 9>> display_matrix;
  // Conversions the reader makes that change what the frames hold (4:2:2 to 4:4:4, 12 to 10 bit,
  // alpha dropped, grey to RGB, ...), one phrase each, for a warning.
  std::vector<std::string> conversions;
  // "hevc on nvdec (cuda:0)" or "hevc on the cpu", for the run summary. on_device: frames are
  // decoded into device memory and lent (VideoReader::lend_frame), format is the decoder's
  // (semi-planar NV12/P010, core/yuv_format.hpp), a sink takes planar_of(format).
  std::string decoder;
  bool on_device = false;
  // HwDecode::automatic: why the CPU decodes (said on stderr too); empty otherwise.
  std::string hwdec_fallback;
};

// Reads the video stream of a container (the default one where there are several). Open errors
// (missing file, no video stream, no decoder, bad -ss/-t/-to) throw UsageError; read and decode
// errors throw Error naming the frame: "in.mkv: frame 37: Invalid data found when processing
// input". Decoders report damage rather than conceal it.
class VideoReader {
 public:
  // Opens, finds the video stream, opens the decoder, seeks to start_s and decodes up to the first
  // frame of the window.
  explicit VideoReader(const VideoInputOptions& options);
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;
  ~VideoReader();

  [[nodiscard]] const VideoInfo& info() const noexcept { return info_; }
  // Fills `dst` (exactly bytes_of(info().format) long) with the next frame of the window; false at
  // its end. Throws Error where a later frame changes size.
  bool read_frame(std::span<std::byte> dst, FrameTime* time = nullptr);
  // For info().on_device: the next frame of the window as device planes (data[i], linesize[i] of
  // FFmpeg's CUDA frame, laid out as info().format says, the decoder's copy into them complete),
  // valid until give_back(its index: frames_read() before the call); nullopt at its end. The
  // reader holds every lent frame; at most VideoInputOptions::device_frames should be out at once
  // (VideoSource waits for that). Throws UsageError for a reader that decodes on the CPU.
  std::optional<FramePlanes> lend_frame(FrameTime* time = nullptr);
  // From any thread, in any order; an index not lent is ignored.
  void give_back(std::int64_t index);
  [[nodiscard]] std::int64_t frames_read() const noexcept { return frames_read_; }
  // Frames left out because their time was not after the frame before them (two Matroska frames
  // in one millisecond, say), as ffmpeg leaves them out; read_frame() warns of them at the end.
  [[nodiscard]] std::int64_t frames_dropped() const noexcept;
  // OnError::skip: frames the decoder concealed, and packets or frames it could not decode.
  [[nodiscard]] std::int64_t frames_damaged() const noexcept;
  // OnError::keep: the error that ended the stream early; empty where it ended as the file did.
  [[nodiscard]] const std::string& error_kept() const noexcept;

  struct State;

 private:
  void open(const VideoInputOptions& options, bool hardware);

  std::unique_ptr<State> state_;
  VideoInfo info_;
  std::int64_t frames_read_ = 0;
};

struct VideoOutputOptions {
  // A file, its container from the extension (.mkv .mp4 .mov .webm .avi .nut ...), an
  // image-sequence pattern ("out/%04d.png", numbered from 1), or "-" (standard output, with
  // format).
  std::string path;
  // A container by FFmpeg's name (matroska, nut, mpegts, mp4...) instead of the extension's; with
  // path "-" required, and then one that streams (not mp4, mov, mxf, avi, image2).
  std::string format;
  // "" picks libx264 for mp4, mov and mkv, png for image sequences, else the container's default.
  std::string encoder;
  std::optional<int> crf;  // x264/x265 -crf
  std::string preset;      // x264/x265 -preset
  // "" = the frames' own layout where the encoder takes it, else the encoder's nearest.
  std::string pix_fmt;
  // Stream-copy every audio and subtitle stream of copy_from (in its -ss/-t/-to window, up to the
  // end of the last frame written); false (--no-audio) copies nothing.
  bool copy_streams = true;
  VideoInputOptions copy_from;
  // Which audio and subtitle streams of copy_from are kept, in the manner of ffmpeg's -map (the
  // video is always the frames written): "a" / "s" every audio / subtitle stream, "a:N" / "s:N"
  // the Nth of that kind (from 0), "none" nothing; a leading '-' ("-a", "-s:1") leaves those out.
  // Without any that add ("a", "s:0"), every stream is the start, else only those added. Empty:
  // every stream. A malformed one, or one that matches no stream of copy_from, is a UsageError
  // before anything is created. The kept streams keep their order in the input.
  std::vector<std::string> maps;
  // "copy": each audio stream as it is where the container holds its codec, else encoded with
  // the container's default audio encoder (Opus in .mov becomes AAC), else dropped with a warning
  // (audio in .gif). An encoder name ("aac", "libopus", "flac"): every audio stream encoded with
  // it. audio_bitrate: bits per second for lossy encoders; 0 = the encoder's default.
  std::string audio_codec = "copy";
  std::int64_t audio_bitrate = 0;
};

// Encodes frames into a container. A file goes to "<path>.part", renamed to path by close(); an
// image sequence to "<name>.part" files, each renamed by close(). A writer destroyed without
// close() (after an error, say) removes what it wrote and leaves existing files alone.
// Bad options (unknown container or encoder, a pix_fmt the encoder does not take, odd sizes for
// 4:2:0 where the encoder needs even ones) throw UsageError before anything is created.
class VideoWriter {
 public:
  // `format`: the frames write_frame() gets (the pipeline's output: the input's layout at the
  // network's size). `input`: the frame rate, time base, sample aspect and colour tags to carry.
  VideoWriter(const VideoOutputOptions& options, const FrameFormat& format, const VideoInfo& input);
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;
  ~VideoWriter();

  // `time` in input.time_base, as the reader gave it; frames in presentation order (a time not
  // after the last one's is a UsageError). `frame` is copied before this returns.
  void write_frame(std::span<const std::byte> frame, const FrameTime& time);
  // Flushes the encoder, copies the rest of the audio up to the last frame's end, writes the
  // trailer and renames the output into place. Throws where that fails, removing the output.
  void close();
  [[nodiscard]] std::int64_t frames_written() const noexcept { return frames_written_; }
  // The encoder and pixel format chosen, "libx264 yuv420p", for messages.
  [[nodiscard]] const std::string& description() const noexcept { return description_; }

  struct State;

 private:
  std::unique_ptr<State> state_;
  std::string description_;
  std::int64_t frames_written_ = 0;
};

}  // namespace pyn
