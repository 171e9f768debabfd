#include "engines/preprocess.h"

#include "absl/strings/str_cat.h"

namespace crucible {

absl::Status ValidatePreprocess(const v1::Preprocess& preprocess, const Shape& example_shape) {
  const int64_t channels = example_shape.empty() ? 1 : example_shape[0];
  auto check_size = [&](int size, const char* field) -> absl::Status {
    if (size == 0 || size == 1 || size == channels) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("preprocess.", field, " has ", size, " values; expected 1 or ",
                                                   channels, " (one per channel)"));
  };
  if (auto s = check_size(preprocess.mean_size(), "mean"); !s.ok()) return s;
  if (auto s = check_size(preprocess.std_size(), "std"); !s.ok()) return s;
  for (float s : preprocess.std()) {
    if (!(s != 0.0f)) return absl::InvalidArgumentError("preprocess.std must not contain 0");
  }
  if (preprocess.scale() < 0) return absl::InvalidArgumentError("preprocess.scale must not be negative");
  if (preprocess.clip_min() > preprocess.clip_max()) {
    return absl::InvalidArgumentError("preprocess.clip_min is above preprocess.clip_max");
  }
  return absl::OkStatus();
}

Preprocessor::Preprocessor(const v1::Preprocess& preprocess)
    : scale_(preprocess.scale() == 0 ? 1.0f : preprocess.scale()),
      mean_(preprocess.mean().begin(), preprocess.mean().end()),
      std_(preprocess.std().begin(), preprocess.std().end()),
      clip_min_(preprocess.clip_min()),
      clip_max_(preprocess.clip_min() == 0 && preprocess.clip_max() == 0 ? 1.0f : preprocess.clip_max()) {}

namespace {

// Calls fn(channel, begin, end) for every example's channel block.
template <typename PerChannel>
void ForEachChannel(Tensor& batch, PerChannel&& fn) {
  const int64_t n = batch.dim(0);
  const int64_t channels = batch.rank() >= 2 ? batch.dim(1) : 1;
  const int64_t per_channel = batch.num_elements() / std::max<int64_t>(1, n * channels);
  float* x = batch.data();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < channels; ++c, x += per_channel) fn(c, x, x + per_channel);
  }
}

}  // namespace

void Preprocessor::Apply(Tensor& batch) const {
  ToPixels(batch);
  Normalize(batch);
}

void Preprocessor::ToPixels(Tensor& batch) const {
  if (scale_ == 1.0f) return;
  for (float& x : batch.values()) x *= scale_;
}

void Preprocessor::Normalize(Tensor& batch) const {
  if (mean_.empty() && std_.empty()) return;
  ForEachChannel(batch, [&](int64_t c, float* begin, float* end) {
    const float mean = mean_.empty() ? 0.0f : mean_[mean_.size() == 1 ? 0 : c];
    const float std = std_.empty() ? 1.0f : std_[std_.size() == 1 ? 0 : c];
    for (float* x = begin; x != end; ++x) *x = (*x - mean) / std;
  });
}

void Preprocessor::BackpropagateGradient(Tensor& gradient) const {
  if (std_.empty()) return;
  ForEachChannel(gradient, [&](int64_t c, float* begin, float* end) {
    const float std = std_[std_.size() == 1 ? 0 : c];
    for (float* g = begin; g != end; ++g) *g /= std;
  });
}

}  // namespace crucible
