// TinyClassifier: trains a linear softmax model or a 2-layer MLP (one ReLU
// hidden layer) on feature rows with plain minibatch SGD (momentum 0.9) and
// reports held-out accuracy after every epoch. This is the only place Crucible
// computes gradients with respect to weights: the `unlearnable` engine's
// learnability test needs tiny models trained from scratch, not the audited
// model's executor.
//
// Features are standardised with the training rows' mean and standard
// deviation. Deterministic for a given seed. Thread-compatible (no shared state).
//
//   TinyTrainOptions options{.hidden_units = 64, .epochs = 10};
//   ASSIGN_OR_RETURN(TinyTrainResult r, TrainTinyClassifier(rows, dim, labels, 10, 700, options, cancelled));
//   double last = r.heldout_accuracy.back();   // rows 700.. are held out
#ifndef CRUCIBLE_ENGINES_BACKDOOR_TINY_CLASSIFIER_H_
#define CRUCIBLE_ENGINES_BACKDOOR_TINY_CLASSIFIER_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"

namespace crucible {

struct TinyTrainOptions {
  int hidden_units = 0;  // 0: linear softmax.
  int epochs = 10;
  float learning_rate = 0.05f;
  int batch_size = 32;
  uint64_t seed = 1;
};

struct TinyTrainResult {
  std::vector<double> heldout_accuracy;  // One per epoch.
  double train_accuracy = 0;             // After the last epoch.
};

// `features` holds `labels.size()` rows of `dim` values; the first
// `train_rows` rows are trained on, the rest held out. REQUIRES: labels in
// [0, classes), 0 < train_rows < labels.size(). CANCELLED when `cancelled`
// returns true (checked every minibatch).
absl::StatusOr<TinyTrainResult> TrainTinyClassifier(std::vector<float> features, int64_t dim,
                                                    const std::vector<int64_t>& labels, int64_t classes,
                                                    int64_t train_rows, const TinyTrainOptions& options,
                                                    const std::function<bool()>& cancelled);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_BACKDOOR_TINY_CLASSIFIER_H_
