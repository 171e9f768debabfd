#include "clients/cli/cli_grammar.h"

#include "absl/strings/str_cat.h"

namespace crucible {
namespace {

const OptionSpec kJson{.name = "--json"};
const OptionSpec kPageSize{.name = "--page-size", .value_name = "N"};
const OptionSpec kPageToken{.name = "--page-token", .value_name = "T"};
const OptionSpec kAll{.name = "--all"};
const OptionSpec kName{.name = "--name", .value_name = "N"};

std::vector<CommandSpec> BuildCommands() {
  return {
      {.words = {"run"},
       .options = {{.name = "--engine", .value_name = "E", .required = true},
                   {.name = "--model", .value_name = "M.onnx", .required = true},
                   {.name = "--inputs", .value_name = "X.npy"},
                   {.name = "--labels", .value_name = "Y.npy"},
                   {.name = "--property", .value_name = "P.vnnlib"},
                   {.name = "--naps", .value_name = "NAPS.json"},
                   {.name = "--config", .value_name = "C.json"},
                   kJson},
       .summary = "Upload the model (unless the server has it) and the data, run engine E on them, "
                  "show progress and print the finished job."},
      {.words = {"gate"},
       .options = {{.name = "--policy", .value_name = "P.json", .required = true},
                   {.name = "--model", .value_name = "M.onnx", .required = true},
                   {.name = "--inputs", .value_name = "X.npy"},
                   {.name = "--labels", .value_name = "Y.npy"},
                   {.name = "--junit", .value_name = "F.xml"},
                   {.name = "--json", .value_name = "F.json"},
                   {.name = "--markdown", .value_name = "F.md"}},
       .summary = "Run the checks of the GatePolicy in P.json as jobs on the model and print a summary; "
                  "exit 0 when all pass, 1 when one fails, 2 on errors. Optionally write JUnit XML, "
                  "JSON and Markdown summaries."},
      {.words = {"model", "upload"},
       .operands = {"M.onnx"},
       .options = {kName, kJson},
       .summary = "Upload an ONNX model; skipped when the server already has its sha256."},
      {.words = {"model", "list"},
       .options = {kPageSize, kPageToken, kAll, kJson},
       .summary = "List models (--all: every page)."},
      {.words = {"model", "get"}, .operands = {"ID"}, .options = {kJson}, .summary = "Show a model."},
      {.words = {"model", "delete"}, .operands = {"ID"}, .options = {kJson}, .summary = "Delete a model."},
      {.words = {"dataset", "upload"},
       .options = {{.name = "--inputs", .value_name = "X", .required = true},
                   {.name = "--labels", .value_name = "Y"},
                   kName,
                   kJson},
       .summary = "Upload inputs (NPY or IDX) and optional labels."},
      {.words = {"dataset", "get"}, .operands = {"ID"}, .options = {kJson}, .summary = "Show a dataset."},
      {.words = {"job", "submit"},
       .operands = {"SPEC.json"},
       .options = {{.name = "--watch"}, kJson},
       .summary = "Submit the job in SPEC.json (JSON of SubmitJobRequest); --watch: wait for it."},
      {.words = {"job", "get"}, .operands = {"ID"}, .options = {kJson}, .summary = "Show a job."},
      {.words = {"job", "list"},
       .options = {{.name = "--state", .value_name = "S"},
                   {.name = "--engine", .value_name = "E"},
                   {.name = "--model", .value_name = "ID"},
                   kPageSize,
                   kPageToken,
                   kAll,
                   kJson},
       .summary = "List jobs (--all: every page)."},
      {.words = {"job", "watch"},
       .operands = {"ID"},
       .options = {kJson},
       .summary = "Show a job's progress until it ends, then print it."},
      {.words = {"job", "cancel"}, .operands = {"ID"}, .options = {kJson}, .summary = "Cancel a job."},
      {.words = {"job", "report"},
       .operands = {"ID"},
       .options = {kJson},
       .summary = "Print the report of a finished job."},
      {.words = {"artifact", "download"},
       .operands = {"JOB_ID", "NAME"},
       .options = {{.name = "--output", .value_name = "FILE", .alias = "-o"}},
       .summary = "Save a job's artifact to FILE (default: NAME; '-': stdout)."},
  };
}

}  // namespace

const std::vector<CommandSpec>& CrucibleCommands() {
  static const std::vector<CommandSpec>* const commands = new std::vector<CommandSpec>(BuildCommands());
  return *commands;
}

std::string CrucibleUsage(const std::vector<std::string>& topic) {
  return absl::StrCat(
      UsageText(CrucibleCommands(), topic),
      "\nThe server is --server, else $CRUCIBLE_SERVER, else ", kDefaultServer, ".\n",
      "--json prints the protobuf JSON of the result on stdout; progress goes to stderr.\n",
      "Exit status: 0 done (job SUCCEEDED), 1 job FAILED or CANCELLED, "
      "2 usage, connection or server error.\n",
      "gate: --json F.json writes the summary to F.json; exit 0 every check passed, 1 a check failed, "
      "2 an error (bad policy, connection, a job that could not run). See docs/ci.md.\n");
}

}  // namespace crucible
