// A build without CUTLASS's headers: no tensor-core convolutions. The native engine runs on the
// host backend only and refuses a GPU, saying why (native_engine_runs_on).

#include "conv3x3.hpp"

namespace pyn::native {

bool conv3x3_sm90_built() { return false; }

bool conv3x3_sm90_supports(int /*cin*/, int /*cout*/, std::string* why) {
  if (why != nullptr) {
    *why = "this build has no native convolution kernels";
  }
  return false;
}

std::size_t conv3x3_sm90_workspace(const Conv3x3Args& /*args*/) { return 0; }

cudaError_t conv3x3_sm90(const Conv3x3Args& /*args*/, void* /*workspace*/, cudaStream_t /*stream*/) {
  return cudaErrorNotSupported;
}

}  // namespace pyn::native
