// pyn_prepost_bench: how close the pre/post kernels come to the GPU's own copy bandwidth.
//
// The reference is a large device-to-device cudaMemcpyAsync, counting bytes read plus bytes
// written, the same way the kernels are counted. Every kernel rep reads and writes a different
// buffer set from the last, with enough sets to outgrow L2, so the figures are DRAM figures.
//
//   pyn_prepost_bench [--json FILE] [--reps N] [--size WxH]... [--require FRACTION]
//
// Ops: pre and post are the packed whole-frame launchers; beside them, through the prepared
// conversions of kernels/convert.hpp, "-view" the same packed whole frame (the vectorised path
// through the prepared object), "-pitched" the whole frame with rows padded to a 512-byte pitch as
// hardware decoders give them, and "-roi" a region inset by 1/8 of each side (the general path).
// --require judges pre and post only.
//
// --require makes the exit status 3 when any kernel at 3840x2160 (or at every --size given)
// stays below that fraction of the copy bandwidth.

#include <cuda_runtime_api.h>

#include <algorithm>
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
#include "pynference/kernels/prepost.hpp"

#ifndef PYN_GIT_COMMIT
#define PYN_GIT_COMMIT "unknown"
#endif

namespace {

using namespace pyn::bench;

struct Options {
  std::string json_path;
  int reps = 100;
  std::vector<pyn::ImageDesc> sizes;
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
      const std::string size = value(i);
      pyn::ImageDesc image;
      char x = 0;
      std::istringstream in(size);
      if (!(in >> image.width >> x >> image.height) || x != 'x' || image.width <= 0 ||
          image.height <= 0) {
        throw std::invalid_argument("--size wants WxH, got '" + size + "'");
      }
      options.sizes.push_back(image);
      options.sizes_given = true;
    } else {
      throw std::invalid_argument("unknown argument '" + arg +
                                  "' (usage: pyn_prepost_bench [--json FILE] [--reps N] "
                                  "[--size WxH]... [--require FRACTION])");
    }
  }
  if (options.sizes.empty()) {
    options.sizes = {pyn::ImageDesc{3840, 2160}, pyn::ImageDesc{1920, 1080}};
  }
  return options;
}

struct CopyFigures {
  std::size_t d2d_bytes = 0;  // buffer size; read + write is twice this
  Spread d2d;
  std::size_t frame_bytes = 0;
  Spread h2d;
  Spread d2h;
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
  figures.frame_bytes = pyn::ImageDesc{3840, 2160}.bytes();
  const PinnedMemory host(figures.frame_bytes);
  const DeviceMemory device(figures.frame_bytes);
  std::fill_n(static_cast<unsigned char*>(host.get()), figures.frame_bytes, 0x5A);
  figures.h2d = time_reps(stream, 3, 20, [&](int) {
    check(cudaMemcpyAsync(device.get(), host.get(), figures.frame_bytes, cudaMemcpyHostToDevice,
                          stream),
          "cudaMemcpyAsync h2d");
  });
  figures.d2h = time_reps(stream, 3, 20, [&](int) {
    check(cudaMemcpyAsync(host.get(), device.get(), figures.frame_bytes, cudaMemcpyDeviceToHost,
                          stream),
          "cudaMemcpyAsync d2h");
  });
  return figures;
}

struct Result {
  pyn::ImageDesc image;
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

BufferSets make_sets(const pyn::ImageDesc& image, pyn::DType dtype, std::size_t l2_bytes,
                     cudaStream_t stream, std::mt19937& rng) {
  const std::size_t tensor_bytes = pyn::tensor_shape_of(image).elements() * pyn::bytes_of(dtype);
  const std::size_t set_bytes = image.bytes() + tensor_bytes;
  const std::size_t count = std::clamp<std::size_t>(4 * l2_bytes / set_bytes + 1, 2, 64);
  std::vector<unsigned char> frame(image.bytes());
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : frame) {
    b = static_cast<unsigned char>(byte(rng));
  }
  BufferSets sets;
  for (std::size_t i = 0; i < count; ++i) {
    sets.frames.emplace_back(image.bytes());
    sets.tensors.emplace_back(tensor_bytes);
    check(cudaMemcpy(sets.frames.back().get(), frame.data(), frame.size(), cudaMemcpyHostToDevice),
          "cudaMemcpy h2d");
    // Realistic tensor contents for post: what pre makes of a random frame.
    pyn::pre_cuda(image, sets.frames.back().get(), dtype, sets.tensors.back().get(), stream);
  }
  check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  return sets;
}

// The prepared conversions over views: packed, pitched and a region, on `stream`.
void measure_views(const pyn::ImageDesc& image, pyn::DType dtype, const BufferSets& sets, int reps,
                   double d2d_gbps, pyn::Stream& stream, std::vector<Result>& results) {
  const auto native = static_cast<cudaStream_t>(stream.native());
  const std::size_t pitch = (image.row_bytes() + 511) / 512 * 512;
  std::vector<DeviceMemory> pitched;
  for (std::size_t i = 0; i < sets.frames.size(); ++i) {
    pitched.emplace_back(pitch * static_cast<std::size_t>(image.height));
    check(cudaMemset2DAsync(pitched.back().get(), pitch, 0x5A, image.row_bytes(),
                            static_cast<std::size_t>(image.height), native),
          "cudaMemset2DAsync");
  }
  const pyn::Rect inset{image.width / 8, image.height / 8, image.width - image.width / 4,
                        image.height - image.height / 4};
  struct Variant {
    const char* name;
    pyn::Rect region;  // empty: the whole frame
    bool pitched;
  };
  for (const Variant& v :
       {Variant{"view", {}, false}, Variant{"pitched", {}, true}, Variant{"roi", inset, false}}) {
    const pyn::Rect r = v.region.empty() ? pyn::Rect{0, 0, image.width, image.height} : v.region;
    const pyn::TensorView layout{nullptr, pyn::TensorShape{1, 3, r.height, r.width}, dtype};
    const pyn::FrameToTensor to_tensor(pyn::Backend::cuda, image, v.region, layout);
    const pyn::TensorToFrame to_frame(pyn::Backend::cuda, layout, pyn::Rect{}, image, r.x, r.y);
    const auto planes = [&](std::size_t s) {
      if (v.pitched) {
        return pyn::FramePlanes{pyn::Plane{static_cast<std::byte*>(pitched[s].get()), pitch}};
      }
      return pyn::packed_planes(image, sets.frames[s].get());
    };
    const pyn::ImageDesc region{r.width, r.height, image.pixel, image.order};
    const std::size_t bytes =
        region.bytes() + pyn::tensor_shape_of(region).elements() * pyn::bytes_of(dtype);
    for (const bool pre : {true, false}) {
      Result result{image, std::string(pre ? "pre-" : "post-") + v.name, dtype, bytes, {}, 0, 0};
      result.time = time_reps(native, 10, reps, [&](int rep) {
        const std::size_t s = static_cast<std::size_t>(rep) % sets.frames.size();
        if (pre) {
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
    for (const auto pixel : {pyn::PixelType::u8, pyn::PixelType::u16}) {
      for (const auto dtype : {pyn::DType::f32, pyn::DType::f16, pyn::DType::bf16}) {
        const pyn::ImageDesc image{size.width, size.height, pixel, pyn::ChannelOrder::bgr};
        const BufferSets sets = make_sets(image, dtype, l2_bytes, stream, rng);
        const std::size_t bytes =
            image.bytes() + pyn::tensor_shape_of(image).elements() * pyn::bytes_of(dtype);
        const auto set = [&](int rep) {
          return static_cast<std::size_t>(rep) % sets.frames.size();
        };
        for (const std::string op : {"pre", "post"}) {
          Result result{image, op, dtype, bytes, {}, 0, 0};
          result.time = time_reps(stream, 10, options.reps, [&](int rep) {
            const std::size_t s = set(rep);
            if (op == "pre") {
              pyn::pre_cuda(image, sets.frames[s].get(), dtype, sets.tensors[s].get(), stream);
            } else {
              pyn::post_cuda(dtype, sets.tensors[s].get(), image, sets.frames[s].get(), stream);
            }
          });
          result.gbps = gbps(bytes, result.time.median_us);
          result.fraction = result.gbps / d2d_gbps;
          results.push_back(result);
        }
        measure_views(image, dtype, sets, options.reps, d2d_gbps, view_stream, results);
      }
    }
  }
  return results;
}

std::string size_name(const pyn::ImageDesc& image) {
  return std::to_string(image.width) + "x" + std::to_string(image.height);
}

void print_report(std::ostream& out, const cudaDeviceProp& prop, const CopyFigures& copies,
                  const std::vector<Result>& results) {
  char line[256];
  out << "pyn_prepost_bench  commit " << PYN_GIT_COMMIT << "\n";
  out << "device  " << prop.name << "  sm_" << prop.major << prop.minor << "  "
      << prop.multiProcessorCount << " SMs  L2 " << (prop.l2CacheSize >> 20) << " MiB\n";
  std::snprintf(line, sizeof line,
                "copy d2d  %4zu MiB        median %8.1f us  %7.1f GB/s (read+write)\n",
                copies.d2d_bytes >> 20, copies.d2d.median_us,
                gbps(2 * copies.d2d_bytes, copies.d2d.median_us));
  out << line;
  for (const auto& [name, spread] : {std::pair{"h2d", copies.h2d}, std::pair{"d2h", copies.d2h}}) {
    std::snprintf(line, sizeof line,
                  "copy %s  3840x2160 u8  median %8.1f us  %7.1f GB/s (pinned, one way)\n", name,
                  spread.median_us, gbps(copies.frame_bytes, spread.median_us));
    out << line;
  }
  out << "\n";
  std::snprintf(line, sizeof line, "%-10s %-12s %-5s %-5s %10s %9s %9s %9s %8s %7s\n", "size", "op",
                "pixel", "dtype", "MB", "median_us", "p10_us", "p90_us", "GB/s", "of_d2d");
  out << line;
  for (const auto& r : results) {
    std::snprintf(line, sizeof line,
                  "%-10s %-12s %-5s %-5s %10.2f %9.1f %9.1f %9.1f %8.1f %6.1f%%\n",
                  size_name(r.image).c_str(), r.op.c_str(),
                  std::string(pyn::to_string(r.image.pixel)).c_str(),
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
  out << "    \"h2d\": {\"bytes\": " << copies.frame_bytes << ", " << spread(copies.h2d)
      << ", \"gbps\": " << gbps(copies.frame_bytes, copies.h2d.median_us)
      << ", \"host\": \"pinned\"},\n";
  out << "    \"d2h\": {\"bytes\": " << copies.frame_bytes << ", " << spread(copies.d2h)
      << ", \"gbps\": " << gbps(copies.frame_bytes, copies.d2h.median_us)
      << ", \"host\": \"pinned\"}\n  },\n";
  out << "  \"kernels\": [\n";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    out << "    {\"width\": " << r.image.width << ", \"height\": " << r.image.height
        << ", \"op\": \"" << r.op << "\", \"pixel\": \"" << pyn::to_string(r.image.pixel)
        << "\", \"order\": \"" << pyn::to_string(r.image.order) << "\", \"dtype\": \""
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
    std::cerr << "pyn_prepost_bench: no CUDA device ("
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
      const bool judged = options.sizes_given ||
                          r.image == pyn::ImageDesc{3840, 2160, r.image.pixel, r.image.order};
      if (judged && (r.op == "pre" || r.op == "post") && r.fraction < options.require) {
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
    std::cerr << "pyn_prepost_bench: " << e.what() << "\n";
    return 1;
  }
}
