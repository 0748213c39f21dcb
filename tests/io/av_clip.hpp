#pragma once
// Test clips made and inspected with the libav* API directly, independent of VideoReader and
// VideoWriter: a synthetic video (each frame stamped with its index) with an optional sine tone,
// and a probe that lists a file's streams from its packets.

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixfmt.h>
}

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace pyn::test {

struct ClipSpec {
  std::string path;  // the container from the extension
  std::string video_encoder = "ffv1";
  AVPixelFormat pix_fmt = AV_PIX_FMT_YUV420P;
  int width = 96;
  int height = 64;
  int frames = 12;
  AVRational rate{25, 1};
  AVRational sar{0, 1};
  AVColorPrimaries primaries = AVCOL_PRI_UNSPECIFIED;
  AVColorTransferCharacteristic transfer = AVCOL_TRC_UNSPECIFIED;
  AVColorSpace matrix = AVCOL_SPC_UNSPECIFIED;
  AVColorRange range = AVCOL_RANGE_UNSPECIFIED;
  AVChromaLocation chroma_location = AVCHROMA_LOC_UNSPECIFIED;
  // Degrees anticlockwise a player turns the picture (the display matrix side data); 0 for none.
  double rotation = 0;
  // Frame i's pts in 1/rate units where given (one per frame; repeats allowed where the container
  // takes them), else i.
  std::vector<std::int64_t> pts;
  std::string audio_encoder;  // "" for none; "flac", "pcm_s16le", "aac"
  int sample_rate = 48000;
  // SubRip lines "line <i>" at these seconds, 0.1 s each.
  std::vector<double> subtitles;
  // That many SubRip streams; stream k's lines come 0.02 * k s later, to tell them apart.
  int subtitle_streams = 1;
  // Container (global) metadata, chapters, attachments and the video stream's timecode.
  std::vector<std::pair<std::string, std::string>> metadata;
  struct Chapter {
    double start_s;
    double end_s;
    std::string title;
  };
  std::vector<Chapter> chapters;
  struct Attachment {
    std::string filename;
    std::string mimetype;
    std::string bytes;
  };
  std::vector<Attachment> attachments;
  std::string timecode;  // "01:00:00:00"; "" for none
};

// Writes the clip; throws std::runtime_error where libav* fails. Frame i of a YUV clip has a mean
// luma of stamp_level(i, bits) plus 3.5 (x 4 for 10 bit); of an RGB clip, a red level of
// stamp_level(i, 8) (x 257 for 16 bit).
void make_clip(const ClipSpec& spec);
[[nodiscard]] int stamp_level(int index) noexcept;

struct StreamProbe {
  AVMediaType type = AVMEDIA_TYPE_UNKNOWN;
  std::string codec;
  int width = 0;
  int height = 0;
  AVPixelFormat pix_fmt = AV_PIX_FMT_NONE;
  AVRational time_base{0, 1};
  AVRational avg_frame_rate{0, 1};
  AVRational sar{0, 1};
  AVColorPrimaries primaries = AVCOL_PRI_UNSPECIFIED;
  AVColorTransferCharacteristic transfer = AVCOL_TRC_UNSPECIFIED;
  AVColorSpace matrix = AVCOL_SPC_UNSPECIFIED;
  AVColorRange range = AVCOL_RANGE_UNSPECIFIED;
  AVChromaLocation chroma_location = AVCHROMA_LOC_UNSPECIFIED;
  bool has_display_matrix = false;
  double rotation = 0;  // av_display_rotation_get of the display matrix
  std::int64_t packets = 0;
  double first_s = 0;             // the earliest packet's pts, seconds
  double end_s = 0;               // the latest pts + duration, seconds
  std::vector<std::int64_t> pts;  // of every packet, sorted
};

// What a file holds beside its streams' packets.
struct ContainerProbe {
  std::vector<std::pair<std::string, std::string>> metadata;  // global, as the demuxer gives it
  std::vector<ClipSpec::Chapter> chapters;
  std::vector<ClipSpec::Attachment> attachments;
  std::string timecode;  // of any stream, or global
};
[[nodiscard]] ContainerProbe probe_container(const std::string& path);
[[nodiscard]] std::string metadata_of(const ContainerProbe& probe, const std::string& key);

// Every stream of a file, from its header and all its packets.
[[nodiscard]] std::vector<StreamProbe> probe(const std::string& path);
// The first stream of `type` among `streams`, or null.
[[nodiscard]] const StreamProbe* find(const std::vector<StreamProbe>& streams, AVMediaType type);

}  // namespace pyn::test
