// tile_plan: plans that cover the output once, with every kept pixel far enough from a cut edge,
// refusals in one line; and the CPU reference of stitching: a convolutional network (the test's
// ConvEngine) tiled gives the bytes it gives over whole frames, under every schedule, for odd
// sizes, tiles that do not divide the frame, one or several tiles per inference, while an overlap
// short of its receptive field does not.

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <utility>
#include <string>
#include <vector>

#include "conv_engine.hpp"
#include "pynference/pipeline/compute_plan.hpp"
#include "run_helpers.hpp"

namespace pyn {
namespace {

using namespace std::chrono_literals;

Device host() { return Device::open(DeviceSpec::parse("cpu")); }

const FrameFormat kRgb = ImageDesc{37, 29, PixelType::u8, ChannelOrder::rgb};

// Every output pixel written by exactly one job, and every kept input pixel at least `margin`
// pixels from its region's edges wherever that edge is not the frame's.
void expect_covers_once(const ComputePlan& plan, const FrameFormat& input, int scale, int margin) {
  ASSERT_NO_THROW(check_plan(plan, input));
  const int width = width_of(input);
  const int height = height_of(input);
  ASSERT_EQ(plan.output_width, width * scale);
  ASSERT_EQ(plan.output_height, height * scale);
  std::vector<int> written(static_cast<std::size_t>(plan.output_width * plan.output_height), 0);
  for (const ComputeStep& step : plan.steps) {
    for (const ComputeJob& job : step.jobs) {
      const Rect& r = job.region;
      const Rect& c = job.crop;
      ASSERT_FALSE(c.empty());
      ASSERT_LE(c.x + c.width, r.width * scale);
      ASSERT_LE(c.y + c.height, r.height * scale);
      for (int y = 0; y < c.height; ++y) {
        for (int x = 0; x < c.width; ++x) {
          ++written[static_cast<std::size_t>((job.y + y) * plan.output_width + job.x + x)];
        }
      }
      // The crop is the input's kept part, scaled: where it lands is where it came from.
      EXPECT_EQ(job.x, (r.x * scale) + c.x);
      EXPECT_EQ(job.y, (r.y * scale) + c.y);
      const int keep_left = c.x / scale;
      const int keep_top = c.y / scale;
      const int keep_right = r.width - (c.x + c.width) / scale;
      const int keep_bottom = r.height - (c.y + c.height) / scale;
      if (r.x > 0) {
        EXPECT_GE(keep_left, margin) << to_string(r);
      }
      if (r.y > 0) {
        EXPECT_GE(keep_top, margin) << to_string(r);
      }
      if (r.x + r.width < width) {
        EXPECT_GE(keep_right, margin) << to_string(r);
      }
      if (r.y + r.height < height) {
        EXPECT_GE(keep_bottom, margin) << to_string(r);
      }
    }
  }
  EXPECT_TRUE(std::all_of(written.begin(), written.end(), [](int n) { return n == 1; }))
      << "some output pixels written " << *std::max_element(written.begin(), written.end())
      << " times, some " << *std::min_element(written.begin(), written.end());
}

TEST(TilePlan, CoversTheOutputOnceAndKeepsHalfTheOverlap) {
  const FrameFormat formats[] = {
      kRgb,
      ImageDesc{64, 48, PixelType::u16, ChannelOrder::bgr},
      YuvDesc{40, 26, ChromaLayout::yuv420, 8, ColorMatrix::bt709, ColorRange::limited},
      YuvDesc{27, 19, ChromaLayout::yuv444, 10, ColorMatrix::bt2020, ColorRange::full},
  };
  for (const FrameFormat& format : formats) {
    for (const TileOptions tiles : {TileOptions{16, 12, 4, 1, 1}, TileOptions{10, 10, 6, 3, 1},
                                    TileOptions{9, 7, 2, 2, 4}, TileOptions{13, 11, 0, 1, 1}}) {
      for (const int scale : {1, 3}) {
        SCOPED_TRACE(to_string(format) + " tile " + std::to_string(tiles.width) + "x" +
                     std::to_string(tiles.height) + " overlap " + std::to_string(tiles.overlap) +
                     " scale " + std::to_string(scale));
        const ComputePlan plan = tile_plan(format, tiles, scale);
        expect_covers_once(plan, format, scale, tiles.overlap / 2 - 1);
        EXPECT_GT(plan.jobs(), 2U);
        // Tiles of the multiple (or the frame's side), the steps full but the last.
        EXPECT_TRUE(plan.input.w % tiles.multiple == 0 || plan.input.w == width_of(format));
        EXPECT_TRUE(plan.input.h % tiles.multiple == 0 || plan.input.h == height_of(format));
        EXPECT_EQ(plan.input.n, tiles.batch);
        for (std::size_t s = 0; s + 1 < plan.steps.size(); ++s) {
          EXPECT_EQ(plan.steps[s].jobs.size(), static_cast<std::size_t>(tiles.batch));
        }
        if (std::holds_alternative<YuvDesc>(format) &&
            std::get<YuvDesc>(format).chroma == ChromaLayout::yuv420) {
          for (const ComputeStep& step : plan.steps) {
            for (const ComputeJob& job : step.jobs) {
              EXPECT_EQ(job.region.x % 2, 0);
              EXPECT_EQ(job.region.y % 2, 0);
            }
          }
        }
      }
    }
  }
}

TEST(TilePlan, ARowWorkedByHand) {
  // 40 pixels in tiles of 16 sharing 4: starts 0, 12 and 24 (the last moved inward from 36 to end
  // at 40); neighbours meet in the middle of [12, 16) and [24, 28).
  const FrameFormat row = ImageDesc{40, 16, PixelType::u8, ChannelOrder::rgb};
  const ComputePlan plan = tile_plan(row, TileOptions{16, 16, 4, 2, 1}, 2);
  ASSERT_EQ(plan.steps.size(), 2U);
  EXPECT_EQ(plan.input, (TensorShape{2, 3, 16, 16}));
  ASSERT_EQ(plan.steps[0].jobs.size(), 2U);
  ASSERT_EQ(plan.steps[1].jobs.size(), 1U);
  const ComputeJob& a = plan.steps[0].jobs[0];
  const ComputeJob& b = plan.steps[0].jobs[1];
  const ComputeJob& c = plan.steps[1].jobs[0];
  EXPECT_EQ(a.region, (Rect{0, 0, 16, 16}));
  EXPECT_EQ(b.region, (Rect{12, 0, 16, 16}));
  EXPECT_EQ(c.region, (Rect{24, 0, 16, 16}));
  EXPECT_EQ(a.crop, (Rect{0, 0, 28, 32}));
  EXPECT_EQ(b.crop, (Rect{4, 0, 24, 32}));
  EXPECT_EQ(c.crop, (Rect{4, 0, 28, 32}));
  EXPECT_EQ(b.slice, 1);
  EXPECT_EQ(c.slice, 0);
  EXPECT_EQ(b.x, 28);
  EXPECT_EQ(c.x, 52);
}

TEST(TilePlan, AFrameSmallerThanATileIsOneTileOfItsSize) {
  const ComputePlan plan = tile_plan(kRgb, TileOptions{64, 64, 16, 4, 8}, 2);
  ASSERT_EQ(plan.jobs(), 1U);
  EXPECT_EQ(plan.input, (TensorShape{1, 3, 29, 37}));
  EXPECT_EQ(plan.steps[0].jobs[0].region, (Rect{0, 0, 37, 29}));
  EXPECT_EQ(describe(plan), "whole frames");
  // Smaller along one side only: one row of tiles, each the frame's height.
  const ComputePlan row = tile_plan(kRgb, TileOptions{16, 40, 4, 1, 1}, 1);
  EXPECT_EQ(row.input.h, 29);
  EXPECT_EQ(row.jobs(), 3U);
  EXPECT_EQ(describe(row), "3 tiles of 16x29, 1 per inference");
}

// Tiles of a plan along x and y: the distinct region starts.
std::pair<std::size_t, std::size_t> grid_of(const ComputePlan& plan) {
  std::vector<int> xs;
  std::vector<int> ys;
  for (const ComputeStep& step : plan.steps) {
    for (const ComputeJob& job : step.jobs) {
      xs.push_back(job.region.x);
      ys.push_back(job.region.y);
    }
  }
  std::ranges::sort(xs);
  std::ranges::sort(ys);
  return {static_cast<std::size_t>(std::unique(xs.begin(), xs.end()) - xs.begin()),
          static_cast<std::size_t>(std::unique(ys.begin(), ys.end()) - ys.begin())};
}

TEST(TilePlan, BalancedTilesKeepTheCountWithLessOverlap) {
  // Worked by hand: 1920 in tiles of 800 advancing by 784 is 3 columns; 656 is the smallest
  // multiple of 16 still giving 3 (2 x 640 + 656 >= 1920), 640 gives 4. 1080: 2 rows down to 560.
  const FrameFormat hd = YuvDesc{1920, 1080, ChromaLayout::yuv420, 8, ColorMatrix::bt709,
                                 ColorRange::limited};
  const TileOptions balanced = balanced_tiles(hd, TileOptions{800, 800, 16, 1, 1}, 16);
  EXPECT_EQ(balanced.width, 656);
  EXPECT_EQ(balanced.height, 560);
  EXPECT_EQ(balanced.overlap, 16);
  EXPECT_EQ(grid_of(tile_plan(hd, balanced, 4)), (std::pair<std::size_t, std::size_t>{3, 2}));
  expect_covers_once(tile_plan(hd, balanced, 4), hd, 4, 8);
  // A side as large as the frame's is the frame's.
  EXPECT_EQ(balanced_tiles(hd, TileOptions{2000, 1200, 16, 1, 1}, 16).width, 1920);
  EXPECT_EQ(balanced_tiles(hd, TileOptions{2000, 1200, 16, 1, 1}, 16).height, 1080);

  // On random frames and tiles: the same grid as the tiles asked for, no larger, sides smaller by
  // whole steps (the unit, the network's multiple, even for 4:2:0), and one step less gives more
  // tiles along that side.
  std::mt19937 rng(2026);
  for (int i = 0; i < 300; ++i) {
    const int width = std::uniform_int_distribution(40, 700)(rng) * 2;
    const int height = std::uniform_int_distribution(40, 500)(rng) * 2;
    const int overlap = std::uniform_int_distribution(0, 24)(rng);
    const int unit = i % 3 == 0 ? 1 : 16;
    const int multiple = i % 4 == 0 ? 8 : 1;
    const int side = std::uniform_int_distribution(2 * overlap + 32, 900)(rng);
    const FrameFormat format =
        i % 2 == 0 ? FrameFormat{ImageDesc{width - 1, height - 1, PixelType::u8, ChannelOrder::rgb}}
                   : FrameFormat{YuvDesc{width, height, ChromaLayout::yuv420, 8,
                                         ColorMatrix::bt709, ColorRange::limited}};
    const TileOptions asked{side, side, overlap, 1, multiple};
    const TileOptions got = balanced_tiles(format, asked, unit);
    const ComputePlan before = tile_plan(format, asked, 2);
    const ComputePlan after = tile_plan(format, got, 2);
    SCOPED_TRACE(to_string(format) + " tile " + std::to_string(side) + " overlap " +
                 std::to_string(overlap) + " unit " + std::to_string(unit) + " multiple " +
                 std::to_string(multiple));
    ASSERT_EQ(grid_of(after), grid_of(before));
    EXPECT_LE(after.input.w, before.input.w);
    EXPECT_LE(after.input.h, before.input.h);
    const int step = std::lcm(std::lcm(unit, multiple), i % 2 == 0 ? 1 : 2);
    for (const bool along_x : {true, false}) {
      const int length = along_x ? width_of(format) : height_of(format);
      const int got_side = along_x ? got.width : got.height;
      if (got_side >= length) {
        continue;  // one tile, the frame's size
      }
      const int asked_side = along_x ? before.input.w : before.input.h;
      EXPECT_EQ((asked_side - got_side) % step, 0) << (along_x ? "width " : "height ") << got_side;
      TileOptions smaller = got;
      (along_x ? smaller.width : smaller.height) -= step;
      if ((along_x ? smaller.width : smaller.height) > overlap) {
        const auto grid = grid_of(tile_plan(format, smaller, 2));
        EXPECT_GT(along_x ? grid.first : grid.second,
                  along_x ? grid_of(after).first : grid_of(after).second)
            << (along_x ? "width " : "height ") << got_side << " is not the smallest";
      }
    }
    expect_covers_once(after, format, 2, overlap / 2 - 1);
  }
}

TEST(TilePlan, RefusesWhatCannotTileInOneLine) {
  const FrameFormat odd420 =
      YuvDesc{25, 16, ChromaLayout::yuv420, 8, ColorMatrix::bt709, ColorRange::limited};
  const FrameFormat even420 = with_size(odd420, 24, 16);
  const auto refused = [](const FrameFormat& format, TileOptions tiles, int scale,
                          const std::string& says) {
    try {
      (void)tile_plan(format, tiles, scale);
      ADD_FAILURE() << "accepted; expected: " << says;
    } catch (const UsageError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(says), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  };
  refused(kRgb, {0, 8, 2, 1, 1}, 2, "TileOptions width 0 is not a size");
  refused(kRgb, {8, -3, 2, 1, 1}, 2, "TileOptions height -3 is not a size");
  refused(kRgb, {8, 8, -1, 1, 1}, 2, "TileOptions overlap -1 is negative");
  refused(kRgb, {16, 8, 8, 1, 1}, 2, "TileOptions overlap 8 is not less than the tile's 16x8");
  refused(kRgb, {8, 8, 2, 0, 1}, 2, "TileOptions batch 0 is not at least 1");
  refused(kRgb, {8, 8, 2, 1, 0}, 2, "TileOptions multiple 0 is not at least 1");
  refused(kRgb, {8, 8, 2, 1, 1}, 0, "tile_plan scale 0 is not at least 1");
  refused(odd420, {8, 8, 2, 1, 1}, 2, "cuts a 4:2:0 frame of odd width 25");
  refused(even420, {8, 8, 7, 1, 1}, 2, "TileOptions overlap 7 leaves no step");
  // One tile along the odd side is fine.
  EXPECT_EQ(tile_plan(odd420, {32, 8, 2, 1, 1}, 2).input.w, 25);
}

// The frames' hashes of a run of `frames` frames of `format` through a ConvEngine.
std::vector<std::uint64_t> conv_run(const FrameFormat& format, const test::ConvOptions& conv,
                                    Strategy strategy, std::optional<ComputePlan> plan,
                                    std::int64_t frames = 4) {
  const Device device = host();
  test::ConvEngine engine(conv);
  SyntheticSource source(format, frames);
  HashSink sink;
  PipelineOptions options = test::options_for(strategy);
  options.plan = std::move(plan);
  (void)test::within(120s, [&] { return run_pipeline(device, engine, source, sink, options); });
  EXPECT_EQ(sink.hashes().size(), static_cast<std::size_t>(frames));
  return sink.hashes();
}

TEST(Stitching, TiledEqualsWholeFramesUnderEverySchedule) {
  const test::ConvOptions conv{1, 2, 2, 1};
  const int overlap = 2 * (conv.r1 + conv.r2) + 2;
  const FrameFormat formats[] = {
      kRgb,
      ImageDesc{30, 23, PixelType::u16, ChannelOrder::bgr},
      YuvDesc{40, 26, ChromaLayout::yuv420, 8, ColorMatrix::bt709, ColorRange::limited},
      YuvDesc{27, 19, ChromaLayout::yuv444, 10, ColorMatrix::bt2020, ColorRange::full},
  };
  for (const FrameFormat& format : formats) {
    const auto whole = conv_run(format, conv, Strategy::serial_pageable, std::nullopt);
    for (const int batch : {1, 3}) {
      const ComputePlan plan = tile_plan(format, TileOptions{14, 12, overlap, batch, 1}, 2);
      ASSERT_GT(plan.jobs(), 3U);
      for (const Strategy strategy : kAllStrategies) {
        EXPECT_EQ(conv_run(format, conv, strategy, plan), whole)
            << to_string(format) << " batch " << batch << " " << to_string(strategy);
      }
    }
  }
}

TEST(Stitching, OneToOneYuvKeepsChromaBlocksWhole) {
  // Scale 1 into 4:2:0: cuts fall on even output pixels, so no chroma block mixes two tiles.
  const test::ConvOptions conv{2, 1, 1, 1};
  const FrameFormat yuv =
      YuvDesc{44, 30, ChromaLayout::yuv420, 8, ColorMatrix::bt709, ColorRange::limited};
  const auto whole = conv_run(yuv, conv, Strategy::serial_pageable, std::nullopt);
  const ComputePlan plan = tile_plan(yuv, TileOptions{15, 13, 8, 2, 1}, 1);
  EXPECT_EQ(conv_run(yuv, conv, Strategy::split_streams, plan), whole);
}

TEST(Stitching, ANetworkThatNeedsMultiplesGetsTilesRoundedUp) {
  const test::ConvOptions free{1, 1, 2, 1};
  test::ConvOptions eights = free;
  eights.multiple = 8;
  const auto whole = conv_run(kRgb, free, Strategy::serial_pageable, std::nullopt);
  const ComputePlan plan = tile_plan(kRgb, TileOptions{10, 10, 6, 2, 8}, 2);
  EXPECT_EQ(plan.input.w, 16);
  EXPECT_EQ(plan.input.h, 16);
  EXPECT_EQ(conv_run(kRgb, eights, Strategy::multi_compute, plan), whole);
}

TEST(Stitching, AnOverlapShortOfTheReceptiveFieldShows) {
  // The reference can fail: with too little overlap the seams differ from the whole frame.
  const test::ConvOptions conv{1, 2, 2, 1};
  const auto whole = conv_run(kRgb, conv, Strategy::serial_pageable, std::nullopt, 1);
  const ComputePlan plan = tile_plan(kRgb, TileOptions{14, 12, 2, 1, 1}, 2);
  EXPECT_NE(conv_run(kRgb, conv, Strategy::serial_pageable, plan, 1), whole);
}

}  // namespace
}  // namespace pyn
