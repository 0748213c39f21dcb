// A build without CUTLASS's headers: no tensor-core convolutions. The native engine runs on the
// host backend only and refuses a GPU, saying why (native_engine_runs_on).

#include "conv.hpp"

namespace pyn::native {

bool conv_sm90_built() { return false; }

bool conv_sm90_fuses() { return false; }

bool conv_sm90_supports(int /*cin*/, int /*cout*/, std::string* why) {
  if (why != nullptr) {
    *why = "this build has no native convolution kernels";
  }
  return false;
}

std::string conv_sm90_variant(std::string* why) {
  if (why != nullptr) {
    *why = "this build has no native convolution kernels";
  }
  return {};
}

std::size_t conv_sm90_workspace(const ConvArgs& /*args*/) { return 0; }

cudaError_t conv_sm90(const ConvArgs& /*args*/, void* /*workspace*/, cudaStream_t /*stream*/) {
  return cudaErrorNotSupported;
}

}  // namespace pyn::native
