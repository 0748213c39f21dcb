#include "bindings.hpp"

NB_MODULE(_core, m) {
  m.doc() = "pynference's native part; use the pynference package, which wraps it.";
  pyn::python::bind_errors(m);
  pyn::python::bind_processor(m);
  pyn::python::bind_run(m);
  pyn::python::bind_segments(m);
}
