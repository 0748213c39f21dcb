#pragma once
// What the GPU did and which CUDA calls the process made, recorded with CUPTI's activity API: every
// kernel, copy and fill with its stream and GPU times, every runtime and driver call with its
// thread, and every host-side wait on the GPU (stream, event or context synchronize). For checking
// what an engine puts on which stream, not for timing: tracing the calls slows them down.
//
// One recorder at a time per process (CUPTI's buffers are process-wide).

#include <cstdint>
#include <string>
#include <vector>

namespace pyn::bench {

// Times are CUPTI timestamps in ns (cupti_now()), GPU work and host calls alike.
struct GpuActivity {
  enum class Kind { kernel, memcpy, memset };
  Kind kind = Kind::kernel;
  std::uint32_t stream_id = 0;
  std::uint32_t correlation = 0;  // the call that launched it (ApiCall::correlation)
  std::uint64_t begin_ns = 0;
  std::uint64_t end_ns = 0;
  std::string name;  // kernel name (demangled), or "memcpy DtoD", "memset"
};

struct ApiCall {
  std::string name;  // e.g. "cudaLaunchKernel", "cuLaunchKernel"
  bool runtime = true;  // runtime API, else driver API
  std::uint32_t thread = 0;
  std::uint32_t correlation = 0;
  std::uint64_t begin_ns = 0;
  std::uint64_t end_ns = 0;
};

// A host thread waiting for the GPU. CUPTI also files a query that found its event complete
// (cudaEventQuery) as an event synchronize: tell them apart by the call's name.
struct SyncWait {
  std::string what;  // "stream synchronize", "event synchronize", "context synchronize", "stream wait event"
  std::uint32_t stream_id = 0;  // where it applies (else 0xffffffff)
  std::uint32_t correlation = 0;  // the call that waited (ApiCall::correlation)
  std::uint64_t begin_ns = 0;
  std::uint64_t end_ns = 0;
};

struct Activity {
  std::vector<GpuActivity> gpu;
  std::vector<ApiCall> calls;
  std::vector<SyncWait> waits;
};

[[nodiscard]] std::uint64_t cupti_now();

// CUPTI's id of `stream` (a cudaStream_t; nullptr is the legacy default stream) in the calling
// thread's current context.
[[nodiscard]] std::uint32_t cupti_stream_id(void* stream, bool per_thread_default = false);

class ActivityRecorder {
 public:
  ActivityRecorder();  // starts recording; throws std::runtime_error where CUPTI cannot
  ActivityRecorder(const ActivityRecorder&) = delete;
  ActivityRecorder& operator=(const ActivityRecorder&) = delete;
  ~ActivityRecorder();
  // Stops recording and returns everything recorded; call after the GPU work is done.
  [[nodiscard]] Activity finish();

 private:
  bool finished_ = false;
};

}  // namespace pyn::bench
