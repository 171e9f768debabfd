// Small dense statistics over rows of activations, shared by Activation
// Clustering and Spectral Signatures: centring, top principal directions by
// power iteration with deflation, 2-means, and the silhouette score.
// Rows are row-major [n, d] float vectors. Deterministic for a given seed.
//
//   Matrix a{n, d, values};
//   Matrix centred = Centred(a);
//   std::vector<std::vector<double>> axes = TopPrincipalAxes(centred, 10, seed);
//   Matrix reduced = Project(centred, axes);                 // [n, 10]
//   TwoMeans split = ClusterTwoMeans(reduced, seed);
//   double s = Silhouette(reduced, split.assignment);
#ifndef CRUCIBLE_ENGINES_BACKDOOR_ACTIVATION_STATS_H_
#define CRUCIBLE_ENGINES_BACKDOOR_ACTIVATION_STATS_H_

#include <cstdint>
#include <vector>

namespace crucible {

struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<double> values;  // rows * cols, row-major.

  const double* row(int64_t r) const { return values.data() + r * cols; }
  double* row(int64_t r) { return values.data() + r * cols; }
};

// Rows minus the column means.
Matrix Centred(const Matrix& a);

// The k leading eigenvectors (unit length, each of size a.cols) of a's
// covariance aᵀa, largest first; fewer when a has rank < k. REQUIRES: a centred.
std::vector<std::vector<double>> TopPrincipalAxes(const Matrix& a, int k, uint64_t seed);

// [a.rows, axes.size()]: each row's coordinates along the axes.
Matrix Project(const Matrix& a, const std::vector<std::vector<double>>& axes);

struct TwoMeans {
  std::vector<int> assignment;  // 0 or 1 per row.
  int64_t sizes[2] = {0, 0};
};

// Lloyd's 2-means, the best of a few k-means++ starts (lowest inertia).
TwoMeans ClusterTwoMeans(const Matrix& a, uint64_t seed);

// Mean silhouette coefficient of a 2-way assignment (0 when a cluster is
// empty), over at most `max_rows` evenly spaced rows.
double Silhouette(const Matrix& a, const std::vector<int>& assignment, int64_t max_rows = 2000);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_BACKDOOR_ACTIVATION_STATS_H_
