#include "engines/verify/dlv_region.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace crucible {
namespace {

// Pre-activation values W x + b of one layer.
std::vector<double> PreActivation(const AffineLayer& layer, const std::vector<double>& x) {
  std::vector<double> y(layer.bias);
  for (int64_t o = 0; o < layer.outputs; ++o) {
    const double* w = &layer.weights[o * layer.inputs];
    double sum = 0.0;
    for (int64_t i = 0; i < layer.inputs; ++i) sum += w[i] * x[i];
    y[o] += sum;
  }
  return y;
}

}  // namespace

bool LayerBox::Contains(const std::vector<double>& point, double tolerance) const {
  if (static_cast<int64_t>(point.size()) != size()) return false;
  for (int64_t i = 0; i < size(); ++i) {
    if (point[i] < lower[i] - tolerance || point[i] > upper[i] + tolerance) return false;
  }
  return true;
}

double LayerBox::MaxWidth() const {
  double width = 0.0;
  for (int64_t i = 0; i < size(); ++i) width = std::max(width, upper[i] - lower[i]);
  return width;
}

double LayerBox::MeanWidth() const {
  if (size() == 0) return 0.0;
  double sum = 0.0;
  for (int64_t i = 0; i < size(); ++i) sum += upper[i] - lower[i];
  return sum / static_cast<double>(size());
}

std::vector<std::vector<double>> LayerActivations(const AffineNetwork& net, const std::vector<double>& input) {
  std::vector<std::vector<double>> activations{input};
  for (const AffineLayer& layer : net.layers) {
    std::vector<double> y = PreActivation(layer, activations.back());
    if (layer.relu) {
      for (double& v : y) v = std::max(v, 0.0);
    }
    activations.push_back(std::move(y));
  }
  return activations;
}

std::vector<double> EvaluateFrom(const AffineNetwork& net, int k, const std::vector<double>& activation) {
  std::vector<double> x = activation;
  for (size_t i = k; i < net.layers.size(); ++i) {
    x = PreActivation(net.layers[i], x);
    if (net.layers[i].relu) {
      for (double& v : x) v = std::max(v, 0.0);
    }
  }
  return x;
}

LayerBox IntervalImage(const AffineLayer& layer, const LayerBox& box) {
  LayerBox image;
  image.lower.assign(layer.bias.begin(), layer.bias.end());
  image.upper.assign(layer.bias.begin(), layer.bias.end());
  for (int64_t o = 0; o < layer.outputs; ++o) {
    const double* w = &layer.weights[o * layer.inputs];
    double low = 0.0, high = 0.0;
    for (int64_t i = 0; i < layer.inputs; ++i) {
      if (w[i] >= 0) {
        low += w[i] * box.lower[i];
        high += w[i] * box.upper[i];
      } else {
        low += w[i] * box.upper[i];
        high += w[i] * box.lower[i];
      }
    }
    image.lower[o] += low;
    image.upper[o] += high;
    if (layer.relu) {
      image.lower[o] = std::max(image.lower[o], 0.0);
      image.upper[o] = std::max(image.upper[o], 0.0);
    }
  }
  return image;
}

double Margin(const std::vector<double>& logits, int64_t label) {
  double best_other = -std::numeric_limits<double>::infinity();
  for (size_t j = 0; j < logits.size(); ++j) {
    if (static_cast<int64_t>(j) != label) best_other = std::max(best_other, logits[j]);
  }
  return logits[label] - best_other;
}

int64_t RunnerUp(const std::vector<double>& logits, int64_t label) {
  int64_t best = -1;
  for (size_t j = 0; j < logits.size(); ++j) {
    if (static_cast<int64_t>(j) == label) continue;
    if (best < 0 || logits[j] > logits[best]) best = static_cast<int64_t>(j);
  }
  return best;
}

std::vector<double> MarginGradientFrom(const AffineNetwork& net, int k, const std::vector<double>& activation,
                                       int64_t label, int64_t other) {
  // Forward from layer k keeping each layer's input, then back-substitute.
  std::vector<std::vector<double>> inputs{activation};
  std::vector<std::vector<double>> pre;
  for (size_t i = k; i < net.layers.size(); ++i) {
    pre.push_back(PreActivation(net.layers[i], inputs.back()));
    std::vector<double> out = pre.back();
    if (net.layers[i].relu) {
      for (double& v : out) v = std::max(v, 0.0);
    }
    inputs.push_back(std::move(out));
  }
  std::vector<double> gradient(net.layers.back().outputs, 0.0);
  gradient[label] = 1.0;
  gradient[other] = -1.0;
  for (int i = static_cast<int>(net.layers.size()) - 1; i >= k; --i) {
    const AffineLayer& layer = net.layers[i];
    const std::vector<double>& z = pre[i - k];
    if (layer.relu) {
      for (int64_t o = 0; o < layer.outputs; ++o) {
        if (!(z[o] > 0)) gradient[o] = 0.0;
      }
    }
    std::vector<double> previous(layer.inputs, 0.0);
    for (int64_t o = 0; o < layer.outputs; ++o) {
      if (gradient[o] == 0.0) continue;
      const double* w = &layer.weights[o * layer.inputs];
      for (int64_t in = 0; in < layer.inputs; ++in) previous[in] += w[in] * gradient[o];
    }
    gradient = std::move(previous);
  }
  return gradient;
}

}  // namespace crucible
