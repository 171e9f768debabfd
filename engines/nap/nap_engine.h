// NapEngine ("nap"): neural activation patterns (Geng et al., ICML 2023) as
// specifications. Either mines one NAP per class from the job's labelled
// dataset (nap_miner.h: seeded train/held-out split, delta-threshold on the
// correctly classified training inputs of each class, recall / precision /
// ambiguous inputs on the held-out part) or takes the NAPs in
// NapConfig.patterns (a NapSet, e.g. an earlier job's nap.json; statistics
// then over every dataset input, and the dataset is optional), then verifies
// with nap_verifier.h, per query UNSAT / SAT (+ witness re-checked by float
// and double forward passes) / UNKNOWN / TIMEOUT:
//   - NAP => class for each class in `classes` (default all) over the whole
//     input domain: the pixel box [clip_min, clip_max] (default [0, 1]) mapped
//     through `preprocess`;
//   - with `exclusivity`, every two NAPs are exclusive;
//   - for `robustness_inputs`, the largest verified L-inf epsilon with and
//     without the NAP of the input's label (bisection up to max_epsilon).
// `mine_only` skips verification. timeout_seconds (0: 60) bounds each query
// and each bisection step; the job's deadline bounds everything.
//
// Layers: hidden_layers.h (k-th Relu in graph order; `layers` entries are an
// index "0" or a ReLU output name). Mining works on any model with Relu nodes;
// verification needs an affine/ReLU network (FAILED_PRECONDITION naming the
// op and node otherwise, at submit time).
//
// Artifact: nap.json, the NapSet mined or supplied (nap_set.h).
// Validate: INVALID_ARGUMENT naming the field (nap.delta outside (0.5, 1],
// nap.train_fraction outside (0, 1), nap.layers[i], nap.patterns.*, nap.classes[i],
// nap.robustness_inputs[i], ...).
//
//   crucible run --engine nap --model mlp.onnx --inputs x.npy --labels y.npy --config nap.json
#ifndef CRUCIBLE_ENGINES_NAP_NAP_ENGINE_H_
#define CRUCIBLE_ENGINES_NAP_NAP_ENGINE_H_

#include "engines/engine.h"

namespace crucible {

class NapEngine final : public Engine {
 public:
  std::string_view name() const override { return "nap"; }
  absl::Status Validate(const v1::JobSpec& spec, const Model& model, const Dataset* dataset) const override;
  absl::StatusOr<v1::Report> Run(const v1::JobSpec& spec, JobContext& context) const override;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_NAP_NAP_ENGINE_H_
