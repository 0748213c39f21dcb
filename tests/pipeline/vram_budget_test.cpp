// choose_for_vram: tiles and slots under a budget, from three probes of the footprint, against a
// fake GPU whose memory is known (the host backend has none to show), and once end to end through
// real Processors on the host backend.

#include "pynference/pipeline/vram_budget.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "run_helpers.hpp"

namespace pyn {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

// A GPU whose Processors take fixed + per_pixel x (N x H x W) + per_slot x slots, plus `extra`
// beyond `extra_from` pixels (what a linear model would miss).
class FakeProbe final : public FootprintProbe {
 public:
  double fixed = 1000 * kMiB;
  double per_pixel = 64 * 1024;
  double per_slot = 10 * kMiB;
  double extra = 0;
  double extra_from = 0;
  std::vector<std::pair<double, int>> calls;  // pixels, slots

  std::size_t measure(const std::optional<ComputePlan>& plan, int slots) override {
    const TensorShape t = plan ? plan->input : TensorShape{1, 3, 1080, 1920};
    const double pixels = static_cast<double>(t.n) * t.h * t.w;
    calls.emplace_back(pixels, slots);
    return static_cast<std::size_t>(fixed + per_pixel * pixels + per_slot * slots +
                                    (pixels > extra_from ? extra : 0.0));
  }
};

const FrameFormat k1080p = ImageDesc{1920, 1080, PixelType::u8, ChannelOrder::rgb};

VramRequest request(double mib) {
  VramRequest r;
  r.max_vram = static_cast<std::size_t>(mib * kMiB);
  r.slots = 6;
  r.min_slots = 2;
  r.tiles.overlap = 16;
  r.scale = 4;
  return r;
}

TEST(VramBudget, WholeFramesWhereTheyFit) {
  FakeProbe probe;
  const VramChoice choice = choose_for_vram(k1080p, request(200'000), probe);
  EXPECT_FALSE(choice.plan);
  EXPECT_EQ(choice.slots, 6);
  EXPECT_LE(choice.measured, request(200'000).max_vram);
  // The model found the fake's coefficients.
  EXPECT_NEAR(choice.footprint.fixed, probe.fixed, 1.0);
  EXPECT_NEAR(choice.footprint.per_pixel, probe.per_pixel, 1e-3);
  EXPECT_NEAR(choice.footprint.per_slot, probe.per_slot, 1.0);
}

TEST(VramBudget, TheLargestTilesUnderTheBudget) {
  // 95% of 2000 MiB, less 1000 fixed and 6 x 10 for slots, leaves 840 MiB: 13440 pixels at 64 KiB,
  // a side of 115.9, so 112 (sides are multiples of 16).
  FakeProbe probe;
  const VramChoice choice = choose_for_vram(k1080p, request(2000), probe);
  ASSERT_TRUE(choice.plan);
  EXPECT_EQ(choice.plan->input, (TensorShape{1, 3, 112, 112}));
  EXPECT_EQ(choice.slots, 6);
  EXPECT_EQ(choice.plan->output_width, 1920 * 4);
  EXPECT_LE(choice.measured, request(2000).max_vram);
  // Probed small before large, then the choice itself.
  ASSERT_EQ(probe.calls.size(), 4U);
  EXPECT_LT(probe.calls[0].first, probe.calls[2].first);
  EXPECT_EQ(probe.calls[1].second, probe.calls[0].second + 1);
  EXPECT_EQ(probe.calls[3], std::make_pair(112.0 * 112.0, 6));
}

TEST(VramBudget, TilesPerInferenceCountInTheFootprint) {
  FakeProbe probe;
  VramRequest r = request(2000);
  r.tiles.batch = 4;  // 13440 pixels over 4 tiles: a side of 57.9, so 48
  const VramChoice choice = choose_for_vram(k1080p, r, probe);
  ASSERT_TRUE(choice.plan);
  EXPECT_EQ(choice.plan->input, (TensorShape{4, 3, 48, 48}));
}

TEST(VramBudget, AimsLowerWhereTheMeasureExceedsTheModel) {
  FakeProbe probe;
  probe.extra = 300 * kMiB;  // unseen by the small probes
  probe.extra_from = 80 * 80;
  const VramChoice choice = choose_for_vram(k1080p, request(2000), probe);
  ASSERT_TRUE(choice.plan);
  EXPECT_LT(choice.plan->input.w, 112);
  EXPECT_LE(choice.measured, request(2000).max_vram);
}

TEST(VramBudget, AWholeFrameFarOverTheModelGivesTilesNotARefusal) {
  // As ESRGAN-x4 on an H200: the probes' tiles show no per-pixel part (a caching allocator's
  // blocks are larger than their activations), so whole frames seem to fit an 8 GiB budget and
  // measure 15 GiB. That measure sets the per-pixel part, and tiles under the budget follow.
  class QuantisedProbe final : public FootprintProbe {
   public:
    std::size_t measure(const std::optional<ComputePlan>& plan, int slots) override {
      const TensorShape t = plan ? plan->input : TensorShape{1, 3, 1080, 1920};
      const double pixels = static_cast<double>(t.n) * t.h * t.w;
      ++calls;
      return static_cast<std::size_t>(780 * kMiB + 50 * kMiB * slots +
                                      7000.0 * std::max(0.0, pixels - 70'000.0));
    }
    int calls = 0;
  };
  QuantisedProbe probe;
  VramRequest r = request(8192);
  const VramChoice choice = choose_for_vram(k1080p, r, probe);
  ASSERT_TRUE(choice.plan);
  EXPECT_LE(choice.measured, r.max_vram);
  EXPECT_EQ(choice.slots, 6);
  // Not the smallest tiles: about a quarter of the frame or more each.
  EXPECT_GE(choice.plan->input.w * choice.plan->input.h, 1920 * 1080 / 5) << describe(*choice.plan);
  EXPECT_LE(probe.calls, 3 + 4);
}

TEST(VramBudget, FewerSlotsBeforeRefusing) {
  FakeProbe probe;
  probe.per_slot = 100 * kMiB;
  // 95% of 1500 MiB less 1000 fixed: 425 MiB; the smallest tiles (48x48 for an overlap of 16)
  // take 144 MiB, which leaves room for 2 slots, not 3; 2 slots leave 225 MiB: 3600 pixels, a side
  // of 60, so 48.
  const VramChoice choice = choose_for_vram(k1080p, request(1500), probe);
  ASSERT_TRUE(choice.plan);
  EXPECT_EQ(choice.slots, 2);
  EXPECT_EQ(choice.plan->input, (TensorShape{1, 3, 48, 48}));
  EXPECT_LE(choice.measured, request(1500).max_vram);
}

TEST(VramBudget, RefusesInOneLineWhereNothingFits) {
  // The smallest tiles with the fewest slots: 1000 + 144 + 2 x 10 MiB = 1.14 GiB.
  FakeProbe probe;
  try {
    (void)choose_for_vram(k1080p, request(1000), probe);
    ADD_FAILURE() << "accepted";
  } catch (const UsageError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    EXPECT_NE(what.find("max_vram 1000.0 MiB is under the 1.14 GiB that tiles of 48x48"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("fixed part 1000.0 MiB"), std::string::npos) << what;
  }
}

TEST(VramBudget, RealProcessorsOnTheHostBackend) {
  const Device device = Device::open(DeviceSpec::parse("cpu"));
  SyntheticEngine engine(device, {0.0, 2, DType::f32});
  const FrameFormat format = ImageDesc{320, 200, PixelType::u8, ChannelOrder::rgb};
  ProcessorOptions options;
  ProcessorProbe probe(device, engine, format, options);
  const std::size_t whole = probe.measure(std::nullopt, 2);
  ASSERT_GT(whole, 0U);
  // A budget a little under whole frames' forces tiles; each tile tensor is smaller.
  VramRequest r;
  r.max_vram = whole - 1000;
  r.slots = 2;
  r.min_slots = 2;
  r.tiles.overlap = 8;
  r.scale = 2;
  const VramChoice choice = choose_for_vram(format, r, probe);
  ASSERT_TRUE(choice.plan);
  EXPECT_LT(choice.plan->input.w * choice.plan->input.h, 320 * 200);
  EXPECT_LE(choice.measured, r.max_vram);
  EXPECT_NO_THROW(check_plan(*choice.plan, format));
}

// The synthetic engine, counting the times it is asked to give its cache back.
class ReleaseCounting final : public Engine {
 public:
  explicit ReleaseCounting(const Device& device) : inner_(device, {0.0, 2, DType::f32}) {}
  [[nodiscard]] std::string name() const override { return inner_.name(); }
  [[nodiscard]] DType dtype() const override { return inner_.dtype(); }
  [[nodiscard]] TensorShape output_shape(const TensorShape& input) const override {
    return inner_.output_shape(input);
  }
  void prepare(Stream& stream, const TensorShape& input) override {
    prepared_since_release = true;
    inner_.prepare(stream, input);
  }
  void run(Stream& stream, const TensorView& in, const TensorView& out) override {
    inner_.run(stream, in, out);
  }
  void release_cached_memory() override {
    ++releases;
    prepared_since_release = false;
  }
  int releases = 0;
  bool prepared_since_release = false;

 private:
  SyntheticEngine inner_;
};

TEST(VramBudget, EachProbeGivesTheEnginesCacheBackBeforeAndAfter) {
  // What a probe's Processor left cached would count in the next probe's figure and stay beside
  // the run's own memory.
  const Device device = Device::open(DeviceSpec::parse("cpu"));
  ReleaseCounting engine(device);
  const FrameFormat format = ImageDesc{64, 48, PixelType::u8, ChannelOrder::rgb};
  ProcessorProbe probe(device, engine, format, ProcessorOptions{});
  (void)probe.measure(std::nullopt, 2);
  EXPECT_EQ(engine.releases, 2);
  EXPECT_FALSE(engine.prepared_since_release);
  VramRequest r;
  r.max_vram = std::size_t{1} << 40;
  r.slots = 2;
  r.min_slots = 2;
  r.tiles.overlap = 4;
  r.scale = 2;
  (void)choose_for_vram(format, r, probe);
  EXPECT_EQ(engine.releases, 2 + 2 * 4);  // three probes of the footprint and the choice's
  EXPECT_FALSE(engine.prepared_since_release);
}

}  // namespace
}  // namespace pyn
