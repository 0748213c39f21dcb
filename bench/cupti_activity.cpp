// CUPTI's activity API behind ActivityRecorder: CUPTI asks for buffers, fills them with records
// on its own thread, and hands them back; the records are copied out as they arrive.

#include "cupti_activity.hpp"

#include <cuda.h>
#include <cupti.h>
#include <cxxabi.h>

#include <array>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

namespace pyn::bench {

namespace {

constexpr std::size_t kBufferBytes = std::size_t{8} << 20;
constexpr std::size_t kAlign = 8;

void check(CUptiResult result, const char* what) {
  if (result != CUPTI_SUCCESS) {
    const char* text = nullptr;
    cuptiGetResultString(result, &text);
    throw std::runtime_error(std::string(what) + ": " + (text != nullptr ? text : "CUPTI error"));
  }
}

// Written by CUPTI's callbacks, read by finish().
std::mutex records_mutex;
Activity records;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables): CUPTI's C callbacks

std::string demangle(const char* name) {
  if (name == nullptr) {
    return "?";
  }
  int status = 0;
  const std::unique_ptr<char, void (*)(void*)> text(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                                    std::free);
  return status == 0 && text ? std::string(text.get()) : std::string(name);
}

std::string call_name(CUpti_CallbackDomain domain, CUpti_CallbackId id) {
  const char* name = nullptr;
  if (cuptiGetCallbackName(domain, id, &name) == CUPTI_SUCCESS && name != nullptr) {
    return name;
  }
  return "call " + std::to_string(id);
}

std::string memcpy_name(std::uint8_t kind) {
  switch (kind) {
    case CUPTI_ACTIVITY_MEMCPY_KIND_HTOD:
      return "memcpy HtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOH:
      return "memcpy DtoH";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOD:
      return "memcpy DtoD";
    default:
      return "memcpy";
  }
}

std::string sync_name(CUpti_ActivitySynchronizationType type) {
  switch (type) {
    case CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_EVENT_SYNCHRONIZE:
      return "event synchronize";
    case CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_WAIT_EVENT:
      return "stream wait event";
    case CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_SYNCHRONIZE:
      return "stream synchronize";
    case CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_CONTEXT_SYNCHRONIZE:
      return "context synchronize";
    default:
      return "synchronization";
  }
}

void take(const CUpti_Activity* record, Activity& into) {
  switch (record->kind) {
    case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL:
    case CUPTI_ACTIVITY_KIND_KERNEL: {
      const auto* k = reinterpret_cast<const CUpti_ActivityKernel10*>(record);
      into.gpu.push_back({GpuActivity::Kind::kernel, k->streamId, k->correlationId, k->start, k->end,
                          demangle(k->name)});
      break;
    }
    case CUPTI_ACTIVITY_KIND_MEMCPY: {
      const auto* m = reinterpret_cast<const CUpti_ActivityMemcpy6*>(record);
      into.gpu.push_back({GpuActivity::Kind::memcpy, m->streamId, m->correlationId, m->start, m->end,
                          memcpy_name(m->copyKind)});
      break;
    }
    case CUPTI_ACTIVITY_KIND_MEMSET: {
      const auto* m = reinterpret_cast<const CUpti_ActivityMemset4*>(record);
      into.gpu.push_back(
          {GpuActivity::Kind::memset, m->streamId, m->correlationId, m->start, m->end, "memset"});
      break;
    }
    case CUPTI_ACTIVITY_KIND_RUNTIME:
    case CUPTI_ACTIVITY_KIND_DRIVER: {
      const auto* a = reinterpret_cast<const CUpti_ActivityAPI*>(record);
      const bool runtime = record->kind == CUPTI_ACTIVITY_KIND_RUNTIME;
      into.calls.push_back({call_name(runtime ? CUPTI_CB_DOMAIN_RUNTIME_API : CUPTI_CB_DOMAIN_DRIVER_API, a->cbid),
                            runtime, a->threadId, a->correlationId, a->start, a->end});
      break;
    }
    case CUPTI_ACTIVITY_KIND_SYNCHRONIZATION: {
      const auto* s = reinterpret_cast<const CUpti_ActivitySynchronization2*>(record);
      into.waits.push_back({sync_name(s->type), s->streamId, s->correlationId, s->start, s->end});
      break;
    }
    default:
      break;
  }
}

void CUPTIAPI buffer_requested(std::uint8_t** buffer, std::size_t* size, std::size_t* max_records) {
  *buffer = static_cast<std::uint8_t*>(std::aligned_alloc(kAlign, kBufferBytes));
  *size = *buffer != nullptr ? kBufferBytes : 0;
  *max_records = 0;
}

void CUPTIAPI buffer_completed(CUcontext /*context*/, std::uint32_t /*stream*/, std::uint8_t* buffer,
                               std::size_t /*size*/, std::size_t valid) {
  {
    const std::lock_guard lock(records_mutex);
    CUpti_Activity* record = nullptr;
    while (cuptiActivityGetNextRecord(buffer, valid, &record) == CUPTI_SUCCESS) {
      take(record, records);
    }
  }
  std::free(buffer);
}

constexpr std::array kKinds{CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, CUPTI_ACTIVITY_KIND_MEMCPY,
                            CUPTI_ACTIVITY_KIND_MEMSET,            CUPTI_ACTIVITY_KIND_RUNTIME,
                            CUPTI_ACTIVITY_KIND_DRIVER,            CUPTI_ACTIVITY_KIND_SYNCHRONIZATION};

}  // namespace

std::uint64_t cupti_now() {
  std::uint64_t now = 0;
  check(cuptiGetTimestamp(&now), "cuptiGetTimestamp");
  return now;
}

std::uint32_t cupti_stream_id(void* stream, bool per_thread_default) {
  CUcontext context = nullptr;
  if (cuCtxGetCurrent(&context) != CUDA_SUCCESS || context == nullptr) {
    throw std::runtime_error("cupti_stream_id: this thread has no current CUDA context");
  }
  std::uint32_t id = 0;
  check(cuptiGetStreamIdEx(context, per_thread_default ? CU_STREAM_PER_THREAD : static_cast<CUstream>(stream),
                           per_thread_default ? 1 : 0, &id),
        "cuptiGetStreamIdEx");
  return id;
}

ActivityRecorder::ActivityRecorder() {
  {
    const std::lock_guard lock(records_mutex);
    records = {};
  }
  check(cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed), "cuptiActivityRegisterCallbacks");
  for (const CUpti_ActivityKind kind : kKinds) {
    check(cuptiActivityEnable(kind), "cuptiActivityEnable");
  }
}

ActivityRecorder::~ActivityRecorder() {
  if (!finished_) {
    for (const CUpti_ActivityKind kind : kKinds) {
      cuptiActivityDisable(kind);
    }
    cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  }
}

Activity ActivityRecorder::finish() {
  finished_ = true;
  for (const CUpti_ActivityKind kind : kKinds) {
    check(cuptiActivityDisable(kind), "cuptiActivityDisable");
  }
  check(cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED), "cuptiActivityFlushAll");
  const std::lock_guard lock(records_mutex);
  return std::move(records);
}

}  // namespace pyn::bench
