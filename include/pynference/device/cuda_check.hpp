#pragma once
// Two check paths for CUDA runtime calls: PYN_CUDA_CHECK throws a DeviceError carrying the
// statement and file:line; PYN_CUDA_DTOR_CHECK is for destructors and never throws.

#include <cuda_runtime_api.h>

namespace pyn::detail {

[[noreturn]] void throw_cuda_error(cudaError_t code, const char* statement, const char* file,
                                   int line);
void report_cuda_dtor_error(cudaError_t code, const char* statement, const char* file,
                            int line) noexcept;

}  // namespace pyn::detail

#define PYN_CUDA_CHECK(call)                                                  \
  do {                                                                        \
    const cudaError_t pyn_status_ = (call);                                   \
    if (pyn_status_ != cudaSuccess) {                                         \
      ::pyn::detail::throw_cuda_error(pyn_status_, #call, __FILE__, __LINE__); \
    }                                                                         \
  } while (false)

// After a kernel launch: a bad configuration shows up here, not at the next sync.
#define PYN_CUDA_CHECK_LAUNCH() PYN_CUDA_CHECK(cudaGetLastError())

// In destructors the process may be tearing the runtime down already; that is not an error.
#define PYN_CUDA_DTOR_CHECK(call)                                                     \
  do {                                                                                \
    const cudaError_t pyn_status_ = (call);                                           \
    if (pyn_status_ != cudaSuccess && pyn_status_ != cudaErrorCudartUnloading) {      \
      ::pyn::detail::report_cuda_dtor_error(pyn_status_, #call, __FILE__, __LINE__);  \
    }                                                                                 \
  } while (false)
