// The cuda backend on a real device: copies in every direction and host-memory kind, event
// timing, stream waits, CUDA graphs, and a clear error for a device index that does not exist.

#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "pynference/device/device.hpp"
#include "pynference/device/error.hpp"
#include "pynference/device/graph.hpp"

namespace pyn {
namespace {

class CudaDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Device::cuda_device_count() == 0) {
      GTEST_SKIP() << "no CUDA device";
    }
  }
};

TEST_F(CudaDevice, OpensAndDescribesItself) {
  const Device dev = Device::open(DeviceSpec::parse("cuda:0"));
  EXPECT_EQ(dev.backend(), Backend::cuda);
  EXPECT_FALSE(dev.info().name.empty());
  EXPECT_GT(dev.info().total_memory, 0U);
  EXPECT_GT(dev.info().multiprocessors, 0);
  EXPECT_GT(dev.used_on_device(), 0U);
}

// The current device is the caller's: what the library does on another device leaves it as it
// was. Needs two GPUs; with one, "another device" does not exist.
TEST_F(CudaDevice, LeavesTheCallersCurrentDeviceAlone) {
  if (Device::cuda_device_count() < 2) {
    GTEST_SKIP() << "needs two CUDA devices";
  }
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  const Device second = Device::open(DeviceSpec::parse("cuda:1"));
  auto current = [] {
    int device = -1;
    EXPECT_EQ(cudaGetDevice(&device), cudaSuccess);
    return device;
  };
  EXPECT_EQ(current(), 0) << "open";
  {
    Stream stream = second.make_stream();
    Event event = second.make_event(false);
    DeviceBuffer buffer = second.alloc(1024);
    event.record(stream);
    event.synchronize();
    second.synchronize();
    (void)second.used_on_device();
    EXPECT_EQ(current(), 0) << "streams, events, buffers";
    {
      const DeviceGuard guard(second);
      EXPECT_EQ(current(), 1) << "inside a guard";
    }
    EXPECT_EQ(current(), 0) << "after a guard";
  }
  EXPECT_EQ(current(), 0) << "after freeing";
}

TEST_F(CudaDevice, RoundTripThroughEveryHostMemoryKind) {
  const Device dev = Device::open(DeviceSpec::parse("cuda:0"));
  Stream stream = dev.make_stream();
  std::mt19937 rng(std::random_device{}());
  constexpr std::size_t bytes = (8U << 20U) + 13U;
  for (HostMemory kind :
       {HostMemory::pageable, HostMemory::pinned, HostMemory::pinned_write_combined}) {
    HostBuffer in = dev.alloc_host(bytes, kind);
    HostBuffer out = dev.alloc_host(bytes, HostMemory::pinned);
    std::vector<unsigned char> expected(bytes);
    for (auto& v : expected) {
      v = static_cast<unsigned char>(rng());
    }
    std::memcpy(in.data(), expected.data(), bytes);
    std::memset(out.data(), 0xA5, bytes);
    DeviceBuffer a = dev.alloc(bytes);
    DeviceBuffer b = dev.alloc(bytes);
    stream.copy_async(a.data(), in.data(), bytes);
    stream.copy_async(b.data(), a.data(), bytes);
    stream.copy_async(out.data(), b.data(), bytes);
    stream.synchronize();
    EXPECT_EQ(std::memcmp(out.data(), expected.data(), bytes), 0) << to_string(kind);
  }
}

TEST_F(CudaDevice, EventsOrderStreamsAndTime) {
  const Device dev = Device::open(DeviceSpec::parse("cuda:0"));
  Stream first = dev.make_stream();
  Stream second = dev.make_stream();
  Event start = dev.make_event();
  Event copied = dev.make_event();
  constexpr std::size_t bytes = 64U << 20U;
  HostBuffer host = dev.alloc_host(bytes, HostMemory::pinned);
  HostBuffer back = dev.alloc_host(bytes, HostMemory::pinned);
  std::memset(host.data(), 0x5C, bytes);
  std::memset(back.data(), 0, bytes);
  DeviceBuffer d = dev.alloc(bytes);
  start.record(first);
  first.copy_async(d.data(), host.data(), bytes);
  copied.record(first);
  second.wait(copied);
  second.copy_async(back.data(), d.data(), bytes);
  second.synchronize();
  EXPECT_EQ(static_cast<unsigned char*>(back.data())[bytes - 1], 0x5C);
  EXPECT_GT(Event::elapsed_ms(start, copied), 0.0F);
  const MemoryStats mem = dev.memory();
  EXPECT_GE(mem.peak, bytes);
}

TEST_F(CudaDevice, GraphReplaysItsCopiesOnAnyStream) {
  const Device dev = Device::open(DeviceSpec::parse("cuda:0"));
  Stream capturing = dev.make_stream();
  Stream other = dev.make_stream();
  constexpr std::size_t bytes = (1U << 20U) + 7U;
  HostBuffer in = dev.alloc_host(bytes, HostMemory::pinned);
  HostBuffer out = dev.alloc_host(bytes, HostMemory::pinned);
  DeviceBuffer a = dev.alloc(bytes);
  DeviceBuffer b = dev.alloc(bytes);
  std::memset(in.data(), 0x11, bytes);
  std::memset(out.data(), 0, bytes);
  Graph graph = capture_graph(capturing, [&] {
    capturing.copy_async(a.data(), in.data(), bytes);
    capturing.copy_async(b.data(), a.data(), bytes);
    capturing.copy_async(out.data(), b.data(), bytes);
  });
  ASSERT_TRUE(graph);
  capturing.synchronize();
  EXPECT_EQ(static_cast<unsigned char*>(out.data())[bytes - 1], 0) << "nothing runs at capture";

  // Each launch reads the buffers as they are then.
  std::mt19937 rng(std::random_device{}());
  for (Stream* stream : {&capturing, &other, &other}) {
    std::vector<unsigned char> expected(bytes);
    for (auto& v : expected) {
      v = static_cast<unsigned char>(rng());
    }
    std::memcpy(in.data(), expected.data(), bytes);
    graph.launch(*stream);
    stream->synchronize();
    EXPECT_EQ(std::memcmp(out.data(), expected.data(), bytes), 0);
  }
  Graph moved = std::move(graph);
  EXPECT_TRUE(moved);
  EXPECT_FALSE(graph);  // NOLINT(bugprone-use-after-move): moved-from state is defined
  EXPECT_THROW(graph.launch(other), Error);  // NOLINT(bugprone-use-after-move)
}

TEST_F(CudaDevice, AFailedCaptureLeavesTheStreamUsable) {
  const Device dev = Device::open(DeviceSpec::parse("cuda:0"));
  Stream stream = dev.make_stream();
  DeviceBuffer a = dev.alloc(256);
  DeviceBuffer b = dev.alloc(256);
  EXPECT_THROW((void)capture_graph(stream,
                                   [&] {
                                     stream.copy_async(b.data(), a.data(), 256);
                                     throw std::runtime_error("enqueue failed");
                                   }),
               std::runtime_error);
  // A synchronising call inside the capture breaks it: an error, not a hang or a bad graph.
  EXPECT_THROW((void)capture_graph(stream, [&] { stream.synchronize(); }), DeviceError);
  std::vector<unsigned char> expected(256, 0x3C);
  std::vector<unsigned char> back(256, 0);
  stream.copy_async(a.data(), expected.data(), 256);
  stream.copy_async(back.data(), a.data(), 256);
  stream.synchronize();
  EXPECT_EQ(back, expected);
}

}  // namespace
}  // namespace pyn
