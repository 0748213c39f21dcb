#pragma once
// FFmpeg's CUDA hardware decoding (NVDEC through libavcodec's nvdec hwaccel) for the reader: which
// streams it can take, the device context on the CUDA runtime's primary context (the pipeline's),
// the frames' layouts, and the wait for FFmpeg's copy into a frame. pyn_io does not link CUDA:
// FFmpeg loads libcuda at run time, and so does synchronize().

extern "C" {
#include <libavutil/hwcontext.h>
}

#include <memory>
#include <optional>
#include <string>

#include "av.hpp"

namespace pyn::av {

struct BufferDeleter {
  void operator()(AVBufferRef* b) const noexcept { av_buffer_unref(&b); }
};
using Buffer = std::unique_ptr<AVBufferRef, BufferDeleter>;

// The decoder to use with NVDEC for `found`'s codec: `found` where it has the CUDA hwaccel, else
// FFmpeg's own decoder of that codec that has it (FFmpeg picks libdav1d for AV1, whose native
// decoder is the one with the hwaccel), else `found`.
[[nodiscard]] const AVCodec* nvdec_decoder(const AVCodec* found);

// Why NVDEC cannot decode this stream, one phrase ("4:2:2 is not decoded by NVDEC"); empty where it
// can as far as the stream's parameters tell.
[[nodiscard]] std::string nvdec_refusal(const AVCodec& codec, const AVCodecParameters& par);

// A CUDA device context for device `index` on its primary context; throws Error, one line, where
// FFmpeg cannot make one (no driver, no such device, FFmpeg without CUDA).
[[nodiscard]] Buffer make_cuda_device(int index);

// The layout of decoded frames in a hw_frames_ctx of `sw_format` (NV12, P010, YUV444P,
// YUV444P16 with `bits` significant bits); nullopt for layouts the pipeline does not read.
[[nodiscard]] std::optional<YuvDesc> device_format_of(AVPixelFormat sw_format, int width,
                                                      int height, int bits, ColorMatrix matrix,
                                                      bool full);

// Waits for the work FFmpeg queued on the device context's stream. FFmpeg 5.1's nvdec copies each
// decoded surface into its frame with cuMemcpy2DAsync on AVCUDADeviceContext::stream (NULL: the
// legacy default stream) and returns the frame without waiting; the pipeline's streams are
// non-blocking, so nothing orders their reads after that copy but this wait. Throws Error.
void synchronize(AVBufferRef* device);

}  // namespace pyn::av
