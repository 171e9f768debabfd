// crucible-vnncomp: runs a VNN-COMP benchmark's instances.csv in-process with
// the `verify` engine's verifier and writes one result file per instance in
// VNN-COMP's format ("sat" followed by ((X_0 v) ... (Y_0 v)), or "unsat",
// "timeout", "unknown", "error"), honouring each instance's timeout. With
// --ground_truth (a csv whose first two columns name the onnx and vnnlib
// files and whose last column is sat/unsat) it also counts solved and wrong
// answers. One line per instance goes to stdout, a summary to stderr.
//
//   crucible-vnncomp --benchmark_dir ../shared/data/vnncomp/acasxu --results_dir /tmp/acas
//       --ground_truth ../shared/data/vnncomp/acasxu/ground_truth.csv --threads 2
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "engines/core/file_io.h"
#include "engines/core/model.h"
#include "engines/core/status_macros.h"
#include "engines/verify/branch_and_bound.h"
#include "engines/verify/executor_forward.h"
#include "engines/verify/network.h"
#include "engines/verify/vnnlib.h"

ABSL_FLAG(std::string, benchmark_dir, "", "directory holding instances.csv and the files it names");
ABSL_FLAG(std::string, instances, "instances.csv", "instances csv, relative to --benchmark_dir");
ABSL_FLAG(std::string, results_dir, "", "where to write one result file per instance (optional)");
ABSL_FLAG(std::string, ground_truth, "", "csv with onnx,vnnlib,...,final (optional)");
ABSL_FLAG(int, threads, 2, "worker threads per instance");
ABSL_FLAG(double, timeout_scale, 1.0, "multiply every instance's timeout by this");
ABSL_FLAG(int, first, 0, "first instance (0-based) to run");
ABSL_FLAG(int, count, -1, "number of instances to run (-1: all)");
ABSL_FLAG(int, alpha_iterations, crucible::VerifierOptions{}.alpha_iterations,
          "slope-optimisation steps per undecided domain (0: off)");
ABSL_FLAG(int, domain_descent_steps, crucible::VerifierOptions{}.domain_descent_steps,
          "margin-descent steps per undecided input-split domain (0: off)");
ABSL_FLAG(bool, best_first, crucible::VerifierOptions{}.best_first,
          "search undecided domains best-first by their parent's lowest case bound (else depth-first)");
ABSL_FLAG(int64_t, smt_unstable_limit, crucible::VerifierOptions{}.smt_unstable_limit,
          "Z3 on input-split domains with at most this many unstable ReLUs");
ABSL_FLAG(int, falsify_samples, crucible::FalsifyOptions{}.samples, "random samples of the falsification pre-pass");
ABSL_FLAG(int, falsify_restarts, crucible::FalsifyOptions{}.restarts, "gradient-descent restarts of the pre-pass");
ABSL_FLAG(int, falsify_steps, crucible::FalsifyOptions{}.steps, "steps per restart of the pre-pass");

namespace crucible {
namespace {

std::string Basename(const std::string& path) { return std::filesystem::path(path).filename().string(); }

std::string ResultName(VerifierOutcome outcome) {
  switch (outcome) {
    case VerifierOutcome::kUnsat: return "unsat";
    case VerifierOutcome::kSat: return "sat";
    case VerifierOutcome::kTimeout: return "timeout";
    default: return "unknown";
  }
}

absl::StatusOr<VerifierResult> RunInstance(const std::string& onnx, const std::string& vnnlib, double timeout) {
  ASSIGN_OR_RETURN(Model model, Model::FromOnnxFile(onnx));
  ASSIGN_OR_RETURN(AffineNetwork net, ExtractAffineNetwork(model));
  ASSIGN_OR_RETURN(std::string text, ReadFileBytes(vnnlib));
  ASSIGN_OR_RETURN(Property property, ParseVnnLib(text));
  if (property.num_inputs != net.input_size() || property.num_outputs != net.output_size()) {
    return absl::InvalidArgumentError("property and model sizes differ");
  }
  ASSIGN_OR_RETURN(ForwardPass forward, MakeExecutorForwardPass(model, 1));
  VerifierOptions options;
  options.timeout_seconds = timeout;
  options.threads = absl::GetFlag(FLAGS_threads);
  options.alpha_iterations = absl::GetFlag(FLAGS_alpha_iterations);
  options.domain_descent_steps = absl::GetFlag(FLAGS_domain_descent_steps);
  options.smt_unstable_limit = absl::GetFlag(FLAGS_smt_unstable_limit);
  options.best_first = absl::GetFlag(FLAGS_best_first);
  options.falsify.samples = absl::GetFlag(FLAGS_falsify_samples);
  options.falsify.restarts = absl::GetFlag(FLAGS_falsify_restarts);
  options.falsify.steps = absl::GetFlag(FLAGS_falsify_steps);
  return VerifyProperty(net, property, options, forward, [] { return false; }, nullptr);
}

std::string VnnCompResult(const std::string& result, const VerifierResult& r) {
  std::string out = result + "\n";
  if (result != "sat") return out;
  out += "(";
  for (size_t i = 0; i < r.input.size(); ++i) absl::StrAppend(&out, i == 0 ? "" : "\n ", absl::StrFormat("(X_%d %.17g)", i, r.input[i]));
  for (size_t j = 0; j < r.output.size(); ++j) absl::StrAppend(&out, absl::StrFormat("\n (Y_%d %.17g)", j, r.output[j]));
  out += ")\n";
  return out;
}

int Main() {
  const std::filesystem::path dir = absl::GetFlag(FLAGS_benchmark_dir);
  std::ifstream csv(dir / absl::GetFlag(FLAGS_instances));
  if (!csv) {
    std::cerr << "cannot read " << (dir / absl::GetFlag(FLAGS_instances)) << "\n";
    return 2;
  }
  std::map<std::pair<std::string, std::string>, std::string> truth;
  if (!absl::GetFlag(FLAGS_ground_truth).empty()) {
    std::ifstream gt(absl::GetFlag(FLAGS_ground_truth));
    std::string line;
    while (std::getline(gt, line)) {
      std::vector<std::string> f = absl::StrSplit(std::string(absl::StripAsciiWhitespace(line)), ',');
      if (f.size() >= 3 && f[0] != "onnx") truth[{Basename(f[0]), Basename(f[1])}] = f.back();
    }
  }
  const std::string results_dir = absl::GetFlag(FLAGS_results_dir);
  if (!results_dir.empty()) std::filesystem::create_directories(results_dir);
  int index = -1, run = 0, solved = 0, wrong = 0, with_truth = 0;
  double total_seconds = 0;
  std::string line;
  while (std::getline(csv, line)) {
    line = std::string(absl::StripAsciiWhitespace(line));
    if (line.empty()) continue;
    ++index;
    if (index < absl::GetFlag(FLAGS_first)) continue;
    if (absl::GetFlag(FLAGS_count) >= 0 && run >= absl::GetFlag(FLAGS_count)) break;
    std::vector<std::string> f = absl::StrSplit(line, ',');
    if (f.size() < 3) {
      std::cerr << "skipping malformed line: " << line << "\n";
      continue;
    }
    ++run;
    const double timeout = std::stod(f[2]) * absl::GetFlag(FLAGS_timeout_scale);
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<VerifierResult> r = RunInstance((dir / f[0]).string(), (dir / f[1]).string(), timeout);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    total_seconds += seconds;
    const std::string result = r.ok() ? ResultName(r->outcome) : "error";
    std::string verdict;
    auto it = truth.find({Basename(f[0]), Basename(f[1])});
    if (it != truth.end()) {
      ++with_truth;
      if (result == "sat" || result == "unsat") {
        if (result == it->second) {
          ++solved;
          verdict = "ok";
        } else {
          ++wrong;
          verdict = "WRONG";
        }
      } else {
        verdict = "unsolved";
      }
    } else if (result == "sat" || result == "unsat") {
      ++solved;
    }
    std::cout << absl::StrFormat("%d,%s,%s,%s,%.3f,%s,%s,%s\n", index, Basename(f[0]), Basename(f[1]), result,
                                 seconds, it == truth.end() ? "" : it->second, verdict,
                                 r.ok() ? r->detail : std::string(r.status().message()))
              << std::flush;
    if (!results_dir.empty()) {
      std::ofstream out(std::filesystem::path(results_dir) /
                        absl::StrCat(std::filesystem::path(f[0]).stem().string(), "__",
                                     std::filesystem::path(f[1]).stem().string(), ".txt"));
      out << (r.ok() ? VnnCompResult(result, *r) : "error\n");
    }
  }
  std::cerr << absl::StrFormat("%d instances, %d solved, %d wrong, %.1f s total\n", run, solved, wrong, total_seconds);
  return wrong > 0 ? 1 : 0;
}

}  // namespace
}  // namespace crucible

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return crucible::Main();
}
