// Test helpers: paths to committed fixtures and NPY loading for tests.
#ifndef CRUCIBLE_TESTS_UNIT_ENGINES_CORE_TEST_FILES_H_
#define CRUCIBLE_TESTS_UNIT_ENGINES_CORE_TEST_FILES_H_

#include <algorithm>
#include <cmath>
#include <string>

#include "engines/core/ndarray.h"
#include "engines/core/npy.h"
#include "engines/core/tensor.h"
#include "gtest/gtest.h"

namespace crucible::testing {

inline std::string FixturePath(const std::string& relative) {
  return std::string(CRUCIBLE_FIXTURES_DIR) + "/" + relative;
}

inline Tensor LoadTensor(const std::string& path) {
  auto array = ReadNpyFile(path);
  EXPECT_TRUE(array.ok()) << path << ": " << array.status();
  return array.ok() ? ToFloatTensor(*array) : Tensor();
}

// Largest |a - b| / max(1, |b|) over all elements; infinity on shape mismatch.
inline double MaxScaledError(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return INFINITY;
  double worst = 0;
  for (int64_t i = 0; i < a.num_elements(); ++i) {
    worst = std::max(worst, std::abs(double(a.at(i)) - b.at(i)) / std::max(1.0, std::abs(double(b.at(i)))));
  }
  return worst;
}

}  // namespace crucible::testing

#endif  // CRUCIBLE_TESTS_UNIT_ENGINES_CORE_TEST_FILES_H_
