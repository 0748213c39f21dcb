// The VapourSynth plugin (API 4): namespace `pyn`, one filter,
//
//   core.pyn.Model(clip, model, device="auto", dtype=None, num_streams=2, num_slots=None,
//   format=None)
//
// RGB24 to RGB48 (8 to 16 bits), RGBH/RGBS (planar RGB, float samples as they are) and
// YUV420/YUV444 at 8 or 10 bits in; out at the network's size, in `format` (a VapourSynth format
// id of those kinds) or the input's. Planes are copied row by row into the slot and out of it
// (planes.hpp), never interleaved. fmParallel: VapourSynth's threads ask for frames in any order
// and at once, and ModelFilter serves them
// through one Processor. Errors are one line through VapourSynth (mapSetError, setFilterError),
// each naming the filter's arguments. docs/vapoursynth.md is the user's side.

#include <VapourSynth4.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <exception>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <variant>

#include "filter.hpp"
#include "model.hpp"
#include "planes.hpp"
#include "pynference/core/error.hpp"

namespace pyn::vs {
namespace {

// Frame property values (VSConstants4.h): _Range as API 4.2 numbers it (1 full), the older
// _ColorRange, which newer cores call deprecated, the other way round (0 full).
constexpr int kRangeFull = 1;
constexpr int kRangeLimited = 0;
constexpr int kColorRangeFull = 0;
constexpr int kMatrixRgb = 0;
constexpr int kMatrixBt709 = 1;
constexpr int kMatrixUnspecified = 2;
constexpr int kMatrixBt470bg = 5;
constexpr int kMatrixSt170m = 6;
constexpr int kMatrixSt240m = 7;
constexpr int kMatrixBt2020ncl = 9;
constexpr int kChromaLeft = 0;

std::string format_name(const VSVideoFormat& format, const VSAPI* vsapi) {
  std::array<char, 32> name{};
  return vsapi->getVideoFormatName(&format, name.data()) != 0 ? std::string(name.data())
                                                              : std::string("an unknown format");
}

// What pynference takes of VapourSynth's formats: RGB as planar RGB of the same samples; nullopt
// for the rest. A YUV format's matrix and range are filled in later, from the frames.
std::optional<FrameFormat> frame_format_of(const VSVideoFormat& format, int width, int height) {
  const auto rgb = [&](PixelType pixel, int bits = 0) -> FrameFormat {
    return ImageDesc{width, height, pixel, ChannelOrder::rgb, ImageLayout::planar, bits};
  };
  if (format.sampleType == stFloat) {
    if (format.colorFamily == cfRGB && (format.bitsPerSample == 16 || format.bitsPerSample == 32)) {
      return rgb(format.bitsPerSample == 16 ? PixelType::f16 : PixelType::f32);
    }
    return std::nullopt;
  }
  if (format.colorFamily == cfRGB && format.bitsPerSample == 8) {
    return rgb(PixelType::u8);
  }
  if (format.colorFamily == cfRGB && format.bitsPerSample >= 9 && format.bitsPerSample <= 16) {
    return rgb(PixelType::u16, format.bitsPerSample == 16 ? 0 : format.bitsPerSample);
  }
  if (format.colorFamily == cfYUV && (format.bitsPerSample == 8 || format.bitsPerSample == 10)) {
    YuvDesc yuv{width, height};
    yuv.bits = format.bitsPerSample;
    if (format.subSamplingW == 1 && format.subSamplingH == 1) {
      yuv.chroma = ChromaLayout::yuv420;
      return yuv;
    }
    if (format.subSamplingW == 0 && format.subSamplingH == 0) {
      yuv.chroma = ChromaLayout::yuv444;
      return yuv;
    }
  }
  return std::nullopt;
}

VSVideoFormat video_format_of(const FrameFormat& format, VSCore* core, const VSAPI* vsapi) {
  VSVideoFormat out{};
  int ok = 0;
  if (const auto* image = std::get_if<ImageDesc>(&format)) {
    const int bits = image->bits != 0 ? image->bits : static_cast<int>(8 * bytes_of(image->pixel));
    ok = vsapi->queryVideoFormat(&out, cfRGB, is_float(image->pixel) ? stFloat : stInteger, bits, 0,
                                 0, core);
  } else {
    const auto& yuv = std::get<YuvDesc>(format);
    const int sub = yuv.chroma == ChromaLayout::yuv420 ? 1 : 0;
    ok = vsapi->queryVideoFormat(&out, cfYUV, stInteger, yuv.bits, sub, sub, core);
  }
  if (ok == 0) {
    throw Error("VapourSynth has no format for " + to_string(format));
  }
  return out;
}

std::optional<std::int64_t> int_prop(const VSMap* props, const char* key, const VSAPI* vsapi) {
  int error = 0;
  const std::int64_t value = vsapi->mapGetInt(props, key, 0, &error);
  return error == 0 ? std::optional(value) : std::nullopt;
}

// The matrix of a YUV frame: its _Matrix, else (missing or unspecified) what the CLI assumes of
// untagged frames, BT.709 for HD and BT.601 below.
ColorMatrix matrix_of(const VSMap* props, int width, int height, const VSAPI* vsapi) {
  const std::optional<std::int64_t> matrix = int_prop(props, "_Matrix", vsapi);
  if (!matrix || *matrix == kMatrixUnspecified) {
    return width >= 1280 || height > 576 ? ColorMatrix::bt709 : ColorMatrix::bt601;
  }
  switch (*matrix) {
    case kMatrixBt709:
      return ColorMatrix::bt709;
    case kMatrixBt470bg:
    case kMatrixSt170m:
      return ColorMatrix::bt601;
    case kMatrixSt240m:
      return ColorMatrix::smpte240m;
    case kMatrixBt2020ncl:
      return ColorMatrix::bt2020;
    default:
      throw UsageError("_Matrix " + std::to_string(*matrix) +
                       " is not one pynference converts (1 BT.709, 5/6 BT.601, 7 SMPTE 240M, 9 "
                       "BT.2020 NCL, 2 unspecified); convert the clip with core.resize first");
  }
}

// _Range, else _ColorRange (cores before API 4.2; R81 itself turns a _ColorRange set from Python
// into _Range), else limited (YUV as VapourSynth assumes it).
ColorRange range_of(const VSMap* props, const VSAPI* vsapi) {
  if (const std::optional<std::int64_t> range = int_prop(props, "_Range", vsapi)) {
    return *range == kRangeFull ? ColorRange::full : ColorRange::limited;
  }
  if (const std::optional<std::int64_t> range = int_prop(props, "_ColorRange", vsapi)) {
    return *range == kColorRangeFull ? ColorRange::full : ColorRange::limited;
  }
  return ColorRange::limited;
}

int matrix_number(ColorMatrix matrix) {
  switch (matrix) {
    case ColorMatrix::bt601:
      return kMatrixSt170m;
    case ColorMatrix::bt709:
      return kMatrixBt709;
    case ColorMatrix::bt2020:
      return kMatrixBt2020ncl;
    case ColorMatrix::smpte240m:
      return kMatrixSt240m;
  }
  return kMatrixUnspecified;
}

struct FilterData {
  VSNode* node = nullptr;
  VSVideoInfo vi{};  // of the output
  FrameFormat input;
  FrameFormat output;
  std::unique_ptr<ModelFilter> filter;
  // The scale of each axis: SAR follows where they differ; fields do not survive a vertical one.
  int in_width = 0;
  int in_height = 0;
};

void check_frame(const FilterData& data, const VSMap* props, const VSAPI* vsapi) {
  if (const auto* yuv = std::get_if<YuvDesc>(&data.input)) {
    const ColorMatrix matrix = matrix_of(props, yuv->width, yuv->height, vsapi);
    const ColorRange range = range_of(props, vsapi);
    if (matrix != yuv->matrix || range != yuv->range) {
      throw UsageError("its matrix and range are " + std::string(to_string(matrix)) + " " +
                       std::string(to_string(range)) + ", the clip's first frame's " +
                       std::string(to_string(yuv->matrix)) + " " +
                       std::string(to_string(yuv->range)) +
                       ": one Model call takes frames of one kind (split the clip)");
    }
  }
  if (const std::optional<std::int64_t> field = int_prop(props, "_FieldBased", vsapi);
      field && *field != 0 && data.vi.height != data.in_height) {
    throw UsageError("it is interlaced (_FieldBased " + std::to_string(*field) +
                     ") and the network scales its height, which mixes its fields: deinterlace "
                     "first, or set _FieldBased 0 where the frames are progressive");
  }
}

// The output's tags: matrix and range of its own format, the SAR that keeps the picture's shape,
// the rest (field order, durations, ...) as the input frame had them.
void set_props(const FilterData& data, const VSMap* in, VSMap* out, const VSAPI* vsapi) {
  // _Range replaces the deprecated _ColorRange, which would otherwise keep the input's range.
  vsapi->mapDeleteKey(out, "_ColorRange");
  if (const auto* yuv = std::get_if<YuvDesc>(&data.output)) {
    const std::optional<std::int64_t> matrix = int_prop(in, "_Matrix", vsapi);
    const bool same =
        matrix && std::holds_alternative<YuvDesc>(data.input) && *matrix != kMatrixUnspecified;
    vsapi->mapSetInt(out, "_Matrix", same ? *matrix : matrix_number(yuv->matrix), maReplace);
    vsapi->mapSetInt(out, "_Range", yuv->range == ColorRange::full ? kRangeFull : kRangeLimited,
                     maReplace);
    if (yuv->chroma == ChromaLayout::yuv420) {
      vsapi->mapSetInt(out, "_ChromaLocation", kChromaLeft, maReplace);
    } else {
      vsapi->mapDeleteKey(out, "_ChromaLocation");
    }
  } else {
    vsapi->mapSetInt(out, "_Matrix", kMatrixRgb, maReplace);
    vsapi->mapSetInt(out, "_Range", kRangeFull, maReplace);
    vsapi->mapDeleteKey(out, "_ChromaLocation");
  }
  // The display aspect stays: SAR' = SAR * (in_w * out_h) / (in_h * out_w), unchanged where both
  // axes scale alike.
  const std::optional<std::int64_t> num = int_prop(in, "_SARNum", vsapi);
  const std::optional<std::int64_t> den = int_prop(in, "_SARDen", vsapi);
  if (num && den && *num > 0 && *den > 0) {
    const std::int64_t n = *num * data.in_width * data.vi.height;
    const std::int64_t d = *den * data.in_height * data.vi.width;
    const std::int64_t g = std::gcd(n, d);
    vsapi->mapSetInt(out, "_SARNum", n / g, maReplace);
    vsapi->mapSetInt(out, "_SARDen", d / g, maReplace);
  }
}

const VSFrame* VS_CC get_frame(int n, int reason, void* instance, void** /*frame_data*/,
                               VSFrameContext* context, VSCore* core, const VSAPI* vsapi) {
  auto* data = static_cast<FilterData*>(instance);
  if (reason == arInitial) {
    vsapi->requestFrameFilter(n, data->node, context);
    return nullptr;
  }
  if (reason != arAllFramesReady) {
    return nullptr;
  }
  const VSFrame* src = vsapi->getFrameFilter(n, data->node, context);
  VSFrame* dst = nullptr;
  try {
    check_frame(*data, vsapi->getFramePropertiesRO(src), vsapi);
    dst = vsapi->newVideoFrame(&data->vi.format, data->vi.width, data->vi.height, src, core);
    std::array<ConstPlane, 3> in{};
    std::array<Plane, 3> out{};
    for (int p = 0; p < 3; ++p) {
      in[static_cast<std::size_t>(p)] = {
          reinterpret_cast<const std::byte*>(vsapi->getReadPtr(src, p)), vsapi->getStride(src, p)};
      out[static_cast<std::size_t>(p)] = {reinterpret_cast<std::byte*>(vsapi->getWritePtr(dst, p)),
                                          vsapi->getStride(dst, p)};
    }
    data->filter->process(
        n, [&](std::span<std::byte> packed) { pack(data->input, in, packed); },
        [&](std::span<const std::byte> packed) { unpack(data->output, packed, out); });
    set_props(*data, vsapi->getFramePropertiesRO(src), vsapi->getFramePropertiesRW(dst), vsapi);
    vsapi->freeFrame(src);
    return dst;
  } catch (const std::exception& e) {
    vsapi->freeFrame(src);
    if (dst != nullptr) {
      vsapi->freeFrame(dst);
    }
    const std::string message = "Model: frame " + std::to_string(n) + ": " + e.what();
    vsapi->setFilterError(message.c_str(), context);
    return nullptr;
  }
}

void VS_CC free_filter(void* instance, VSCore* /*core*/, const VSAPI* vsapi) {
  auto* data = static_cast<FilterData*>(instance);
  vsapi->freeNode(data->node);
  delete data;
}

std::optional<std::string> string_arg(const VSMap* in, const char* key, const VSAPI* vsapi) {
  int error = 0;
  const char* value = vsapi->mapGetData(in, key, 0, &error);
  return error == 0 ? std::optional<std::string>(value) : std::nullopt;
}

std::optional<std::int64_t> int_arg(const VSMap* in, const char* key, const VSAPI* vsapi) {
  return int_prop(in, key, vsapi);
}

int count_arg(const VSMap* in, const char* key, int fallback, const VSAPI* vsapi) {
  const std::int64_t value = int_arg(in, key, vsapi).value_or(fallback);
  if (value < 1 || value > 64) {
    throw UsageError(std::string(key) + "=" + std::to_string(value) + " must be 1 to 64");
  }
  return static_cast<int>(value);
}

Device open_device(const std::string& name) {
  if (name == "auto") {
    return Device::open(DeviceSpec::parse(Device::cuda_device_count() > 0 ? "cuda" : "cpu"));
  }
  DeviceSpec spec;
  try {
    spec = DeviceSpec::parse(name);
  } catch (const UsageError&) {
    throw UsageError("device=\"" + name + "\" is none of \"auto\", \"cpu\", \"cuda\", \"cuda:N\"");
  }
  try {
    return Device::open(spec);
  } catch (const DeviceUnavailable& e) {
    // The device layer's advice names the CLI's flag; ours is the argument.
    std::string why = e.what();
    why = why.substr(0, why.find(" (use --device"));
    why = why.substr(0, why.find("; use --device"));
    throw DeviceUnavailable("device=\"" + name + "\": " + why +
                            " (device=\"cpu\" runs on the CPU)");
  }
}

std::unique_ptr<FilterData> make_filter(const VSMap* in, VSNode* node, VSCore* core,
                                        const VSAPI* vsapi) {
  const VSVideoInfo* vi = vsapi->getVideoInfo(node);
  if (vi->format.colorFamily == cfUndefined || vi->width == 0 || vi->height == 0) {
    throw UsageError(
        "clips whose format or size varies are not taken: give one of constant format");
  }
  const std::string in_name = format_name(vi->format, vsapi);
  std::optional<FrameFormat> input = frame_format_of(vi->format, vi->width, vi->height);
  if (!input) {
    throw UsageError("the clip is " + in_name +
                     ": pynference takes RGB24 to RGB48 (8 to 16 bits), RGBH, RGBS, YUV420P8, "
                     "YUV420P10, YUV444P8 and YUV444P10 (convert with core.resize first)");
  }
  if (auto* yuv = std::get_if<YuvDesc>(&*input)) {
    std::array<char, 1024> error{};
    const VSFrame* first = vsapi->getFrame(0, node, error.data(), static_cast<int>(error.size()));
    if (first == nullptr) {
      throw Error("the clip's first frame, read for its matrix and range, failed: " +
                  std::string(error.data()));
    }
    try {
      yuv->matrix = matrix_of(vsapi->getFramePropertiesRO(first), vi->width, vi->height, vsapi);
      yuv->range = range_of(vsapi->getFramePropertiesRO(first), vsapi);
    } catch (...) {
      vsapi->freeFrame(first);
      throw;
    }
    vsapi->freeFrame(first);
  }

  FrameFormat output = *input;
  if (const std::optional<std::int64_t> id = int_arg(in, "format", vsapi)) {
    VSVideoFormat asked{};
    if (vsapi->getVideoFormatByID(&asked, static_cast<std::uint32_t>(*id), core) == 0) {
      throw UsageError("format=" + std::to_string(*id) + " is no VapourSynth format id");
    }
    std::optional<FrameFormat> format = frame_format_of(asked, vi->width, vi->height);
    if (!format) {
      throw UsageError("format=" + format_name(asked, vsapi) +
                       " is not one pynference makes: RGB24 to RGB48 (8 to 16 bits), RGBH, RGBS, "
                       "YUV420P8, YUV420P10, YUV444P8 or YUV444P10");
    }
    if (auto* yuv = std::get_if<YuvDesc>(&*format)) {
      if (const auto* source = std::get_if<YuvDesc>(&*input)) {
        yuv->matrix = source->matrix;
        yuv->range = source->range;
      } else {
        // Untagged RGB becomes YUV as the CLI makes it: BT.709 for HD, BT.601 below, limited.
        yuv->matrix =
            vi->width >= 1280 || vi->height > 576 ? ColorMatrix::bt709 : ColorMatrix::bt601;
      }
    }
    output = *format;
  }

  std::optional<DType> dtype;
  if (const std::optional<std::string> name = string_arg(in, "dtype", vsapi)) {
    try {
      dtype = parse_dtype(*name);
    } catch (const UsageError&) {
      throw UsageError("dtype=\"" + *name + "\" is none of \"fp16\", \"bf16\", \"fp32\"");
    }
  }
  const Device device = open_device(string_arg(in, "device", vsapi).value_or("auto"));
  FilterOptions options;
  options.lanes = count_arg(in, "num_streams", 2, vsapi);
  // By default as many frames in flight as VapourSynth has threads to ask for them (from
  // 2 * num_streams to 16): each thread holds its slot while it copies planes in and out, so with
  // fewer slots than threads the copies, not the GPU, set the rate.
  VSCoreInfo core_info{};
  vsapi->getCoreInfo(core, &core_info);
  const int fewest = std::min(2 * options.lanes, 64);
  options.slots = count_arg(in, "num_slots",
                            std::clamp(core_info.numThreads, fewest, std::max(fewest, 16)), vsapi);

  auto data = std::make_unique<FilterData>();
  data->input = *input;
  data->in_width = vi->width;
  data->in_height = vi->height;
  data->filter = std::make_unique<ModelFilter>(
      device,
      open_model(device, string_arg(in, "model", vsapi).value_or(""), dtype, vi->width, vi->height),
      *input, output, options);
  data->output = data->filter->output_format();
  data->vi = *vi;
  data->vi.format = video_format_of(data->output, core, vsapi);
  data->vi.width = width_of(data->output);
  data->vi.height = height_of(data->output);
  if (std::holds_alternative<YuvDesc>(data->output) &&
      std::get<YuvDesc>(data->output).chroma == ChromaLayout::yuv420 &&
      (data->vi.width % 2 != 0 || data->vi.height % 2 != 0)) {
    throw UsageError("the network makes " + std::to_string(data->vi.width) + "x" +
                     std::to_string(data->vi.height) +
                     " frames, which 4:2:0 cannot hold in VapourSynth: ask for format=vs.YUV444P8 "
                     "or an RGB one");
  }
  data->node = node;
  return data;
}

void VS_CC create(const VSMap* in, VSMap* out, void* /*user_data*/, VSCore* core,
                  const VSAPI* vsapi) {
  VSNode* node = vsapi->mapGetNode(in, "clip", 0, nullptr);
  std::unique_ptr<FilterData> data;
  try {
    data = make_filter(in, node, core, vsapi);
  } catch (const std::exception& e) {
    vsapi->freeNode(node);
    vsapi->mapSetError(out, ("Model: " + std::string(e.what())).c_str());
    return;
  }
  const std::array<VSFilterDependency, 1> deps = {VSFilterDependency{node, rpStrictSpatial}};
  vsapi->createVideoFilter(out, "Model", &data->vi, get_frame, free_filter, fmParallel, deps.data(),
                           static_cast<int>(deps.size()), data.get(), core);
  (void)data.release();  // VapourSynth owns it now and gives it to free_filter
}

}  // namespace
}  // namespace pyn::vs

VS_EXTERNAL_API(void) VapourSynthPluginInit2(VSPlugin* plugin, const VSPLUGINAPI* vspapi) {
  vspapi->configPlugin("org.pynference.pyn", "pyn", "pynference: image-to-image networks on video",
                       VS_MAKE_VERSION(1, 0), VAPOURSYNTH_API_VERSION, 0, plugin);
  vspapi->registerFunction("Model",
                           "clip:vnode;model:data;device:data:opt;dtype:data:opt;"
                           "num_streams:int:opt;num_slots:int:opt;format:int:opt;",
                           "clip:vnode;", pyn::vs::create, nullptr, plugin);
}
