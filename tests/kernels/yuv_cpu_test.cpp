// The CPU reference of the YUV conversions against a float64 evaluation of the formulas, and the
// typed entry points on the host backend.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "kernels/prepost_test_util.hpp"
#include "pynference/device/device.hpp"
#include "pynference/device/error.hpp"
#include "pynference/kernels/float16.hpp"
#include "pynference/kernels/yuv.hpp"

namespace pyn::test {
namespace {

constexpr ChromaLayout all_layouts[] = {ChromaLayout::yuv420, ChromaLayout::yuv444};
constexpr int all_bits[] = {8, 10};
constexpr ColorMatrix all_matrices[] = {ColorMatrix::bt601, ColorMatrix::bt709, ColorMatrix::bt2020,
                                        ColorMatrix::smpte240m};
constexpr ColorRange all_ranges[] = {ColorRange::limited, ColorRange::full};

// All 32 formats of one size.
std::vector<YuvDesc> every_format(int width, int height) {
  std::vector<YuvDesc> formats;
  for (const auto chroma : all_layouts) {
    for (const int bits : all_bits) {
      for (const auto matrix : all_matrices) {
        for (const auto range : all_ranges) {
          formats.push_back(YuvDesc{width, height, chroma, bits, matrix, range});
        }
      }
    }
  }
  return formats;
}

// Every byte random: 10-bit samples get garbage in their ignored top bits too.
std::vector<unsigned char> random_yuv(const YuvDesc& desc, Rng& rng) {
  std::vector<unsigned char> bytes(desc.bytes());
  for (std::size_t i = 0; i < bytes.size(); i += 4) {
    const std::uint32_t word = rng.next();
    std::memcpy(bytes.data() + i, &word, std::min<std::size_t>(4, bytes.size() - i));
  }
  bytes[0] |= 1;
  return bytes;
}

// The raw sample `index` of plane 0 (Y), 1 (U) or 2 (V).
std::uint32_t raw_sample(const std::vector<unsigned char>& frame, const YuvDesc& desc, int plane,
                         std::size_t index) {
  const std::size_t offset = plane == 0 ? 0 : plane == 1 ? desc.u_offset() : desc.v_offset();
  if (desc.bits == 8) {
    return frame[offset + index];
  }
  std::uint16_t s = 0;
  std::memcpy(&s, frame.data() + offset + 2 * index, 2);
  return s;
}

void set_sample(std::vector<unsigned char>& frame, const YuvDesc& desc, int plane,
                std::size_t index, std::uint32_t value) {
  const std::size_t offset = plane == 0 ? 0 : plane == 1 ? desc.u_offset() : desc.v_offset();
  if (desc.bits == 8) {
    frame[offset + index] = static_cast<unsigned char>(value);
  } else {
    const auto s = static_cast<std::uint16_t>(value);
    std::memcpy(frame.data() + offset + 2 * index, &s, 2);
  }
}

float element_at(const std::vector<unsigned char>& tensor, DType dtype, std::size_t i) {
  if (dtype == DType::f32) {
    float v = 0;
    std::memcpy(&v, tensor.data() + 4 * i, 4);
    return v;
  }
  std::uint16_t bits = 0;
  std::memcpy(&bits, tensor.data() + 2 * i, 2);
  return dtype == DType::f16 ? half_bits_to_float(bits) : bf16_bits_to_float(bits);
}

std::uint32_t element_bits(const std::vector<unsigned char>& tensor, DType dtype, std::size_t i) {
  if (dtype == DType::f32) {
    return std::bit_cast<std::uint32_t>(element_at(tensor, dtype, i));
  }
  std::uint16_t bits = 0;
  std::memcpy(&bits, tensor.data() + 2 * i, 2);
  return bits;
}

std::uint32_t encoded_bits(float v, DType dtype) {
  switch (dtype) {
    case DType::f32:
      return std::bit_cast<std::uint32_t>(v);
    case DType::f16:
      return float_to_half_bits(v);
    case DType::bf16:
      return float_to_bf16_bits(v);
  }
  return 0;
}

// --- The float64 model, written from the formulas, not from yuv.hpp's folded coefficients. ---

struct Levels {
  double y_offset, y_range, c_offset, c_range;
  double y_min, y_max, c_min, c_max;
};

Levels levels_of(const YuvDesc& desc) {
  const double scale = desc.bits == 10 ? 4.0 : 1.0;
  if (desc.range == ColorRange::limited) {
    return {16 * scale, 219 * scale, 128 * scale, 224 * scale,
            16 * scale, 235 * scale, 16 * scale,  240 * scale};
  }
  const double top = desc.bits == 10 ? 1023.0 : 255.0;
  return {0, top, 128 * scale, top, 0, top, 0, top};
}

// Kr and Kb as ITU-R BT.601, BT.709, BT.2020 (non-constant luminance) and SMPTE 240M give them.
std::pair<double, double> kr_kb(const YuvDesc& desc) {
  switch (desc.matrix) {
    case ColorMatrix::bt601:
      return {0.299, 0.114};
    case ColorMatrix::bt2020:
      return {0.2627, 0.0593};
    case ColorMatrix::smpte240m:
      return {0.212, 0.087};
    default:
      return {0.2126, 0.0722};
  }
}

using Rgb = std::array<double, 3>;

// R, G, B of one sample triple, not clamped.
Rgb exact_rgb(const YuvDesc& desc, std::uint32_t y, std::uint32_t u, std::uint32_t v) {
  const Levels l = levels_of(desc);
  const auto [kr, kb] = kr_kb(desc);
  const double kg = 1.0 - kr - kb;
  const std::uint32_t mask = desc.bits == 10 ? 0x3FF : 0xFF;
  const double luma = (static_cast<double>(y & mask) - l.y_offset) / l.y_range;
  const double cb = (static_cast<double>(u & mask) - l.c_offset) / l.c_range;
  const double cr = (static_cast<double>(v & mask) - l.c_offset) / l.c_range;
  const double r = luma + 2.0 * (1.0 - kr) * cr;
  const double b = luma + 2.0 * (1.0 - kb) * cb;
  const double g = (luma - kr * r - kb * b) / kg;
  return {r, g, b};
}

double clamp01(double v) { return std::isnan(v) ? 1.0 : std::clamp(v, 0.0, 1.0); }

bool in_gamut(const Rgb& rgb) {
  return std::ranges::all_of(rgb, [](double c) { return c >= 0.0 && c <= 1.0; });
}

// Y, Cb and Cr codes of clamped R, G, B, before rounding and clamping.
Rgb exact_codes(const YuvDesc& desc, const Rgb& rgb) {
  const Levels l = levels_of(desc);
  const auto [kr, kb] = kr_kb(desc);
  const double kg = 1.0 - kr - kb;
  const auto [r, g, b] = rgb;
  const double luma = kr * r + kg * g + kb * b;
  const double cb = (b - luma) / (2.0 * (1.0 - kb));
  const double cr = (r - luma) / (2.0 * (1.0 - kr));
  return {l.y_offset + l.y_range * luma, l.c_offset + l.c_range * cb, l.c_offset + l.c_range * cr};
}

// How far a code may sit from the exact value, clamped to the legal codes.
double code_tolerance(const YuvDesc& desc) {
  return 0.5 + 1e-5 * static_cast<double>((1 << desc.bits) - 1);
}

// --- Running the reference, with guard bytes. ---

std::vector<unsigned char> run_to_tensor(const YuvDesc& desc,
                                         const std::vector<unsigned char>& frame, DType dtype) {
  Guarded tensor(tensor_shape_of(desc).elements() * bytes_of(dtype));
  yuv_to_tensor_cpu(desc, frame.data(), dtype, tensor.data());
  EXPECT_TRUE(tensor.guards_intact()) << to_string(desc) << " -> " << to_string(dtype);
  return tensor.payload();
}

std::vector<unsigned char> run_to_yuv(const YuvDesc& desc, const std::vector<unsigned char>& tensor,
                                      DType dtype) {
  Guarded frame(desc.bytes());
  tensor_to_yuv_cpu(dtype, tensor.data(), desc, frame.data());
  EXPECT_TRUE(frame.guards_intact()) << to_string(dtype) << " -> " << to_string(desc);
  return frame.payload();
}

std::vector<unsigned char> random_unit_tensor(const YuvDesc& desc, DType dtype, Rng& rng) {
  return random_tensor(tensor_shape_of(desc).elements(), dtype, PixelType::u8, rng);
}

// Luma rows and columns of chroma sample (cx, cy).
struct Block {
  std::size_t x0, y0, columns, rows;
};

Block block_of(const YuvDesc& desc, std::size_t cx, std::size_t cy) {
  const auto sub = static_cast<std::size_t>(desc.subsampling());
  const auto width = static_cast<std::size_t>(desc.width);
  const auto height = static_cast<std::size_t>(desc.height);
  return {cx * sub, cy * sub, std::min(sub, width - cx * sub), std::min(sub, height - cy * sub)};
}

// Every value within 1e-5 of the float64 model for f32, and f16/bf16 the f32 value rounded.
void expect_tensor_matches_model(const YuvDesc& desc, const std::vector<unsigned char>& frame) {
  const auto f32 = run_to_tensor(desc, frame, DType::f32);
  const std::size_t pixels = desc.pixels();
  const auto width = static_cast<std::size_t>(desc.width);
  const auto sub = static_cast<std::size_t>(desc.subsampling());
  std::size_t far = 0;
  double worst = 0;
  for (std::size_t i = 0; i < pixels; ++i) {
    const std::size_t x = i % width;
    const std::size_t y = i / width;
    const std::size_t c = (y / sub) * desc.chroma_width() + x / sub;
    const Rgb exact = exact_rgb(desc, raw_sample(frame, desc, 0, i), raw_sample(frame, desc, 1, c),
                                raw_sample(frame, desc, 2, c));
    for (std::size_t p = 0; p < 3; ++p) {
      const double error = std::abs(
          static_cast<double>(element_at(f32, DType::f32, p * pixels + i)) - clamp01(exact[p]));
      worst = std::max(worst, std::isnan(error) ? 1.0 : error);
      far += !(error <= 1e-5);
    }
  }
  EXPECT_EQ(far, 0U) << to_string(desc) << ": worst error " << worst;
  for (const auto dtype : {DType::f16, DType::bf16}) {
    const auto narrow = run_to_tensor(desc, frame, dtype);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < 3 * pixels; ++i) {
      wrong +=
          element_bits(narrow, dtype, i) != encoded_bits(element_at(f32, DType::f32, i), dtype);
    }
    EXPECT_EQ(wrong, 0U) << to_string(desc) << " -> " << to_string(dtype);
  }
}

// Every code legal and within code_tolerance of the float64 model.
void expect_yuv_matches_model(const YuvDesc& desc, const std::vector<unsigned char>& tensor,
                              DType dtype) {
  const auto frame = run_to_yuv(desc, tensor, dtype);
  const Levels l = levels_of(desc);
  const double tolerance = code_tolerance(desc);
  const std::size_t pixels = desc.pixels();
  const auto width = static_cast<std::size_t>(desc.width);
  const auto rgb_at = [&](std::size_t x, std::size_t y) {
    const std::size_t i = y * width + x;
    return Rgb{clamp01(element_at(tensor, dtype, i)),
               clamp01(element_at(tensor, dtype, pixels + i)),
               clamp01(element_at(tensor, dtype, 2 * pixels + i))};
  };
  std::size_t wrong = 0;
  double worst = 0;
  const auto check = [&](std::uint32_t code, double exact, double lo, double hi) {
    const double error = std::abs(static_cast<double>(code) - std::clamp(exact, lo, hi));
    worst = std::max(worst, error);
    wrong += static_cast<double>(code) < lo || static_cast<double>(code) > hi || error > tolerance;
  };
  for (std::size_t i = 0; i < pixels; ++i) {
    check(raw_sample(frame, desc, 0, i), exact_codes(desc, rgb_at(i % width, i / width))[0],
          l.y_min, l.y_max);
  }
  for (std::size_t cy = 0; cy < desc.chroma_height(); ++cy) {
    for (std::size_t cx = 0; cx < desc.chroma_width(); ++cx) {
      const Block b = block_of(desc, cx, cy);
      double cb = 0;
      double cr = 0;
      for (std::size_t y = b.y0; y < b.y0 + b.rows; ++y) {
        for (std::size_t x = b.x0; x < b.x0 + b.columns; ++x) {
          const Rgb codes = exact_codes(desc, rgb_at(x, y));
          cb += codes[1];
          cr += codes[2];
        }
      }
      const auto n = static_cast<double>(b.rows * b.columns);
      const std::size_t c = cy * desc.chroma_width() + cx;
      check(raw_sample(frame, desc, 1, c), cb / n, l.c_min, l.c_max);
      check(raw_sample(frame, desc, 2, c), cr / n, l.c_min, l.c_max);
    }
  }
  EXPECT_EQ(wrong, 0U) << to_string(dtype) << " -> " << to_string(desc) << ": worst |code - exact| "
                       << worst;
}

// A frame whose every pixel (for 4:2:0, every pixel of each chroma block) decodes, exactly, to RGB
// inside [0, 1]: the codes a round trip can give back.
std::vector<unsigned char> in_gamut_yuv(const YuvDesc& desc, Rng& rng) {
  std::vector<unsigned char> frame(desc.bytes());
  const int top = (1 << desc.bits) - 1;
  const auto width = static_cast<std::size_t>(desc.width);
  for (std::size_t cy = 0; cy < desc.chroma_height(); ++cy) {
    for (std::size_t cx = 0; cx < desc.chroma_width(); ++cx) {
      const Block b = block_of(desc, cx, cy);
      for (bool done = false; !done;) {
        const auto u = static_cast<std::uint32_t>(rng.uniform_int(0, top));
        const auto v = static_cast<std::uint32_t>(rng.uniform_int(0, top));
        done = true;
        for (std::size_t y = b.y0; done && y < b.y0 + b.rows; ++y) {
          for (std::size_t x = b.x0; done && x < b.x0 + b.columns; ++x) {
            done = false;
            for (int attempt = 0; !done && attempt < 64; ++attempt) {
              const auto luma = static_cast<std::uint32_t>(rng.uniform_int(0, top));
              done = in_gamut(exact_rgb(desc, luma, u, v));
              set_sample(frame, desc, 0, y * width + x, luma);
            }
          }
        }
        set_sample(frame, desc, 1, cy * desc.chroma_width() + cx, u);
        set_sample(frame, desc, 2, cy * desc.chroma_width() + cx, v);
      }
    }
  }
  return frame;
}

// Largest |after - before| over all codes of frame -> tensor -> frame.
std::uint32_t round_trip_error(const YuvDesc& desc, const std::vector<unsigned char>& frame,
                               DType dtype) {
  const auto back = run_to_yuv(desc, run_to_tensor(desc, frame, dtype), dtype);
  const std::size_t chroma_samples = desc.chroma_width() * desc.chroma_height();
  std::uint32_t worst = 0;
  for (int plane = 0; plane < 3; ++plane) {
    for (std::size_t i = 0; i < (plane == 0 ? desc.pixels() : chroma_samples); ++i) {
      const auto a = raw_sample(frame, desc, plane, i);
      const auto b = raw_sample(back, desc, plane, i);
      worst = std::max(worst, a > b ? a - b : b - a);
    }
  }
  return worst;
}

constexpr Size small_yuv_sizes[] = {{1, 1}, {3, 5}, {2, 2}, {16, 3}, {37, 20}};

TEST(YuvDesc, DescribesThePlanes) {
  const YuvDesc odd{3, 5, ChromaLayout::yuv420, 8};
  EXPECT_EQ(odd.chroma_width(), 2U);
  EXPECT_EQ(odd.chroma_height(), 3U);
  EXPECT_EQ(odd.y_bytes(), 15U);
  EXPECT_EQ(odd.chroma_bytes(), 6U);
  EXPECT_EQ(odd.u_offset(), 15U);
  EXPECT_EQ(odd.v_offset(), 21U);
  EXPECT_EQ(odd.bytes(), 27U);
  const YuvDesc deep{1920, 1080, ChromaLayout::yuv444, 10};
  EXPECT_EQ(deep.sample_bytes(), 2U);
  EXPECT_EQ(deep.chroma_width(), 1920U);
  EXPECT_EQ(deep.bytes(), 1920U * 1080U * 2U * 3U);
  const YuvDesc hd{1920, 1080};
  EXPECT_EQ(hd.bytes(), 1920U * 1080U * 3U / 2U);
  EXPECT_EQ(tensor_shape_of(hd), (TensorShape{1, 3, 1080, 1920}));
  EXPECT_EQ(to_string(deep), "1920x1080 yuv444 10-bit bt709 limited");
}

TEST(YuvDesc, NamesParseAndPrint) {
  for (const auto c : all_layouts) {
    EXPECT_EQ(parse_chroma_layout(to_string(c)), c);
  }
  for (const auto m : all_matrices) {
    EXPECT_EQ(parse_color_matrix(to_string(m)), m);
  }
  for (const auto r : all_ranges) {
    EXPECT_EQ(parse_color_range(to_string(r)), r);
  }
  EXPECT_EQ(parse_chroma_layout("420"), ChromaLayout::yuv420);
  EXPECT_EQ(parse_color_matrix("BT709"), ColorMatrix::bt709);
  EXPECT_EQ(parse_color_range("tv"), ColorRange::limited);
  EXPECT_EQ(parse_color_range("JPEG"), ColorRange::full);
  EXPECT_THROW((void)parse_chroma_layout("yuv422"), UsageError);
  EXPECT_EQ(parse_color_matrix("bt2020nc"), ColorMatrix::bt2020);
  EXPECT_EQ(parse_color_matrix("240M"), ColorMatrix::smpte240m);
  EXPECT_THROW((void)parse_color_matrix("bt2020c"), UsageError);
  EXPECT_THROW((void)parse_color_range(""), UsageError);
  EXPECT_EQ(to_string(static_cast<ColorMatrix>(9)), "unknown");
}

TEST(YuvDesc, CoefficientsInvertEachOther) {
  for (const auto& desc : every_format(2, 2)) {
    const auto d = yuv_to_rgb_coefficients(desc);
    const auto e = rgb_to_yuv_coefficients(desc);
    // (y, u, v) -> RGB -> codes minus offsets must be the identity.
    const double to_rgb[3][3] = {
        {d.y_scale, 0, d.r_v}, {d.y_scale, d.g_u, d.g_v}, {d.y_scale, d.b_u, 0}};
    const double to_yuv[3][3] = {
        {e.y_r, e.y_g, e.y_b}, {e.u_r, e.u_g, e.u_b}, {e.v_r, e.v_g, e.v_b}};
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) {
        double product = 0;
        for (int k = 0; k < 3; ++k) {
          product += to_yuv[i][k] * to_rgb[k][j];
        }
        EXPECT_NEAR(product, i == j ? 1.0 : 0.0, 1e-6) << to_string(desc) << " " << i << j;
      }
    }
  }
}

TEST(YuvCpu, ToTensorMatchesTheFloat64Model) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const auto [width, height] : small_yuv_sizes) {
    for (const auto& desc : every_format(width, height)) {
      expect_tensor_matches_model(desc, random_yuv(desc, rng));
    }
  }
  // The large odd size once per layout and depth, matrix and range taking turns.
  int turn = 0;
  for (auto desc : every_format(1919, 1079)) {
    if (desc.matrix == static_cast<ColorMatrix>(turn % 4) &&
        desc.range == static_cast<ColorRange>(turn / 2 % 2)) {
      expect_tensor_matches_model(desc, random_yuv(desc, rng));
      ++turn;
    }
  }
}

TEST(YuvCpu, ToYuvMatchesTheFloat64Model) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const auto [width, height] : small_yuv_sizes) {
    for (const auto& desc : every_format(width, height)) {
      for (const auto dtype : all_dtypes) {
        expect_yuv_matches_model(desc, random_unit_tensor(desc, dtype, rng), dtype);
      }
    }
  }
  int turn = 0;
  for (auto desc : every_format(1919, 1079)) {
    if (desc.matrix == static_cast<ColorMatrix>(turn % 4) &&
        desc.range == static_cast<ColorRange>(turn / 2 % 2)) {
      const DType dtype = all_dtypes[turn % 3];
      expect_yuv_matches_model(desc, random_unit_tensor(desc, dtype, rng), dtype);
      ++turn;
    }
  }
}

// Published 8-bit codes of the 100% colour bars (ITU-R BT.601 and BT.709, limited range).
TEST(YuvCpu, ToYuvGivesTheStandardColourBars) {
  struct Bar {
    ColorMatrix matrix;
    Rgb rgb;
    std::array<std::uint32_t, 3> yuv;
  };
  const Bar bars[] = {
      {ColorMatrix::bt601, {1, 1, 1}, {235, 128, 128}},
      {ColorMatrix::bt601, {0, 0, 0}, {16, 128, 128}},
      {ColorMatrix::bt601, {1, 0, 0}, {81, 90, 240}},
      {ColorMatrix::bt601, {0, 1, 0}, {145, 54, 34}},
      {ColorMatrix::bt601, {0, 0, 1}, {41, 240, 110}},
      {ColorMatrix::bt601, {1, 1, 0}, {210, 16, 146}},
      {ColorMatrix::bt709, {1, 0, 0}, {63, 102, 240}},
      {ColorMatrix::bt709, {0, 1, 0}, {173, 42, 26}},
      {ColorMatrix::bt709, {0, 0, 1}, {32, 240, 118}},
      {ColorMatrix::bt709, {1, 1, 0}, {219, 16, 138}},
      {ColorMatrix::bt709, {0, 1, 1}, {188, 154, 16}},
      {ColorMatrix::bt709, {1, 0, 1}, {78, 214, 230}},
  };
  for (const auto& bar : bars) {
    const YuvDesc desc{1, 1, ChromaLayout::yuv444, 8, bar.matrix, ColorRange::limited};
    std::vector<unsigned char> tensor(3 * sizeof(float));
    for (std::size_t p = 0; p < 3; ++p) {
      const auto v = static_cast<float>(bar.rgb[p]);
      std::memcpy(tensor.data() + 4 * p, &v, 4);
    }
    const auto frame = run_to_yuv(desc, tensor, DType::f32);
    EXPECT_EQ((std::array<std::uint32_t, 3>{frame[0], frame[1], frame[2]}), bar.yuv)
        << to_string(bar.matrix) << " " << bar.rgb[0] << bar.rgb[1] << bar.rgb[2];
    // And back, within the quantisation of the codes.
    const auto back = run_to_tensor(desc, frame, DType::f32);
    for (std::size_t p = 0; p < 3; ++p) {
      EXPECT_NEAR(element_at(back, DType::f32, p), bar.rgb[p], 0.01) << to_string(bar.matrix);
    }
  }
  // Black and white in the other ranges and depths.
  for (const auto range : all_ranges) {
    for (const int bits : all_bits) {
      const YuvDesc desc{2, 1, ChromaLayout::yuv444, bits, ColorMatrix::bt709, range};
      const std::vector<float> black_white = {0, 1, 0, 1, 0, 1};
      std::vector<unsigned char> tensor(black_white.size() * 4);
      std::memcpy(tensor.data(), black_white.data(), tensor.size());
      const auto frame = run_to_yuv(desc, tensor, DType::f32);
      const std::uint32_t scale = bits == 10 ? 4 : 1;
      const std::uint32_t black = range == ColorRange::full ? 0 : 16 * scale;
      const std::uint32_t white = range == ColorRange::full ? (1U << bits) - 1 : 235 * scale;
      EXPECT_EQ(raw_sample(frame, desc, 0, 0), black) << to_string(desc);
      EXPECT_EQ(raw_sample(frame, desc, 0, 1), white) << to_string(desc);
      for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(raw_sample(frame, desc, 1, i), 128 * scale) << to_string(desc);
        EXPECT_EQ(raw_sample(frame, desc, 2, i), 128 * scale) << to_string(desc);
      }
    }
  }
}

TEST(YuvCpu, Yuv420IsYuv444WithEachChromaSampleOnItsBlock) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const auto [width, height] : small_yuv_sizes) {
    for (const auto& desc : every_format(width, height)) {
      if (desc.chroma != ChromaLayout::yuv420) {
        continue;
      }
      YuvDesc full = desc;
      full.chroma = ChromaLayout::yuv444;
      const auto frame = random_yuv(desc, rng);
      // To tensor: the 4:2:0 frame with its chroma replicated over each block decodes the same.
      std::vector<unsigned char> upsampled(full.bytes());
      const auto w = static_cast<std::size_t>(width);
      for (std::size_t i = 0; i < desc.pixels(); ++i) {
        const std::size_t c = (i / w / 2) * desc.chroma_width() + (i % w) / 2;
        set_sample(upsampled, full, 0, i, raw_sample(frame, desc, 0, i));
        set_sample(upsampled, full, 1, i, raw_sample(frame, desc, 1, c));
        set_sample(upsampled, full, 2, i, raw_sample(frame, desc, 2, c));
      }
      for (const auto dtype : all_dtypes) {
        EXPECT_EQ(first_difference(run_to_tensor(desc, frame, dtype),
                                   run_to_tensor(full, upsampled, dtype)),
                  "")
            << to_string(desc) << " -> " << to_string(dtype);
      }
      // To YUV: a tensor constant over each block gives 4:4:4 codes taken at the blocks, exactly
      // (the sums of 2 or 4 equal values and their scaling are exact).
      const auto tensor = run_to_tensor(full, random_yuv(full, rng), DType::f32);
      std::vector<unsigned char> blocky(tensor.size());
      for (std::size_t p = 0; p < 3; ++p) {
        for (std::size_t i = 0; i < desc.pixels(); ++i) {
          const std::size_t corner = (i / w / 2 * 2) * w + (i % w) / 2 * 2;
          std::memcpy(blocky.data() + 4 * (p * desc.pixels() + i),
                      tensor.data() + 4 * (p * desc.pixels() + corner), 4);
        }
      }
      const auto sub = run_to_yuv(desc, blocky, DType::f32);
      const auto all = run_to_yuv(full, blocky, DType::f32);
      std::size_t wrong = 0;
      for (std::size_t i = 0; i < desc.pixels(); ++i) {
        wrong += raw_sample(sub, desc, 0, i) != raw_sample(all, full, 0, i);
      }
      for (std::size_t cy = 0; cy < desc.chroma_height(); ++cy) {
        for (std::size_t cx = 0; cx < desc.chroma_width(); ++cx) {
          const std::size_t c = cy * desc.chroma_width() + cx;
          const std::size_t corner = 2 * cy * w + 2 * cx;
          wrong += raw_sample(sub, desc, 1, c) != raw_sample(all, full, 1, corner);
          wrong += raw_sample(sub, desc, 2, c) != raw_sample(all, full, 2, corner);
        }
      }
      EXPECT_EQ(wrong, 0U) << to_string(desc);
    }
  }
}

TEST(YuvCpu, TenBitSamplesIgnoreTheirTopSixBits) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const auto chroma : all_layouts) {
    const YuvDesc desc{37, 20, chroma, 10, ColorMatrix::bt601, ColorRange::full};
    const auto frame = random_yuv(desc, rng);
    auto masked = frame;
    for (std::size_t i = 1; i < masked.size(); i += 2) {
      masked[i] &= 0x03;
    }
    ASSERT_NE(masked, frame);
    EXPECT_EQ(first_difference(run_to_tensor(desc, frame, DType::f32),
                               run_to_tensor(desc, masked, DType::f32)),
              "");
  }
}

// YUV -> tensor -> YUV for codes inside the RGB cube: exact, but for bf16 at 10 bit (2 codes).
TEST(YuvCpu, InGamutCodesRoundTrip) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const auto [width, height] : {Size{3, 5}, Size{64, 48}}) {
    for (const auto& desc : every_format(width, height)) {
      const auto frame = in_gamut_yuv(desc, rng);
      EXPECT_EQ(round_trip_error(desc, frame, DType::f32), 0U) << to_string(desc);
      EXPECT_EQ(round_trip_error(desc, frame, DType::f16), 0U) << to_string(desc);
      EXPECT_LE(round_trip_error(desc, frame, DType::bf16), desc.bits == 8 ? 0U : 2U)
          << to_string(desc);
    }
  }
}

// 4:4:4 8-bit: every Y with U and V in steps of 5; each triple inside the RGB cube comes back
// exactly, through every dtype.
TEST(YuvCpu, EveryInGamutTripleRoundTripsExactly) {
  for (const auto matrix : all_matrices) {
    for (const auto range : all_ranges) {
      const YuvDesc desc{256, 52 * 52, ChromaLayout::yuv444, 8, matrix, range};
      std::vector<unsigned char> frame(desc.bytes());
      for (std::size_t i = 0; i < desc.pixels(); ++i) {
        frame[i] = static_cast<unsigned char>(i % 256);
        frame[desc.u_offset() + i] = static_cast<unsigned char>(i / 256 % 52 * 5);
        frame[desc.v_offset() + i] = static_cast<unsigned char>(i / 256 / 52 * 5);
      }
      std::vector<bool> inside(desc.pixels());
      for (std::size_t i = 0; i < desc.pixels(); ++i) {
        inside[i] = in_gamut(
            exact_rgb(desc, frame[i], frame[desc.u_offset() + i], frame[desc.v_offset() + i]));
      }
      const auto count = static_cast<std::size_t>(std::ranges::count(inside, true));
      EXPECT_GT(count, desc.pixels() / 8) << to_string(desc);
      for (const auto dtype : all_dtypes) {
        const auto back = run_to_yuv(desc, run_to_tensor(desc, frame, dtype), dtype);
        std::size_t wrong = 0;
        for (std::size_t i = 0; i < desc.pixels(); ++i) {
          for (const std::size_t at : {i, desc.u_offset() + i, desc.v_offset() + i}) {
            wrong += inside[i] && back[at] != frame[at];
          }
        }
        EXPECT_EQ(wrong, 0U) << to_string(desc) << " via " << to_string(dtype) << ": " << count
                             << " triples inside the cube";
      }
    }
  }
}

TEST(YuvCpu, RejectsBadArguments) {
  std::vector<std::uint32_t> storage(64);
  void* p = storage.data();
  auto* bytes = static_cast<unsigned char*>(p);
  const YuvDesc desc{2, 2, ChromaLayout::yuv420, 10};
  EXPECT_THROW(yuv_to_tensor_cpu(desc, nullptr, DType::f16, p), UsageError);
  EXPECT_THROW(yuv_to_tensor_cpu(desc, p, DType::f16, nullptr), UsageError);
  EXPECT_THROW(tensor_to_yuv_cpu(DType::f16, nullptr, desc, p), UsageError);
  EXPECT_THROW(tensor_to_yuv_cpu(DType::f16, p, desc, nullptr), UsageError);
  EXPECT_THROW(yuv_to_tensor_cpu(YuvDesc{0, 2}, p, DType::f16, p), UsageError);
  EXPECT_THROW(tensor_to_yuv_cpu(DType::f16, p, YuvDesc{2, -1}, p), UsageError);
  EXPECT_THROW(yuv_to_tensor_cpu(desc, bytes + 1, DType::f16, p), UsageError);
  EXPECT_THROW(yuv_to_tensor_cpu(desc, p, DType::f32, bytes + 2), UsageError);
  EXPECT_THROW(yuv_to_tensor_cpu(desc, p, static_cast<DType>(7), p), UsageError);
  for (const int bits : {0, 7, 9, 12, 16}) {
    EXPECT_THROW(yuv_to_tensor_cpu(YuvDesc{2, 2, ChromaLayout::yuv420, bits}, p, DType::f16, p),
                 UsageError)
        << bits;
  }
  EXPECT_THROW(yuv_to_tensor_cpu(YuvDesc{2, 2, static_cast<ChromaLayout>(2)}, p, DType::f16, p),
               UsageError);
  EXPECT_THROW(
      tensor_to_yuv_cpu(DType::f16, p,
                        YuvDesc{2, 2, ChromaLayout::yuv444, 8, static_cast<ColorMatrix>(4)}, p),
      UsageError);
  EXPECT_THROW(tensor_to_yuv_cpu(DType::f16, p,
                                 YuvDesc{2, 2, ChromaLayout::yuv444, 8, ColorMatrix::bt601,
                                         static_cast<ColorRange>(4)},
                                 p),
               UsageError);
}

class YuvHostStream : public ::testing::Test {
 protected:
  Device device_ = Device::open(DeviceSpec::parse("cpu"));
  Stream stream_ = device_.make_stream();
};

TEST_F(YuvHostStream, RunsTheReferenceInStreamOrder) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const auto chroma : all_layouts) {
    for (const int bits : all_bits) {
      for (const auto dtype : all_dtypes) {
        const YuvDesc desc{321, 241, chroma, bits, ColorMatrix::bt601, ColorRange::full};
        const auto frame = random_yuv(desc, rng);
        const auto tensor = random_unit_tensor(desc, dtype, rng);
        Guarded to_tensor_out(tensor_shape_of(desc).elements() * bytes_of(dtype));
        Guarded to_yuv_out(desc.bytes());
        yuv_to_tensor(stream_, desc, frame.data(),
                      TensorView{to_tensor_out.data(), tensor_shape_of(desc), dtype});
        tensor_to_yuv(
            stream_,
            TensorView{const_cast<unsigned char*>(tensor.data()), tensor_shape_of(desc), dtype},
            desc, to_yuv_out.data());
        stream_.synchronize();
        EXPECT_TRUE(to_tensor_out.guards_intact());
        EXPECT_TRUE(to_yuv_out.guards_intact());
        EXPECT_EQ(first_difference(to_tensor_out.payload(), run_to_tensor(desc, frame, dtype)), "")
            << to_string(desc) << " -> " << to_string(dtype);
        EXPECT_EQ(first_difference(to_yuv_out.payload(), run_to_yuv(desc, tensor, dtype)), "")
            << to_string(dtype) << " -> " << to_string(desc);
      }
    }
  }
}

TEST_F(YuvHostStream, RejectsTensorsOfTheWrongShape) {
  const YuvDesc desc{4, 2};
  std::vector<float> tensor(3 * 8);
  std::vector<unsigned char> frame(desc.bytes());
  for (const TensorShape shape : {TensorShape{1, 3, 4, 2}, TensorShape{2, 3, 2, 4},
                                  TensorShape{1, 1, 2, 4}, TensorShape{1, 3, 2, 3}}) {
    const TensorView view{tensor.data(), shape, DType::f32};
    EXPECT_THROW(yuv_to_tensor(stream_, desc, frame.data(), view), UsageError);
    EXPECT_THROW(tensor_to_yuv(stream_, view, desc, frame.data()), UsageError);
  }
  const TensorView null_view{nullptr, tensor_shape_of(desc), DType::f32};
  EXPECT_THROW(yuv_to_tensor(stream_, desc, frame.data(), null_view), UsageError);
  EXPECT_THROW(tensor_to_yuv(stream_, null_view, desc, frame.data()), UsageError);
  Stream taken = std::move(stream_);
  const TensorView view{tensor.data(), tensor_shape_of(desc), DType::f32};
  EXPECT_THROW(yuv_to_tensor(stream_, desc, frame.data(), view), UsageError);
  EXPECT_THROW(tensor_to_yuv(stream_, view, desc, frame.data()), UsageError);
  taken.synchronize();
}

}  // namespace
}  // namespace pyn::test
