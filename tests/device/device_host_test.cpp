// The host backend must keep the CUDA semantics the pipeline relies on.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <numeric>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "pynference/device/device.hpp"
#include "pynference/device/error.hpp"
#include "pynference/device/graph.hpp"

namespace pyn {
namespace {

Device host() { return Device::open(DeviceSpec::parse("cpu")); }

TEST(DeviceSpec, ParsesNames) {
  EXPECT_EQ(DeviceSpec::parse("cpu").backend, Backend::host);
  EXPECT_EQ(DeviceSpec::parse("cuda").index, 0);
  EXPECT_EQ(DeviceSpec::parse("cuda:3").index, 3);
  EXPECT_EQ(DeviceSpec::parse("cuda:3").str(), "cuda:3");
  for (const char* bad : {"", "gpu", "cuda:", "cuda:-1", "cuda:1x", "cuda:x"}) {
    EXPECT_THROW(DeviceSpec::parse(bad), UsageError) << bad;
  }
}

TEST(Device, MissingCudaDeviceIsOneClearError) {
  const int count = Device::cuda_device_count();
  try {
    (void)Device::open(DeviceSpec{Backend::cuda, count});
    FAIL() << "opening cuda:" << count << " should fail";
  } catch (const DeviceUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA device"), std::string::npos) << e.what();
  }
}

TEST(HostBackend, CopiesRunInStreamOrder) {
  const Device dev = host();
  Stream stream = dev.make_stream();
  std::mt19937 rng(std::random_device{}());
  std::vector<unsigned char> a(1 << 16);
  for (auto& v : a) {
    v = static_cast<unsigned char>(rng());
  }
  DeviceBuffer d = dev.alloc(a.size());
  HostBuffer out = dev.alloc_host(a.size(), HostMemory::pinned);
  stream.copy_async(d.data(), a.data(), a.size());
  stream.copy_async(out.data(), d.data(), a.size());
  stream.synchronize();
  EXPECT_EQ(std::memcmp(out.data(), a.data(), a.size()), 0);
}

TEST(HostBackend, WaitBlocksUntilTheLatestRecordBeforeTheCall) {
  const Device dev = host();
  Stream producer = dev.make_stream();
  Stream consumer = dev.make_stream();
  Event ready = dev.make_event();
  std::atomic<int> value{0};
  producer.enqueue([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    value = 1;
  });
  ready.record(producer);
  consumer.wait(ready);
  int seen = -1;
  consumer.enqueue([&] { seen = value.load(); });
  // A record after the wait must not be what the consumer waits for.
  producer.enqueue([&] { std::this_thread::sleep_for(std::chrono::milliseconds(200)); });
  ready.record(producer);
  consumer.synchronize();
  EXPECT_EQ(seen, 1);
  producer.synchronize();
}

TEST(HostBackend, EventTimingMeasuresWork) {
  const Device dev = host();
  Stream stream = dev.make_stream();
  Event start = dev.make_event();
  Event end = dev.make_event();
  start.record(stream);
  stream.enqueue([] { std::this_thread::sleep_for(std::chrono::milliseconds(20)); });
  end.record(stream);
  end.synchronize();
  EXPECT_TRUE(end.ready());
  const float ms = Event::elapsed_ms(start, end);
  EXPECT_GE(ms, 19.0F);
  EXPECT_LT(ms, 2000.0F);
}

TEST(HostBackend, ErrorsAreStickyAndReachWaiters) {
  const Device dev = host();
  Stream first = dev.make_stream();
  Stream second = dev.make_stream();
  Event done = dev.make_event();
  first.enqueue([] { throw std::runtime_error("boom"); });
  bool ran_after_error = false;
  first.enqueue([&] { ran_after_error = true; });
  done.record(first);
  second.wait(done);
  EXPECT_THROW(first.synchronize(), std::runtime_error);
  EXPECT_THROW(done.synchronize(), std::runtime_error);
  EXPECT_THROW(second.synchronize(), std::runtime_error);
  EXPECT_FALSE(ran_after_error);
}

TEST(HostBackend, MemoryAccountingTracksPeak) {
  const Device dev = host();
  const MemoryStats before = dev.memory();
  {
    DeviceBuffer a = dev.alloc(1000);
    DeviceBuffer b = dev.alloc(3000);
    EXPECT_EQ(dev.memory().allocated, before.allocated + 4000);
  }
  EXPECT_EQ(dev.memory().allocated, before.allocated);
  EXPECT_GE(dev.memory().peak, before.allocated + 4000);
  dev.reset_peak();
  EXPECT_EQ(dev.memory().peak, dev.memory().allocated);
}

TEST(HostBackend, BuffersMoveWithoutDoubleFree) {
  const Device dev = host();
  DeviceBuffer a = dev.alloc(64);
  void* p = a.data();
  DeviceBuffer b = std::move(a);
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from state is defined
  HostBuffer h = dev.alloc_host(64, HostMemory::pageable);
  HostBuffer g;
  g = std::move(h);
  EXPECT_EQ(g.size(), 64U);
  EXPECT_EQ(h.size(), 0U);  // NOLINT(bugprone-use-after-move)
}

TEST(HostBackend, HasNoGraphs) {
  const Device dev = host();
  Stream stream = dev.make_stream();
  bool enqueued = false;
  try {
    (void)capture_graph(stream, [&] { enqueued = true; });
    FAIL() << "the host backend has no CUDA graphs";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "CUDA graphs need a CUDA device, not the host backend");
  }
  EXPECT_FALSE(enqueued);
  Graph empty;
  EXPECT_FALSE(empty);
  EXPECT_THROW(empty.launch(stream), UsageError);
}

}  // namespace
}  // namespace pyn
