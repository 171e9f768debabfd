#include "engines/core/graph.h"

namespace crucible {

bool Attributes::Has(const std::string& name) const {
  return ints_.contains(name) || floats_.contains(name) || strings_.contains(name) ||
         int_lists_.contains(name) || tensors_.contains(name);
}

int64_t Attributes::GetInt(const std::string& name, int64_t fallback) const {
  auto it = ints_.find(name);
  return it == ints_.end() ? fallback : it->second;
}

float Attributes::GetFloat(const std::string& name, float fallback) const {
  auto it = floats_.find(name);
  return it == floats_.end() ? fallback : it->second;
}

std::string Attributes::GetString(const std::string& name, const std::string& fallback) const {
  auto it = strings_.find(name);
  return it == strings_.end() ? fallback : it->second;
}

std::vector<int64_t> Attributes::GetInts(const std::string& name,
                                         std::vector<int64_t> fallback) const {
  auto it = int_lists_.find(name);
  return it == int_lists_.end() ? fallback : it->second;
}

const Tensor* Attributes::GetTensor(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

}  // namespace crucible
