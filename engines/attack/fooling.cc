#include "engines/attack/fooling.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engines/attack/example_grid.h"
#include "engines/attack/loss_gradient.h"
#include "engines/core/ndarray.h"
#include "engines/core/npy.h"
#include "engines/core/status_macros.h"

namespace crucible {
namespace {

constexpr float kDefaultTargetConfidence = 0.99f;
constexpr int kDefaultGenerations = 1000;
constexpr int kDefaultPopulation = 64;
constexpr float kDefaultMutationRate = 0.1f;
constexpr float kDefaultMutationEta = 15.0f;
constexpr int kDefaultSteps = 500;
constexpr float kDefaultStepSize = 0.02f;
constexpr float kDefaultL2Decay = 0.001f;
constexpr float kDefaultBlurSigma = 0.5f;
constexpr int kMaxPopulation = 4096;
constexpr int kMaxIterations = 1000000;
constexpr int64_t kMaxBatch = 64;
constexpr int kGridColumns = 10;

// The config with every default filled in.
struct Settings {
  v1::FoolingConfig::Method method = v1::FoolingConfig::EVOLUTION;
  double target_confidence = kDefaultTargetConfidence;
  std::vector<int64_t> classes;
  int generations = kDefaultGenerations;
  int population = kDefaultPopulation;
  double mutation_rate = kDefaultMutationRate;
  double mutation_eta = kDefaultMutationEta;
  int steps = kDefaultSteps;
  float step_size = kDefaultStepSize;
  float l2_decay = kDefaultL2Decay;
  int blur_every = 0;
  float blur_sigma = kDefaultBlurSigma;
  uint64_t seed = 0;
};

Settings Resolve(const v1::FoolingConfig& config, const Model& model) {
  Settings s;
  if (config.method() == v1::FoolingConfig::GRADIENT) s.method = v1::FoolingConfig::GRADIENT;
  if (config.target_confidence() > 0) s.target_confidence = config.target_confidence();
  s.classes.assign(config.classes().begin(), config.classes().end());
  if (s.classes.empty()) {
    for (int64_t c = 0; c < model.num_classes(); ++c) s.classes.push_back(c);
  }
  if (config.generations() > 0) s.generations = config.generations();
  if (config.population() > 0) s.population = config.population();
  if (config.mutation_rate() > 0) s.mutation_rate = config.mutation_rate();
  if (config.mutation_eta() > 0) s.mutation_eta = config.mutation_eta();
  if (config.steps() > 0) s.steps = config.steps();
  if (config.step_size() > 0) s.step_size = config.step_size();
  if (config.l2_decay() > 0) s.l2_decay = config.l2_decay();
  s.blur_every = config.blur_every();
  if (config.blur_sigma() > 0) s.blur_sigma = config.blur_sigma();
  s.seed = config.seed();
  return s;
}

// The best image found for one class so far.
struct ClassResult {
  int64_t target = 0;
  std::vector<float> image;
  double confidence = -1;
  int64_t iterations = 0;
  bool reached = false;
};

double Probability(const Tensor& logits, int64_t row, int64_t c) {
  const int64_t classes = logits.num_elements() / logits.dim(0);
  const float* z = logits.data() + row * classes;
  const float top = *std::max_element(z, z + classes);
  double total = 0;
  for (int64_t k = 0; k < classes; ++k) total += std::exp(double(z[k]) - top);
  return std::exp(double(z[c]) - top) / total;
}

// Shape of `n` examples as the executor takes them (unbatched models: one).
Shape ModelShape(const Model& model, int64_t n) {
  return model.has_batch_dimension() ? model.InputShape(n) : model.InputShape(1);
}

// Logits of x [n, example...] for any n, loss.batch_size() rows at a time.
absl::StatusOr<Tensor> LogitsInBatches(LossGradient& loss, const Model& model, const Tensor& x) {
  const int64_t n = x.dim(0);
  Tensor logits;
  for (int64_t begin = 0; begin < n; begin += loss.batch_size()) {
    const int64_t end = std::min(n, begin + loss.batch_size());
    ASSIGN_OR_RETURN(const Tensor part, loss.Logits(x.Slice(begin, end).Reshaped(ModelShape(model, end - begin))));
    const int64_t classes = part.num_elements() / (end - begin);
    if (begin == 0) logits = Tensor({n, classes});
    std::copy(part.data(), part.data() + part.num_elements(), logits.data() + begin * classes);
  }
  return logits;
}

// Deb's bounded polynomial mutation of one value in [low, high].
float PolynomialMutation(float value, float low, float high, double eta, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const double range = double(high) - low;
  const double below = (value - low) / range, above = (high - value) / range;
  const double u = uniform(rng), power = 1.0 / (eta + 1.0);
  double delta;
  if (u < 0.5) {
    const double v = 2.0 * u + (1.0 - 2.0 * u) * std::pow(1.0 - below, eta + 1.0);
    delta = std::pow(v, power) - 1.0;
  } else {
    const double v = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * std::pow(1.0 - above, eta + 1.0);
    delta = 1.0 - std::pow(v, power);
  }
  return static_cast<float>(std::clamp(value + delta * range, double(low), double(high)));
}

// Separable Gaussian blur of one example (channels x height x width) with
// edge values repeated past the border.
void GaussianBlur(float* image, const ImageShape& shape, float sigma) {
  const int64_t radius = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(3 * sigma)));
  std::vector<double> kernel(2 * radius + 1);
  double total = 0;
  for (int64_t k = -radius; k <= radius; ++k) total += kernel[k + radius] = std::exp(-0.5 * k * k / (sigma * sigma));
  for (double& w : kernel) w /= total;
  std::vector<float> temp(shape.height * shape.width);
  for (int64_t c = 0; c < shape.channels; ++c) {
    float* plane = image + c * shape.height * shape.width;
    for (int64_t y = 0; y < shape.height; ++y) {
      for (int64_t x = 0; x < shape.width; ++x) {
        double sum = 0;
        for (int64_t k = -radius; k <= radius; ++k) {
          sum += kernel[k + radius] * plane[y * shape.width + std::clamp<int64_t>(x + k, 0, shape.width - 1)];
        }
        temp[y * shape.width + x] = static_cast<float>(sum);
      }
    }
    for (int64_t y = 0; y < shape.height; ++y) {
      for (int64_t x = 0; x < shape.width; ++x) {
        double sum = 0;
        for (int64_t k = -radius; k <= radius; ++k) {
          sum += kernel[k + radius] * temp[std::clamp<int64_t>(y + k, 0, shape.height - 1) * shape.width + x];
        }
        plane[y * shape.width + x] = static_cast<float>(sum);
      }
    }
  }
}

bool AllReached(const std::vector<ClassResult>& results) {
  return std::all_of(results.begin(), results.end(), [](const ClassResult& r) { return r.reached; });
}

int64_t CountReached(const std::vector<ClassResult>& results) {
  return std::count_if(results.begin(), results.end(), [](const ClassResult& r) { return r.reached; });
}

// MAP-Elites: one elite per class; every evaluated image competes for every
// class not yet reached.
absl::Status Evolve(const Settings& s, const Model& model, JobContext& context, LossGradient& loss,
                    std::vector<ClassResult>& results) {
  const float low = loss.preprocessor().clip_min(), high = loss.preprocessor().clip_max();
  const int64_t per_example = NumElements(model.ExampleShape());
  Shape shape = model.ExampleShape();
  shape.insert(shape.begin(), s.population);
  Tensor offspring(shape);
  std::mt19937_64 rng(s.seed);
  std::uniform_real_distribution<float> pixel(low, high);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (float& v : offspring.values()) v = pixel(rng);

  for (int generation = 0; generation <= s.generations; ++generation) {
    if (context.Cancelled()) return absl::CancelledError("fooling cancelled");
    if (generation > 0) {
      std::vector<size_t> open;
      for (size_t k = 0; k < results.size(); ++k) {
        if (!results[k].reached) open.push_back(k);
      }
      std::uniform_int_distribution<size_t> pick(0, open.size() - 1);
      for (int64_t j = 0; j < s.population; ++j) {
        const std::vector<float>& parent = results[open[pick(rng)]].image;
        float* child = offspring.data() + j * per_example;
        for (int64_t p = 0; p < per_example; ++p) {
          child[p] = unit(rng) < s.mutation_rate ? PolynomialMutation(parent[p], low, high, s.mutation_eta, rng)
                                                 : parent[p];
        }
      }
    }
    ASSIGN_OR_RETURN(const Tensor logits, LogitsInBatches(loss, model, offspring));
    for (ClassResult& result : results) {
      if (result.reached) continue;
      result.iterations = generation;
      for (int64_t j = 0; j < s.population; ++j) {
        const double p = Probability(logits, j, result.target);
        if (p <= result.confidence) continue;
        result.confidence = p;
        result.image.assign(offspring.data() + j * per_example, offspring.data() + (j + 1) * per_example);
      }
      result.reached = result.confidence >= s.target_confidence;
    }
    context.ReportProgress(double(generation) / s.generations, "evolution",
                           absl::StrCat("generation ", generation, " of ", s.generations, ", ",
                                        CountReached(results), " of ", results.size(), " classes reached"));
    if (AllReached(results)) break;
  }
  return absl::OkStatus();
}

// Gradient ascent on log p(target | x) for a batch of classes at once.
absl::Status Ascend(const Settings& s, const Model& model, JobContext& context, LossGradient& loss,
                    std::vector<ClassResult>& results) {
  const float low = loss.preprocessor().clip_min(), high = loss.preprocessor().clip_max();
  const float center = (low + high) / 2;
  const int64_t per_example = NumElements(model.ExampleShape());
  Shape example_shape = model.ExampleShape();
  example_shape.insert(example_shape.begin(), 1);
  const absl::StatusOr<ImageShape> picture = ImageShapeOf(example_shape);
  std::mt19937_64 rng(s.seed);
  std::uniform_real_distribution<float> pixel(low, high);
  const int64_t total = results.size();
  for (int64_t begin = 0; begin < total; begin += loss.batch_size()) {
    const int64_t end = std::min(total, begin + loss.batch_size()), n = end - begin;
    Tensor x(ModelShape(model, n));
    for (float& v : x.values()) v = pixel(rng);
    std::vector<int64_t> targets;
    for (int64_t k = begin; k < end; ++k) targets.push_back(results[k].target);
    for (int step = 0; step <= s.steps; ++step) {
      if (context.Cancelled()) return absl::CancelledError("fooling cancelled");
      Tensor logits;
      ASSIGN_OR_RETURN(const Tensor gradient, loss.Gradient(x, targets, &logits));
      bool all_reached = true;
      for (int64_t i = 0; i < n; ++i) {
        ClassResult& result = results[begin + i];
        if (result.reached) continue;
        result.iterations = step;
        const double p = Probability(logits, i, result.target);
        if (p > result.confidence) {
          result.confidence = p;
          result.image.assign(x.data() + i * per_example, x.data() + (i + 1) * per_example);
        }
        result.reached = p >= s.target_confidence;
        all_reached = all_reached && result.reached;
      }
      context.ReportProgress((double(begin) + n * double(step) / s.steps) / total, "gradient",
                             absl::StrCat("step ", step, " of ", s.steps, ", ", CountReached(results), " of ", total,
                                          " classes reached"));
      if (all_reached || step == s.steps) break;
      for (int64_t i = 0; i < n; ++i) {
        if (results[begin + i].reached) continue;
        float* image = x.data() + i * per_example;
        const float* g = gradient.data() + i * per_example;
        double squares = 0;
        for (int64_t p = 0; p < per_example; ++p) squares += double(g[p]) * g[p];
        const double rms = std::sqrt(squares / per_example);
        // Descending the cross-entropy is ascending log p(target).
        const float scale = rms > 0 ? static_cast<float>(s.step_size / rms) : 0.0f;
        for (int64_t p = 0; p < per_example; ++p) {
          image[p] = center + (1 - s.l2_decay) * (image[p] - scale * g[p] - center);
        }
        if (s.blur_every > 0 && (step + 1) % s.blur_every == 0 && picture.ok()) {
          GaussianBlur(image, *picture, s.blur_sigma);
        }
        for (int64_t p = 0; p < per_example; ++p) image[p] = std::clamp(image[p], low, high);
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status FoolingEngine::Validate(const v1::JobSpec& spec, const Model& model, const Dataset*) const {
  const v1::FoolingConfig& config = spec.fooling();
  if (!v1::FoolingConfig::Method_IsValid(config.method())) {
    return absl::InvalidArgumentError(absl::StrCat("fooling.method must be EVOLUTION or GRADIENT, got ",
                                                   config.method()));
  }
  const float confidence = config.target_confidence();
  if (!(confidence >= 0 && confidence < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fooling.target_confidence must be between 0 and 1 (exclusive; unset: 0.99), got ", confidence));
  }
  std::set<int64_t> seen;
  for (int64_t c : config.classes()) {
    if (c < 0 || c >= model.num_classes()) {
      return absl::InvalidArgumentError(
          absl::StrCat("fooling.classes: ", c, " is not one of the model's ", model.num_classes(), " classes"));
    }
    if (!seen.insert(c).second) {
      return absl::InvalidArgumentError(absl::StrCat("fooling.classes lists class ", c, " twice"));
    }
  }
  if (config.generations() < 0 || config.generations() > kMaxIterations) {
    return absl::InvalidArgumentError(
        absl::StrCat("fooling.generations must be between 0 (default ", kDefaultGenerations, ") and ", kMaxIterations));
  }
  if (config.population() < 0 || config.population() > kMaxPopulation) {
    return absl::InvalidArgumentError(
        absl::StrCat("fooling.population must be between 0 (default ", kDefaultPopulation, ") and ", kMaxPopulation));
  }
  if (config.steps() < 0 || config.steps() > kMaxIterations) {
    return absl::InvalidArgumentError(
        absl::StrCat("fooling.steps must be between 0 (default ", kDefaultSteps, ") and ", kMaxIterations));
  }
  if (!(config.mutation_rate() >= 0 && config.mutation_rate() <= 1)) {
    return absl::InvalidArgumentError("fooling.mutation_rate must be between 0 (default 0.1) and 1");
  }
  const std::pair<const char*, float> non_negative[] = {
      {"mutation_eta", config.mutation_eta()}, {"step_size", config.step_size()}, {"blur_sigma", config.blur_sigma()}};
  for (const auto& [field, value] : non_negative) {
    if (!(value >= 0) || !std::isfinite(value)) {
      return absl::InvalidArgumentError(absl::StrCat("fooling.", field, " must be a non-negative number, got ", value));
    }
  }
  if (!(config.l2_decay() >= 0 && config.l2_decay() < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("fooling.l2_decay must be at least 0 and below 1, got ", config.l2_decay()));
  }
  if (config.blur_every() < 0) return absl::InvalidArgumentError("fooling.blur_every must not be negative");
  if (config.threads() < 0) return absl::InvalidArgumentError("fooling.threads must not be negative");
  if (model.num_classes() < 2) {
    return absl::FailedPreconditionError("fooling needs a classifier with at least two classes");
  }
  return ValidatePreprocess(config.preprocess(), model.ExampleShape());
}

absl::StatusOr<v1::Report> FoolingEngine::Run(const v1::JobSpec& spec, JobContext& context) const {
  const Model& model = context.model();
  RETURN_IF_ERROR(Validate(spec, model, context.dataset()));
  const v1::FoolingConfig& config = spec.fooling();
  const Settings s = Resolve(config, model);
  const int threads = config.threads() > 0 ? std::min(config.threads(), context.threads()) : context.threads();
  const int64_t batch = s.method == v1::FoolingConfig::EVOLUTION ? s.population : int64_t(s.classes.size());
  ASSIGN_OR_RETURN(auto loss, LossGradient::Create(model, config.preprocess(), std::min(batch, kMaxBatch), threads));

  std::vector<ClassResult> results(s.classes.size());
  for (size_t k = 0; k < results.size(); ++k) results[k].target = s.classes[k];
  if (s.method == v1::FoolingConfig::EVOLUTION) {
    RETURN_IF_ERROR(Evolve(s, model, context, *loss, results));
  } else {
    RETURN_IF_ERROR(Ascend(s, model, context, *loss, results));
  }

  v1::Report report;
  const int64_t per_example = NumElements(model.ExampleShape());
  Shape images_shape = model.ExampleShape();
  images_shape.insert(images_shape.begin(), int64_t(results.size()));
  Tensor images(images_shape);
  std::vector<GridImage> cells;
  for (size_t k = 0; k < results.size(); ++k) {
    const ClassResult& result = results[k];
    v1::FoolingClass* row = report.mutable_fooling()->add_classes();
    row->set_target(result.target);
    row->set_confidence(result.confidence);
    row->set_iterations(result.iterations);
    row->set_reached(result.reached);
    std::copy(result.image.begin(), result.image.end(), images.data() + k * per_example);
    cells.push_back({result.image, loss->preprocessor().clip_min(), loss->preprocessor().clip_max(),
                     absl::StrFormat("%d %.4f", result.target, std::floor(result.confidence * 1e4) / 1e4), !result.reached});
  }
  RETURN_IF_ERROR(context.WriteArtifact("fooling_images.npy", "application/x-npy", SerializeNpy(FromTensor(images))));
  if (const absl::StatusOr<ImageShape> picture = ImageShapeOf(images.shape()); picture.ok()) {
    ASSIGN_OR_RETURN(const std::string png,
                     ImageGridPng(*picture, cells, std::min<int64_t>(kGridColumns, int64_t(cells.size()))));
    RETURN_IF_ERROR(context.WriteArtifact("fooling_images.png", "image/png", png));
  }
  return report;
}

}  // namespace crucible
