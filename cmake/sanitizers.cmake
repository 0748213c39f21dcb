# Sanitizers instrument host code only; device code is checked by its tests on a GPU machine.
add_library(pyn_sanitizers INTERFACE)
if(PYN_SANITIZE)
  target_compile_options(pyn_sanitizers INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${PYN_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all>)
  target_link_options(pyn_sanitizers INTERFACE -fsanitize=${PYN_SANITIZE})
endif()
