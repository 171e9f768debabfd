#include "engines/backdoor/activation_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace crucible {
namespace {

constexpr int kPowerIterations = 200;
constexpr int kKMeansStarts = 5;
constexpr int kKMeansIterations = 100;

double SquaredDistance(const double* a, const double* b, int64_t d) {
  double sum = 0;
  for (int64_t j = 0; j < d; ++j) sum += (a[j] - b[j]) * (a[j] - b[j]);
  return sum;
}

double Norm(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x * x;
  return std::sqrt(sum);
}

}  // namespace

Matrix Centred(const Matrix& a) {
  Matrix out = a;
  for (int64_t j = 0; j < a.cols; ++j) {
    double mean = 0;
    for (int64_t r = 0; r < a.rows; ++r) mean += a.row(r)[j];
    mean /= std::max<int64_t>(a.rows, 1);
    for (int64_t r = 0; r < a.rows; ++r) out.row(r)[j] -= mean;
  }
  return out;
}

std::vector<std::vector<double>> TopPrincipalAxes(const Matrix& a, int k, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<std::vector<double>> axes;
  double first_eigenvalue = 0;
  std::vector<double> projected(a.rows);
  for (int component = 0; component < k; ++component) {
    std::vector<double> v(a.cols);
    for (double& x : v) x = normal(rng);
    double eigenvalue = 0;
    for (int it = 0; it < kPowerIterations; ++it) {
      // v <- aᵀ a v, with the axes found so far projected out.
      for (int64_t r = 0; r < a.rows; ++r) {
        double dot = 0;
        for (int64_t j = 0; j < a.cols; ++j) dot += a.row(r)[j] * v[j];
        projected[r] = dot;
      }
      std::vector<double> next(a.cols, 0.0);
      for (int64_t r = 0; r < a.rows; ++r) {
        for (int64_t j = 0; j < a.cols; ++j) next[j] += a.row(r)[j] * projected[r];
      }
      for (const auto& axis : axes) {
        double dot = 0;
        for (int64_t j = 0; j < a.cols; ++j) dot += next[j] * axis[j];
        for (int64_t j = 0; j < a.cols; ++j) next[j] -= dot * axis[j];
      }
      eigenvalue = Norm(next);
      if (eigenvalue == 0) break;
      for (int64_t j = 0; j < a.cols; ++j) next[j] /= eigenvalue;
      v = std::move(next);
    }
    if (component == 0) first_eigenvalue = eigenvalue;
    // Remaining directions carry (numerically) nothing: the data has lower rank.
    if (eigenvalue <= first_eigenvalue * 1e-12 || eigenvalue == 0) break;
    axes.push_back(std::move(v));
  }
  return axes;
}

Matrix Project(const Matrix& a, const std::vector<std::vector<double>>& axes) {
  Matrix out{a.rows, static_cast<int64_t>(axes.size()), {}};
  out.values.resize(out.rows * out.cols);
  for (int64_t r = 0; r < a.rows; ++r) {
    for (int64_t c = 0; c < out.cols; ++c) {
      double dot = 0;
      for (int64_t j = 0; j < a.cols; ++j) dot += a.row(r)[j] * axes[c][j];
      out.row(r)[c] = dot;
    }
  }
  return out;
}

TwoMeans ClusterTwoMeans(const Matrix& a, uint64_t seed) {
  std::mt19937_64 rng(seed);
  TwoMeans best;
  double best_inertia = std::numeric_limits<double>::infinity();
  if (a.rows < 2) {
    best.assignment.assign(a.rows, 0);
    best.sizes[0] = a.rows;
    return best;
  }
  const int64_t d = a.cols;
  for (int start = 0; start < kKMeansStarts; ++start) {
    // k-means++: a random first centre, the second drawn by squared distance.
    std::vector<double> centres(2 * d);
    const int64_t first = std::uniform_int_distribution<int64_t>(0, a.rows - 1)(rng);
    std::copy(a.row(first), a.row(first) + d, centres.begin());
    std::vector<double> weights(a.rows);
    for (int64_t r = 0; r < a.rows; ++r) weights[r] = SquaredDistance(a.row(r), centres.data(), d);
    const int64_t second = std::discrete_distribution<int64_t>(weights.begin(), weights.end())(rng);
    std::copy(a.row(second), a.row(second) + d, centres.begin() + d);
    TwoMeans split;
    split.assignment.assign(a.rows, -1);
    double inertia = 0;
    for (int it = 0; it < kKMeansIterations; ++it) {
      bool changed = false;
      inertia = 0;
      for (int64_t r = 0; r < a.rows; ++r) {
        const double d0 = SquaredDistance(a.row(r), centres.data(), d);
        const double d1 = SquaredDistance(a.row(r), centres.data() + d, d);
        const int cluster = d1 < d0 ? 1 : 0;
        inertia += std::min(d0, d1);
        changed |= split.assignment[r] != cluster;
        split.assignment[r] = cluster;
      }
      if (!changed) break;
      std::vector<double> sums(2 * d, 0.0);
      int64_t counts[2] = {0, 0};
      for (int64_t r = 0; r < a.rows; ++r) {
        const int c = split.assignment[r];
        ++counts[c];
        for (int64_t j = 0; j < d; ++j) sums[c * d + j] += a.row(r)[j];
      }
      for (int c = 0; c < 2; ++c) {
        if (counts[c] == 0) continue;
        for (int64_t j = 0; j < d; ++j) centres[c * d + j] = sums[c * d + j] / counts[c];
      }
    }
    split.sizes[0] = std::count(split.assignment.begin(), split.assignment.end(), 0);
    split.sizes[1] = a.rows - split.sizes[0];
    if (inertia < best_inertia) {
      best_inertia = inertia;
      best = std::move(split);
    }
  }
  return best;
}

double Silhouette(const Matrix& a, const std::vector<int>& assignment, int64_t max_rows) {
  const int64_t step = std::max<int64_t>(1, (a.rows + max_rows - 1) / max_rows);
  std::vector<int64_t> rows;
  for (int64_t r = 0; r < a.rows; r += step) rows.push_back(r);
  int64_t sizes[2] = {0, 0};
  for (int64_t r : rows) ++sizes[assignment[r]];
  if (sizes[0] == 0 || sizes[1] == 0) return 0;
  double total = 0;
  for (int64_t r : rows) {
    double distance[2] = {0, 0};
    for (int64_t o : rows) {
      if (o != r) distance[assignment[o]] += std::sqrt(SquaredDistance(a.row(r), a.row(o), a.cols));
    }
    const int own = assignment[r];
    if (sizes[own] == 1) continue;  // A singleton's silhouette is 0 by convention.
    const double inside = distance[own] / double(sizes[own] - 1);
    const double outside = distance[1 - own] / double(sizes[1 - own]);
    const double larger = std::max(inside, outside);
    total += larger == 0 ? 0 : (outside - inside) / larger;
  }
  return total / double(rows.size());
}

}  // namespace crucible
