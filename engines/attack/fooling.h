// FoolingEngine ("fooling"): inputs the model labels as a class with at least
// target_confidence (default 0.99) softmax probability although they are no
// picture of it (Nguyen, Yosinski, Clune, "Deep Neural Networks are Easily
// Fooled", CVPR 2015). Two searches, both in pixel space within the valid
// range [clip_min, clip_max] of the preprocess block, seeded and
// deterministic:
//  - EVOLUTION: MAP-Elites over direct encodings. Every pixel starts uniform
//    in the range; each generation `population` offspring are bred by
//    polynomial mutation (Deb, bounded; eta 15, rate 0.1 per pixel) of the
//    elite of a class not yet reached, evaluated in batches, and each
//    replaces the elite of every class it scores higher on.
//  - GRADIENT: from uniform noise, ascent on log p(class | x) with steps of a
//    fixed root-mean-square size, L2 decay towards mid-range and optional
//    Gaussian blur every k steps, clipped to the range.
// A class stops as soon as it reaches the target. The report lists per class
// the best confidence, the generations or steps taken and whether the target
// was reached; the artifacts are fooling_images.npy (one image per class, in
// the report's order) and, for picture inputs, fooling_images.png (each
// image captioned with its class and confidence). No dataset is needed.
//
//   spec.mutable_fooling()->set_method(v1::FoolingConfig::GRADIENT);
//   ASSIGN_OR_RETURN(v1::Report report, FoolingEngine().Run(spec, context));
#ifndef CRUCIBLE_ENGINES_ATTACK_FOOLING_H_
#define CRUCIBLE_ENGINES_ATTACK_FOOLING_H_

#include "engines/engine.h"

namespace crucible {

class FoolingEngine final : public Engine {
 public:
  std::string_view name() const override { return "fooling"; }
  absl::Status Validate(const v1::JobSpec& spec, const Model& model, const Dataset* dataset) const override;
  absl::StatusOr<v1::Report> Run(const v1::JobSpec& spec, JobContext& context) const override;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_ATTACK_FOOLING_H_
