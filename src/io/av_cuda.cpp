#include "av_cuda.hpp"

#include <dlfcn.h>

extern "C" {
#include <libavutil/hwcontext_cuda.h>
}

#include <string>

#include "pynference/device/error.hpp"

namespace pyn::av {
namespace {

// The driver calls synchronize() and make_cuda_device() need, from the libcuda FFmpeg loaded
// (dlopen finds the same library already in the process).
struct Driver {
  using Push = CUresult (*)(CUcontext);
  using Pop = CUresult (*)(CUcontext*);
  using Sync = CUresult (*)(CUstream);
  using Init = CUresult (*)(unsigned int);
  using DeviceGet = CUresult (*)(CUdevice*, int);
  using GetState = CUresult (*)(CUdevice, unsigned int*, int*);
  using SetFlags = CUresult (*)(CUdevice, unsigned int);
  Push push = nullptr;
  Pop pop = nullptr;
  Sync sync = nullptr;
  Init init = nullptr;
  DeviceGet device_get = nullptr;
  GetState get_state = nullptr;
  SetFlags set_flags = nullptr;
};

const Driver& driver() {
  static const Driver loaded = [] {
    Driver d;
    void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    if (lib == nullptr) {
      lib = dlopen("libcuda.so.1", RTLD_NOW);
    }
    if (lib != nullptr) {
      d.push = reinterpret_cast<Driver::Push>(dlsym(lib, "cuCtxPushCurrent_v2"));
      d.pop = reinterpret_cast<Driver::Pop>(dlsym(lib, "cuCtxPopCurrent_v2"));
      d.sync = reinterpret_cast<Driver::Sync>(dlsym(lib, "cuStreamSynchronize"));
      d.init = reinterpret_cast<Driver::Init>(dlsym(lib, "cuInit"));
      d.device_get = reinterpret_cast<Driver::DeviceGet>(dlsym(lib, "cuDeviceGet"));
      d.get_state = reinterpret_cast<Driver::GetState>(dlsym(lib, "cuDevicePrimaryCtxGetState"));
      d.set_flags =
          reinterpret_cast<Driver::SetFlags>(dlsym(lib, "cuDevicePrimaryCtxSetFlags_v2"));
    }
    return d;
  }();
  return loaded;
}

bool has_cuda_hwaccel(const AVCodec& codec) {
  for (int i = 0;; ++i) {
    const AVCodecHWConfig* config = avcodec_get_hw_config(&codec, i);
    if (config == nullptr) {
      return false;
    }
    if (config->device_type == AV_HWDEVICE_TYPE_CUDA &&
        (config->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) != 0) {
      return true;
    }
  }
}

// FFmpeg takes the primary context only with the scheduling flags it creates it with (blocking
// sync) and refuses one already active with others ("Primary context already active with
// incompatible flags", ENOTSUP), which is what the CUDA runtime makes: the pipeline's device is
// open before the reader. The driver changes an active primary context's flags (CUDA 11 and
// later), so they are set to FFmpeg's first. Its waits then sleep instead of spinning, as the
// pipeline's own events already do. Where this cannot be done, FFmpeg's error says why.
void align_primary_context_flags(int index) {
  const Driver& d = driver();
  if (d.init == nullptr || d.device_get == nullptr || d.get_state == nullptr ||
      d.set_flags == nullptr || d.init(0) != CUDA_SUCCESS) {
    return;
  }
  CUdevice device = 0;
  unsigned int flags = 0;
  int active = 0;
  if (d.device_get(&device, index) != CUDA_SUCCESS ||
      d.get_state(device, &flags, &active) != CUDA_SUCCESS) {
    return;
  }
  if (flags != CU_CTX_SCHED_BLOCKING_SYNC) {
    (void)d.set_flags(device, CU_CTX_SCHED_BLOCKING_SYNC);
  }
}

}  // namespace

const AVCodec* nvdec_decoder(const AVCodec* found) {
  if (found == nullptr || has_cuda_hwaccel(*found)) {
    return found;
  }
  void* at = nullptr;
  while (const AVCodec* c = av_codec_iterate(&at)) {
    // The native decoders' hwaccel, not the cuvid wrappers (h264_cuvid) or other libraries.
    if (c->id == found->id && av_codec_is_decoder(c) != 0 && c->wrapper_name == nullptr &&
        has_cuda_hwaccel(*c)) {
      return c;
    }
  }
  return found;
}

std::string nvdec_refusal(const AVCodec& codec, const AVCodecParameters& par) {
  if (!has_cuda_hwaccel(codec)) {
    return std::string("this FFmpeg's ") + codec.name + " decoder has no NVDEC (CUDA) hwaccel";
  }
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(par.format));
  if (d == nullptr) {
    return "the stream's pixel format is unknown before decoding";
  }
  const std::string name = av_get_pix_fmt_name(static_cast<AVPixelFormat>(par.format));
  if ((d->flags & AV_PIX_FMT_FLAG_RGB) != 0 || d->nb_components < 3) {
    return name + " is not YUV 4:2:0 or 4:4:4";
  }
  if (d->log2_chroma_w == 1 && d->log2_chroma_h == 0) {
    return "4:2:2 (" + name + ") is not decoded by NVDEC";
  }
  if (d->log2_chroma_w != d->log2_chroma_h || d->log2_chroma_w > 1) {
    return name + " is not YUV 4:2:0 or 4:4:4";
  }
  // NVDEC's H.264 is 8-bit 4:2:0 (High profile) on every NVIDIA GPU: High 10 and 4:4:4 are not
  // in its hardware, and FFmpeg's hwaccel would only say so at the first frame.
  if (par.codec_id == AV_CODEC_ID_H264 && (d->comp[0].depth != 8 || d->log2_chroma_w != 1)) {
    return "NVDEC decodes H.264 only as 8-bit 4:2:0, not " + name;
  }
  if (d->comp[0].depth != 8 && d->comp[0].depth != 10) {
    return std::to_string(d->comp[0].depth) + "-bit samples (" + name +
           ") are not read from the device (8 or 10 bits)";
  }
  if (par.width > 8192 || par.height > 8192) {
    return "its size " + std::to_string(par.width) + "x" + std::to_string(par.height) +
           " is over NVDEC's 8192x8192";
  }
  return "";
}

Buffer make_cuda_device(int index) {
  AVDictionary* options = nullptr;
  av_dict_set(&options, "primary_ctx", "1", 0);
  AVBufferRef* device = nullptr;
  const std::string name = std::to_string(index);
  align_primary_context_flags(index);
  const int made =
      av_hwdevice_ctx_create(&device, AV_HWDEVICE_TYPE_CUDA, name.c_str(), options, 0);
  av_dict_free(&options);
  if (made < 0) {
    throw Error("FFmpeg cannot open CUDA device " + name + " for NVDEC: " + error_text(made));
  }
  return Buffer(device);
}

std::optional<YuvDesc> device_format_of(AVPixelFormat sw_format, int width, int height, int bits,
                                        ColorMatrix matrix, bool full) {
  YuvDesc d{width, height, ChromaLayout::yuv420, 8, matrix,
            full ? ColorRange::full : ColorRange::limited};
  switch (sw_format) {
    case AV_PIX_FMT_NV12:
      d.interleaved_chroma = true;
      return d;
    case AV_PIX_FMT_P010:
      d.bits = 10;
      d.interleaved_chroma = true;
      d.msb_aligned = true;
      return d;
    case AV_PIX_FMT_YUV444P:
      d.chroma = ChromaLayout::yuv444;
      return d;
    case AV_PIX_FMT_YUV444P16:
      if (bits != 10) {
        return std::nullopt;
      }
      d.chroma = ChromaLayout::yuv444;
      d.bits = 10;
      d.msb_aligned = true;
      return d;
    default:
      return std::nullopt;
  }
}

void synchronize(AVBufferRef* device) {
  const auto* context = reinterpret_cast<const AVHWDeviceContext*>(device->data);
  const auto* cuda = static_cast<const AVCUDADeviceContext*>(context->hwctx);
  const Driver& d = driver();
  if (d.push == nullptr || d.pop == nullptr || d.sync == nullptr) {
    throw Error("NVDEC: libcuda.so.1 has no cuCtxPushCurrent_v2/cuStreamSynchronize");
  }
  if (const CUresult pushed = d.push(cuda->cuda_ctx); pushed != CUDA_SUCCESS) {
    throw Error("NVDEC: cuCtxPushCurrent failed with CUDA error " +
                std::to_string(static_cast<int>(pushed)));
  }
  const CUresult synced = d.sync(cuda->stream);
  CUcontext popped = nullptr;
  d.pop(&popped);
  if (synced != CUDA_SUCCESS) {
    throw Error("NVDEC: cuStreamSynchronize after the decoder's copy failed with CUDA error " +
                std::to_string(static_cast<int>(synced)));
  }
}

}  // namespace pyn::av
