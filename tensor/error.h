// Library errors: one exception type for bad user input, one assert macro for internal invariants.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace difflut {

// Thrown for bad user input (shapes, files, configs, values). The message names the op or file and
// says what was expected and what was found; apps print it as one line and exit non-zero.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown when an internal invariant is broken: a bug in DiffLUT, not in the caller's input.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

template <class... Args>
std::string str_cat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

}  // namespace difflut

// DIFFLUT_CHECK(cond, "op: expected ", a, ", found ", b) throws difflut::Error when cond is false.
#define DIFFLUT_CHECK(cond, ...)                                          \
  do {                                                                    \
    if (!(cond)) throw ::difflut::Error(::difflut::str_cat(__VA_ARGS__)); \
  } while (0)

#define DIFFLUT_FAIL(...) throw ::difflut::Error(::difflut::str_cat(__VA_ARGS__))

// Internal invariant; failing means a DiffLUT bug. Always on (cheap checks only).
#define DIFFLUT_ASSERT(cond)                                                                    \
  do {                                                                                          \
    if (!(cond))                                                                                \
      throw ::difflut::InternalError(                                                           \
          ::difflut::str_cat(__FILE__, ":", __LINE__, ": internal assertion failed: ", #cond)); \
  } while (0)
