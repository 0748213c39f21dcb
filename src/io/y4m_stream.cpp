#include "pynference/io/y4m_stream.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <utility>

#include "pynference/device/error.hpp"

namespace pyn {

namespace {

// Frames in a regular file, from its size: a Y4M frame is its planes and a 6-byte FRAME line, and
// the header is shorter than one frame except for tiny frames (then this is an estimate); a raw
// frame is its planes.
std::optional<std::int64_t> frames_in_file(const std::string& path, std::size_t frame_bytes, Framing framing) {
  struct stat st {};
  if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return std::nullopt;
  }
  const std::size_t per_frame = frame_bytes + (framing == Framing::y4m ? 6 : 0);
  return static_cast<std::int64_t>(static_cast<std::size_t>(st.st_size) / per_frame);
}

}  // namespace

Y4mSource::Y4mSource(const std::string& path, FrameWindow window)
    : reader_(path), file_frames_(frames_in_file(path, reader_.frame_bytes(), Framing::y4m)) {
  select(window);
}

Y4mSource::Y4mSource(const std::string& path, const Y4mHeader& raw)
    : reader_(path, raw), file_frames_(frames_in_file(path, reader_.frame_bytes(), Framing::raw)) {
  select({});
}

void Y4mSource::select(FrameWindow window) {
  if (window.first < 0) {
    throw UsageError("cannot start before the first frame");
  }
  window_ = window;
  frames_ = file_frames_;
  if (frames_) {
    *frames_ = std::max<std::int64_t>(*frames_ - window_.first, 0);
  }
  if (window_.count >= 0) {
    frames_ = frames_ ? std::min(*frames_, window_.count) : window_.count;
  }
}

bool Y4mSource::read(std::span<std::byte> slot, FrameInfo& info) {
  const std::int64_t index = info.index;
  if (!skipped_) {
    skipped_ = true;
    for (std::int64_t i = 0; i < window_.first; ++i) {
      if (!reader_.read_frame(slot.subspan(0, reader_.frame_bytes()))) {
        return false;
      }
    }
  }
  if (window_.count >= 0 && index >= window_.count) {
    return false;
  }
  return reader_.read_frame(slot.subspan(0, reader_.frame_bytes()));
}

Y4mSink::Y4mSink(std::string path, Y4mHeader header) : path_(std::move(path)), header_(std::move(header)) {}

void Y4mSink::open(const FrameFormat& format) {
  const auto* yuv = std::get_if<YuvDesc>(&format);
  if (yuv == nullptr) {
    throw UsageError(std::string(header_.framing == Framing::raw ? "raw output" : "Y4M") +
                     " carries planar YUV frames, not " + to_string(format) +
                     ": choose a YUV output pixel format (e.g. --pix-fmt yuv444p)");
  }
  Y4mHeader header = header_;
  if (header.desc.chroma != yuv->chroma || header.desc.bits != yuv->bits) {
    header.colorspace.clear();  // the usual name for the new layout
  }
  header.desc = *yuv;
  writer_ = std::make_unique<Y4mWriter>(path_, header);
}

void Y4mSink::write(std::span<const std::byte> frame, const FrameInfo& /*info*/) {
  writer_->write_frame(frame);
  ++frames_;
}

void Y4mSink::close() {
  if (writer_ && frames_ == 0) {
    writer_.reset();  // removes the .part
    throw Error((path_ == "-" ? std::string("stdout") : path_) +
                ": no frames to write; nothing written");
  }
  if (writer_) {
    writer_->close();
  }
}

}  // namespace pyn
