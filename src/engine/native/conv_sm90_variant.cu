// One tuning variant of the native engine's convolution (conv_sm90_kernel.cuh), fp16 only, built
// with PYN_TILE_M and PYN_STAGES defined (src/engine/native/CMakeLists.txt, -DPYN_NATIVE_TUNING=ON)
// and picked at run time by PYN_NATIVE_CONV=<tile pixels>x64s<stages>.

#include "cutlass/arch/config.h"

#if defined(CUTLASS_ARCH_MMA_SM90_SUPPORTED)
#include "conv_sm90_kernel.cuh"

#define PYN_STR2(x) #x
#define PYN_STR(x) PYN_STR2(x)
#define PYN_CAT2(a, b, c, d) a##b##_##c##d
#define PYN_CAT(a, b, c, d) PYN_CAT2(a, b, c, d)

namespace pyn::native {

ConvVariant PYN_CAT(conv_variant_, PYN_TILE_M, PYN_STAGES, )() {
  return {PYN_STR(PYN_TILE_M) "x64s" PYN_STR(PYN_STAGES), false, detail::run_variant<PYN_TILE_M, PYN_STAGES>,
          detail::variant_workspace<PYN_TILE_M, PYN_STAGES>};
}

}  // namespace pyn::native
#endif
