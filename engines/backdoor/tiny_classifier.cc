#include "engines/backdoor/tiny_classifier.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace crucible {
namespace {

constexpr float kMomentum = 0.9f;

// Weights of one dense layer, out x in, with bias, and their momentum buffers.
struct Dense {
  int64_t in = 0, out = 0;
  std::vector<float> w, b, w_grad, b_grad, w_velocity, b_velocity;

  Dense(int64_t in_size, int64_t out_size, std::mt19937_64& rng) : in(in_size), out(out_size) {
    // PyTorch's default nn.Linear initialisation: U(-1/sqrt(in), 1/sqrt(in)).
    const float bound = 1.0f / std::sqrt(float(in));
    std::uniform_real_distribution<float> uniform(-bound, bound);
    w.resize(in * out);
    b.resize(out);
    for (float& v : w) v = uniform(rng);
    for (float& v : b) v = uniform(rng);
    w_grad.assign(w.size(), 0);
    b_grad.assign(b.size(), 0);
    w_velocity.assign(w.size(), 0);
    b_velocity.assign(b.size(), 0);
  }

  void Forward(const float* x, float* y) const {
    for (int64_t o = 0; o < out; ++o) {
      const float* row = w.data() + o * in;
      float sum = b[o];
      for (int64_t i = 0; i < in; ++i) sum += row[i] * x[i];
      y[o] = sum;
    }
  }

  // Accumulates weight gradients for dy at x; writes dx when not null.
  void Backward(const float* x, const float* dy, float* dx) {
    for (int64_t o = 0; o < out; ++o) {
      float* row = w_grad.data() + o * in;
      const float g = dy[o];
      b_grad[o] += g;
      for (int64_t i = 0; i < in; ++i) row[i] += g * x[i];
    }
    if (dx == nullptr) return;
    std::fill(dx, dx + in, 0.0f);
    for (int64_t o = 0; o < out; ++o) {
      const float* row = w.data() + o * in;
      const float g = dy[o];
      for (int64_t i = 0; i < in; ++i) dx[i] += g * row[i];
    }
  }

  void Step(float learning_rate, float batch) {
    auto update = [&](std::vector<float>& p, std::vector<float>& g, std::vector<float>& v) {
      for (size_t k = 0; k < p.size(); ++k) {
        v[k] = kMomentum * v[k] + g[k] / batch;
        p[k] -= learning_rate * v[k];
        g[k] = 0;
      }
    };
    update(w, w_grad, w_velocity);
    update(b, b_grad, b_velocity);
  }
};

class Network {
 public:
  Network(int64_t dim, int64_t hidden, int64_t classes, std::mt19937_64& rng) : hidden_(hidden) {
    if (hidden > 0) {
      layers_.emplace_back(dim, hidden, rng);
      layers_.emplace_back(hidden, classes, rng);
    } else {
      layers_.emplace_back(dim, classes, rng);
    }
    hidden_values_.resize(std::max<int64_t>(hidden, 1));
    hidden_grad_.resize(std::max<int64_t>(hidden, 1));
    logits_.resize(classes);
  }

  int64_t Predict(const float* x) {
    Logits(x);
    return std::max_element(logits_.begin(), logits_.end()) - logits_.begin();
  }

  // Accumulates the cross-entropy gradient of one example.
  void Accumulate(const float* x, int64_t label) {
    Logits(x);
    const float top = *std::max_element(logits_.begin(), logits_.end());
    double total = 0;
    for (float& z : logits_) total += z = std::exp(z - top);
    for (float& z : logits_) z = float(z / total);
    logits_[label] -= 1.0f;  // Now d CE / d logits.
    if (hidden_ == 0) {
      layers_[0].Backward(x, logits_.data(), nullptr);
      return;
    }
    layers_[1].Backward(hidden_values_.data(), logits_.data(), hidden_grad_.data());
    for (int64_t h = 0; h < hidden_; ++h) {
      if (hidden_values_[h] <= 0) hidden_grad_[h] = 0;
    }
    layers_[0].Backward(x, hidden_grad_.data(), nullptr);
  }

  void Step(float learning_rate, float batch) {
    for (Dense& layer : layers_) layer.Step(learning_rate, batch);
  }

 private:
  void Logits(const float* x) {
    if (hidden_ == 0) {
      layers_[0].Forward(x, logits_.data());
      return;
    }
    layers_[0].Forward(x, hidden_values_.data());
    for (float& v : hidden_values_) v = std::max(v, 0.0f);
    layers_[1].Forward(hidden_values_.data(), logits_.data());
  }

  int64_t hidden_;
  std::vector<Dense> layers_;
  std::vector<float> hidden_values_, hidden_grad_, logits_;
};

void Standardize(std::vector<float>& features, int64_t dim, int64_t train_rows) {
  const int64_t rows = features.size() / dim;
  for (int64_t j = 0; j < dim; ++j) {
    double sum = 0, squares = 0;
    for (int64_t r = 0; r < train_rows; ++r) {
      const double v = features[r * dim + j];
      sum += v;
      squares += v * v;
    }
    const double mean = sum / train_rows;
    const double stddev = std::sqrt(std::max(0.0, squares / train_rows - mean * mean));
    // Near-constant features (e.g. always-black border pixels) are left at 0
    // rather than blown up.
    const double scale = 1.0 / (stddev + 1e-3);
    for (int64_t r = 0; r < rows; ++r) features[r * dim + j] = float((features[r * dim + j] - mean) * scale);
  }
}

}  // namespace

absl::StatusOr<TinyTrainResult> TrainTinyClassifier(std::vector<float> features, int64_t dim,
                                                    const std::vector<int64_t>& labels, int64_t classes,
                                                    int64_t train_rows, const TinyTrainOptions& options,
                                                    const std::function<bool()>& cancelled) {
  const int64_t rows = static_cast<int64_t>(labels.size());
  Standardize(features, dim, train_rows);
  std::mt19937_64 rng(options.seed);
  Network network(dim, options.hidden_units, classes, rng);
  std::vector<int64_t> order(train_rows);
  std::iota(order.begin(), order.end(), 0);
  auto accuracy = [&](int64_t begin, int64_t end) {
    int64_t correct = 0;
    for (int64_t r = begin; r < end; ++r) correct += network.Predict(features.data() + r * dim) == labels[r];
    return double(correct) / double(end - begin);
  };
  TinyTrainResult result;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    for (int64_t begin = 0; begin < train_rows; begin += options.batch_size) {
      if (cancelled()) return absl::CancelledError("training cancelled");
      const int64_t end = std::min(train_rows, begin + options.batch_size);
      for (int64_t k = begin; k < end; ++k) network.Accumulate(features.data() + order[k] * dim, labels[order[k]]);
      network.Step(options.learning_rate, float(end - begin));
    }
    result.heldout_accuracy.push_back(accuracy(train_rows, rows));
  }
  result.train_accuracy = accuracy(0, train_rows);
  return result;
}

}  // namespace crucible
