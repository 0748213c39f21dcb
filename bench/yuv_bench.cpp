// pyn_yuv_bench: how close the YUV kernels come to the GPU's own copy bandwidth, and what a planar
// YUV upload saves over an interleaved RGB one.
//
// The reference is a large device-to-device cudaMemcpyAsync, counting bytes read plus bytes
// written, the same way the kernels are counted. Every kernel rep reads and writes a different
// buffer set from the last, with enough sets to outgrow L2, so the figures are DRAM figures.
//
//   pyn_yuv_bench [--json FILE] [--reps N] [--size WxH]... [--require FRACTION]
//
// Ops: to_tensor and to_yuv are the packed whole-frame launchers; beside them, through the
// prepared conversions of kernels/convert.hpp, "-view" the same packed whole frame (the vectorised
// path through the prepared object), "-pitched" the whole frame with each plane's rows padded to a
// 512-byte pitch as hardware decoders give them, and "-roi" a region inset by about 1/8 of each
// side at even offsets (the general path). --require judges to_tensor and to_yuv only.
//
// --require makes the exit status 3 when any kernel at 3840x2160 (or at every --size given)
// stays below that fraction of the copy bandwidth.

#include <cuda_runtime_api.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bench_util.hpp"
#include "pynference/core/view.hpp"
#include "pynference/device/device.hpp"
#include "pynference/device/stream.hpp"
#include "pynference/kernels/convert.hpp"
#include "pynference/kernels/image.hpp"
#include "pynference/kernels/yuv.hpp"

#ifndef PYN_GIT_COMMIT
#define PYN_GIT_COMMIT "unknown"
#endif

namespace {

using namespace pyn::bench;

struct Size {
  int width = 0;
  int height = 0;
};

struct Options {
  std::string json_path;
  int reps = 100;
  std::vector<Size> sizes;
  bool sizes_given = false;
  double require = 0.0;
};

Options parse_options(int argc, char** argv) {
  Options options;
  const auto value = [&](int& i) -> std::string {
    if (i + 1 >= argc) {
      throw std::invalid_argument(std::string(argv[i]) + " needs a value");
    }
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json") {
      options.json_path = value(i);
    } else if (arg == "--reps") {
      options.reps = std::max(1, std::stoi(value(i)));
    } else if (arg == "--require") {
      options.require = std::stod(value(i));
    } else if (arg == "--size") {
      const std::string text = value(i);
      Size size;
      char x = 0;
      std::istringstream in(text);
      if (!(in >> size.width >> x >> size.height) || x != 'x' || size.width <= 0 ||
          size.height <= 0) {
        throw std::invalid_argument("--size wants WxH, got '" + text + "'");
      }
      options.sizes.push_back(size);
      options.sizes_given = true;
    } else {
      throw std::invalid_argument("unknown argument '" + arg +
                                  "' (usage: pyn_yuv_bench [--json FILE] [--reps N] "
                                  "[--size WxH]... [--require FRACTION])");
    }
  }
  if (options.sizes.empty()) {
    options.sizes = {Size{3840, 2160}, Size{1920, 1080}};
  }
  return options;
}

// One host-device copy of a 3840x2160 frame in a given layout.
struct Upload {
  std::string layout;
  std::size_t bytes = 0;
  Spread h2d;
  Spread d2h;
};

struct CopyFigures {
  std::size_t d2d_bytes = 0;  // buffer size; read + write is twice this
  Spread d2d;
  std::vector<Upload> uploads;
};

CopyFigures measure_copies(cudaStream_t stream) {
  CopyFigures figures;
  figures.d2d_bytes = std::size_t{256} << 20;
  {
    const DeviceMemory src(figures.d2d_bytes);
    const DeviceMemory dst(figures.d2d_bytes);
    check(cudaMemsetAsync(src.get(), 0x5A, figures.d2d_bytes, stream), "cudaMemsetAsync");
    figures.d2d = time_reps(stream, 3, 20, [&](int) {
      check(cudaMemcpyAsync(dst.get(), src.get(), figures.d2d_bytes, cudaMemcpyDeviceToDevice,
                            stream),
            "cudaMemcpyAsync d2d");
    });
  }
  const std::pair<std::string, std::size_t> layouts[] = {
      {"rgb24", pyn::ImageDesc{3840, 2160}.bytes()},
      {"yuv420", pyn::YuvDesc{3840, 2160}.bytes()},
      {"yuv420p10", pyn::YuvDesc{3840, 2160, pyn::ChromaLayout::yuv420, 10}.bytes()},
  };
  for (const auto& [layout, bytes] : layouts) {
    const PinnedMemory host(bytes);
    const DeviceMemory device(bytes);
    std::fill_n(static_cast<unsigned char*>(host.get()), bytes, 0x5A);
    Upload upload{layout, bytes, {}, {}};
    upload.h2d = time_reps(stream, 3, 20, [&](int) {
      check(cudaMemcpyAsync(device.get(), host.get(), bytes, cudaMemcpyHostToDevice, stream),
            "cudaMemcpyAsync h2d");
    });
    upload.d2h = time_reps(stream, 3, 20, [&](int) {
      check(cudaMemcpyAsync(host.get(), device.get(), bytes, cudaMemcpyDeviceToHost, stream),
            "cudaMemcpyAsync d2h");
    });
    figures.uploads.push_back(upload);
  }
  return figures;
}

struct Result {
  pyn::YuvDesc desc;
  std::string op;
  pyn::DType dtype = pyn::DType::f16;
  std::size_t bytes = 0;  // read + written by one call
  Spread time;
  double gbps = 0;
  double fraction = 0;
};

// One frame/tensor pair per set; enough sets that their total is about four times L2.
struct BufferSets {
  std::vector<DeviceMemory> frames;
  std::vector<DeviceMemory> tensors;
};

std::size_t tensor_bytes(const pyn::YuvDesc& desc, pyn::DType dtype) {
  return pyn::tensor_shape_of(desc).elements() * pyn::bytes_of(dtype);
}

BufferSets make_sets(const pyn::YuvDesc& desc, pyn::DType dtype, std::size_t l2_bytes,
                     cudaStream_t stream, std::mt19937& rng) {
  const std::size_t set_bytes = desc.bytes() + tensor_bytes(desc, dtype);
  const std::size_t count = std::clamp<std::size_t>(4 * l2_bytes / set_bytes + 1, 2, 64);
  // Realistic frames: random codes of the format's depth.
  std::vector<unsigned char> frame(desc.bytes());
  std::uniform_int_distribution<int> code(0, (1 << desc.bits) - 1);
  for (std::size_t i = 0; i < frame.size(); i += desc.sample_bytes()) {
    const int c = code(rng);
    frame[i] = static_cast<unsigned char>(c & 0xFF);
    if (desc.sample_bytes() == 2) {
      frame[i + 1] = static_cast<unsigned char>(c >> 8);
    }
  }
  BufferSets sets;
  for (std::size_t i = 0; i < count; ++i) {
    sets.frames.emplace_back(desc.bytes());
    sets.tensors.emplace_back(tensor_bytes(desc, dtype));
    check(cudaMemcpy(sets.frames.back().get(), frame.data(), frame.size(), cudaMemcpyHostToDevice),
          "cudaMemcpy h2d");
    // Realistic tensor contents for to_yuv: what to_tensor makes of a random frame.
    pyn::yuv_to_tensor_cuda(desc, sets.frames.back().get(), dtype, sets.tensors.back().get(),
                            stream);
  }
  check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  return sets;
}

// The prepared conversions over views: packed, pitched and a region, on `stream`.
void measure_views(const pyn::YuvDesc& desc, pyn::DType dtype, const BufferSets& sets, int reps,
                   double d2d_gbps, pyn::Stream& stream, std::vector<Result>& results) {
  const auto native = static_cast<cudaStream_t>(stream.native());
  // Each plane's rows padded to 512 bytes, the planes back to back.
  std::array<std::size_t, 3> pitch{};
  std::array<std::size_t, 3> offset{};
  std::size_t pitched_bytes = 0;
  for (int p = 0; p < 3; ++p) {
    const auto i = static_cast<std::size_t>(p);
    pitch[i] = (pyn::plane_row_bytes(desc, p) + 511) / 512 * 512;
    offset[i] = pitched_bytes;
    pitched_bytes += pitch[i] * static_cast<std::size_t>(pyn::plane_rows(desc, p));
  }
  std::vector<DeviceMemory> pitched;
  for (std::size_t i = 0; i < sets.frames.size(); ++i) {
    pitched.emplace_back(pitched_bytes);
    check(cudaMemsetAsync(pitched.back().get(), 0x20, pitched_bytes, native), "cudaMemsetAsync");
  }
  const pyn::Rect inset{desc.width / 16 * 2, desc.height / 16 * 2, desc.width - desc.width / 16 * 4,
                        desc.height - desc.height / 16 * 4};
  struct Variant {
    const char* name;
    pyn::Rect region;  // empty: the whole frame
    bool pitched;
  };
  for (const Variant& v :
       {Variant{"view", {}, false}, Variant{"pitched", {}, true}, Variant{"roi", inset, false}}) {
    const pyn::Rect r = v.region.empty() ? pyn::Rect{0, 0, desc.width, desc.height} : v.region;
    const pyn::TensorView layout{nullptr, pyn::TensorShape{1, 3, r.height, r.width}, dtype};
    const pyn::FrameToTensor to_tensor(pyn::Backend::cuda, desc, v.region, layout);
    const pyn::TensorToFrame to_frame(pyn::Backend::cuda, layout, pyn::Rect{}, desc, r.x, r.y);
    const auto planes = [&](std::size_t s) {
      if (v.pitched) {
        auto* base = static_cast<std::byte*>(pitched[s].get());
        return pyn::FramePlanes{pyn::Plane{base + offset[0], pitch[0]},
                                pyn::Plane{base + offset[1], pitch[1]},
                                pyn::Plane{base + offset[2], pitch[2]}};
      }
      return pyn::packed_planes(desc, sets.frames[s].get());
    };
    pyn::YuvDesc region = desc;
    region.width = r.width;
    region.height = r.height;
    const std::size_t bytes = region.bytes() + tensor_bytes(region, dtype);
    for (const bool to_tensor_op : {true, false}) {
      Result result{
          desc, std::string(to_tensor_op ? "to_tensor-" : "to_yuv-") + v.name, dtype, bytes, {}, 0,
          0};
      result.time = time_reps(native, 10, reps, [&](int rep) {
        const std::size_t s = static_cast<std::size_t>(rep) % sets.frames.size();
        if (to_tensor_op) {
          to_tensor(stream, planes(s), sets.tensors[s].get(), 0);
        } else {
          to_frame(stream, sets.tensors[s].get(), 0, planes(s));
        }
      });
      result.gbps = gbps(bytes, result.time.median_us);
      result.fraction = result.gbps / d2d_gbps;
      results.push_back(result);
    }
  }
}

std::vector<Result> measure_kernels(const Options& options, const CopyFigures& copies,
                                    std::size_t l2_bytes, cudaStream_t stream,
                                    pyn::Stream& view_stream) {
  const double d2d_gbps = gbps(2 * copies.d2d_bytes, copies.d2d.median_us);
  std::mt19937 rng(std::random_device{}());
  std::vector<Result> results;
  for (const auto& size : options.sizes) {
    for (const auto chroma : {pyn::ChromaLayout::yuv420, pyn::ChromaLayout::yuv444}) {
      for (const int bits : {8, 10}) {
        for (const auto dtype : {pyn::DType::f32, pyn::DType::f16, pyn::DType::bf16}) {
          const pyn::YuvDesc desc{size.width,
                                  size.height,
                                  chroma,
                                  bits,
                                  pyn::ColorMatrix::bt709,
                                  pyn::ColorRange::limited};
          const BufferSets sets = make_sets(desc, dtype, l2_bytes, stream, rng);
          const std::size_t bytes = desc.bytes() + tensor_bytes(desc, dtype);
          const auto set = [&](int rep) {
            return static_cast<std::size_t>(rep) % sets.frames.size();
          };
          for (const std::string op : {"to_tensor", "to_yuv"}) {
            Result result{desc, op, dtype, bytes, {}, 0, 0};
            result.time = time_reps(stream, 10, options.reps, [&](int rep) {
              const std::size_t s = set(rep);
              if (op == "to_tensor") {
                pyn::yuv_to_tensor_cuda(desc, sets.frames[s].get(), dtype, sets.tensors[s].get(),
                                        stream);
              } else {
                pyn::tensor_to_yuv_cuda(dtype, sets.tensors[s].get(), desc, sets.frames[s].get(),
                                        stream);
              }
            });
            result.gbps = gbps(bytes, result.time.median_us);
            result.fraction = result.gbps / d2d_gbps;
            results.push_back(result);
          }
          measure_views(desc, dtype, sets, options.reps, d2d_gbps, view_stream, results);
        }
      }
    }
  }
  return results;
}

std::string size_name(const pyn::YuvDesc& desc) {
  return std::to_string(desc.width) + "x" + std::to_string(desc.height);
}

void print_report(std::ostream& out, const cudaDeviceProp& prop, const CopyFigures& copies,
                  const std::vector<Result>& results) {
  char line[256];
  out << "pyn_yuv_bench  commit " << PYN_GIT_COMMIT << "\n";
  out << "device  " << prop.name << "  sm_" << prop.major << prop.minor << "  "
      << prop.multiProcessorCount << " SMs  L2 " << (prop.l2CacheSize >> 20) << " MiB\n";
  std::snprintf(line, sizeof line,
                "copy d2d  %4zu MiB                  median %8.1f us  %7.1f GB/s (read+write)\n",
                copies.d2d_bytes >> 20, copies.d2d.median_us,
                gbps(2 * copies.d2d_bytes, copies.d2d.median_us));
  out << line;
  for (const auto& upload : copies.uploads) {
    for (const auto& [name, spread] :
         {std::pair{"h2d", upload.h2d}, std::pair{"d2h", upload.d2h}}) {
      std::snprintf(line, sizeof line,
                    "copy %s  3840x2160 %-9s %6.2f MB  median %8.1f us  %7.1f GB/s (pinned)\n",
                    name, upload.layout.c_str(), static_cast<double>(upload.bytes) / 1e6,
                    spread.median_us, gbps(upload.bytes, spread.median_us));
      out << line;
    }
  }
  out << "\n";
  std::snprintf(line, sizeof line, "%-10s %-17s %-6s %-4s %-5s %8s %9s %9s %9s %8s %7s\n", "size",
                "op", "chroma", "bits", "dtype", "MB", "median_us", "p10_us", "p90_us", "GB/s",
                "of_d2d");
  out << line;
  for (const auto& r : results) {
    std::snprintf(line, sizeof line,
                  "%-10s %-17s %-6s %-4d %-5s %8.2f %9.1f %9.1f %9.1f %8.1f %6.1f%%\n",
                  size_name(r.desc).c_str(), r.op.c_str(),
                  std::string(pyn::to_string(r.desc.chroma)).c_str(), r.desc.bits,
                  std::string(pyn::to_string(r.dtype)).c_str(), static_cast<double>(r.bytes) / 1e6,
                  r.time.median_us, r.time.p10_us, r.time.p90_us, r.gbps, 100.0 * r.fraction);
    out << line;
  }
}

void write_json(const std::string& path, const cudaDeviceProp& prop, const CopyFigures& copies,
                const std::vector<Result>& results) {
  std::ofstream out(path);
  if (!out) {
    throw std::runtime_error("cannot write " + path);
  }
  const auto spread = [](const Spread& s) {
    std::ostringstream text;
    text << "\"median_us\": " << s.median_us << ", \"p10_us\": " << s.p10_us
         << ", \"p90_us\": " << s.p90_us;
    return text.str();
  };
  out << "{\n  \"commit\": \"" << PYN_GIT_COMMIT << "\",\n";
  out << "  \"device\": {\"name\": \"" << prop.name << "\", \"compute\": \"" << prop.major << "."
      << prop.minor << "\", \"sms\": " << prop.multiProcessorCount
      << ", \"l2_bytes\": " << prop.l2CacheSize << "},\n";
  out << "  \"copy\": {\n";
  out << "    \"d2d\": {\"bytes\": " << copies.d2d_bytes << ", " << spread(copies.d2d)
      << ", \"gbps\": " << gbps(2 * copies.d2d_bytes, copies.d2d.median_us)
      << ", \"counts\": \"read+write\"},\n";
  out << "    \"uploads\": [\n";
  for (std::size_t i = 0; i < copies.uploads.size(); ++i) {
    const auto& u = copies.uploads[i];
    out << "      {\"layout\": \"" << u.layout << "\", \"width\": 3840, \"height\": 2160"
        << ", \"bytes\": " << u.bytes << ", \"host\": \"pinned\", \"h2d\": {" << spread(u.h2d)
        << ", \"gbps\": " << gbps(u.bytes, u.h2d.median_us) << "}, \"d2h\": {" << spread(u.d2h)
        << ", \"gbps\": " << gbps(u.bytes, u.d2h.median_us) << "}}"
        << (i + 1 < copies.uploads.size() ? ",\n" : "\n");
  }
  out << "    ]\n  },\n";
  out << "  \"kernels\": [\n";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    out << "    {\"width\": " << r.desc.width << ", \"height\": " << r.desc.height << ", \"op\": \""
        << r.op << "\", \"chroma\": \"" << pyn::to_string(r.desc.chroma)
        << "\", \"bits\": " << r.desc.bits << ", \"matrix\": \"" << pyn::to_string(r.desc.matrix)
        << "\", \"range\": \"" << pyn::to_string(r.desc.range) << "\", \"dtype\": \""
        << pyn::to_string(r.dtype) << "\", \"bytes\": " << r.bytes << ", " << spread(r.time)
        << ", \"gbps\": " << r.gbps << ", \"fraction_of_d2d\": " << r.fraction << "}"
        << (i + 1 < results.size() ? ",\n" : "\n");
  }
  out << "  ]\n}\n";
}

int run(const Options& options) {
  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  if (status != cudaSuccess || devices == 0) {
    std::cerr << "pyn_yuv_bench: no CUDA device ("
              << (status != cudaSuccess ? cudaGetErrorString(status) : "none found")
              << "); this benchmark needs a GPU\n";
    return 2;
  }
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  cudaStream_t stream = nullptr;
  check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  pyn::Device device = pyn::Device::open(pyn::DeviceSpec::parse("cuda:0"));
  pyn::Stream view_stream = device.make_stream();

  const CopyFigures copies = measure_copies(stream);
  const std::vector<Result> results = measure_kernels(
      options, copies, static_cast<std::size_t>(prop.l2CacheSize), stream, view_stream);
  cudaStreamDestroy(stream);

  print_report(std::cout, prop, copies, results);
  if (!options.json_path.empty()) {
    write_json(options.json_path, prop, copies, results);
  }
  if (options.require > 0) {
    int below = 0;
    for (const auto& r : results) {
      const bool judged = options.sizes_given || (r.desc.width == 3840 && r.desc.height == 2160);
      if (judged && (r.op == "to_tensor" || r.op == "to_yuv") && r.fraction < options.require) {
        ++below;
      }
    }
    if (below > 0) {
      std::cout << below << " kernel(s) below " << 100.0 * options.require
                << "% of the d2d copy bandwidth\n";
      return 3;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_options(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "pyn_yuv_bench: " << e.what() << "\n";
    return 1;
  }
}
