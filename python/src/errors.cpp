// The library's errors as Python exceptions, with the library's one-line message:
//   Error (RuntimeError)                 pyn::Error, and StageError (a stage of a frame failed)
//   UsageError (Error, ValueError)       bad input: a value, a file, a shape the network refuses
//   DeviceUnavailable (Error)            no such device on this machine
//   DeviceError (Error)                  a call of the GPU runtime failed
//   OutOfMemory (DeviceError, MemoryError)

#include <exception>

#include "bindings.hpp"
#include "pynference/core/error.hpp"

namespace nb = nanobind;

namespace pyn::python {

namespace {

PyObject* g_error = nullptr;
PyObject* g_usage = nullptr;
PyObject* g_unavailable = nullptr;
PyObject* g_device = nullptr;
PyObject* g_memory = nullptr;

PyObject* make(nb::module_& m, const char* name, PyObject* bases, const char* doc) {
  const std::string qualified = std::string("pynference.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (type == nullptr) {
    throw nb::python_error();
  }
  m.attr(name) = nb::handle(type);
  return type;
}

PyObject* tuple(PyObject* a, PyObject* b) {
  PyObject* bases = PyTuple_Pack(2, a, b);
  if (bases == nullptr) {
    throw nb::python_error();
  }
  return bases;
}

}  // namespace

void bind_errors(nb::module_& m) {
  g_error =
      make(m, "Error", PyExc_RuntimeError, "An error of pynference, with its one-line message.");
  PyObject* usage_bases = tuple(g_error, PyExc_ValueError);
  g_usage = make(m, "UsageError", usage_bases,
                 "Bad input: an argument's value, a file, a frame or model the run cannot take.");
  Py_DECREF(usage_bases);
  g_unavailable =
      make(m, "DeviceUnavailable", g_error, "The device asked for is not on this machine.");
  g_device = make(m, "DeviceError", g_error, "A call of the GPU runtime failed.");
  PyObject* memory_bases = tuple(g_device, PyExc_MemoryError);
  g_memory = make(m, "OutOfMemory", memory_bases, "The device has no memory left for a request.");
  Py_DECREF(memory_bases);

  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const OutOfMemory& e) {
      PyErr_SetString(g_memory, e.what());
    } catch (const DeviceError& e) {
      PyErr_SetString(g_device, e.what());
    } catch (const DeviceUnavailable& e) {
      PyErr_SetString(g_unavailable, e.what());
    } catch (const UsageError& e) {
      PyErr_SetString(g_usage, e.what());
    } catch (const Error& e) {
      PyErr_SetString(g_error, e.what());
    }
  });
}

}  // namespace pyn::python
