// Parser for command lines of the shape
//
//   crucible [--server HOST:PORT] <verb words> <operands> [options]
//
// against a table of CommandSpecs: verbs are one or two words ("run",
// "model list"), operands are positional and all required, options are long
// ("--name N", "--name=N", switches such as "--json") with an optional short
// alias ("-o FILE"); a separate value may not start with "--" (that is taken
// for a forgotten value; "--name=--x" passes one). "--server HOST:PORT" and "--help"/"-h" are accepted
// anywhere, "help [verb words]" in place of a verb, and "--" ends the options.
// Pure: no I/O, no globals.
//
//   absl::StatusOr<ParsedCommand> cmd = ParseCommandLine(args, specs);
//   if (!cmd.ok()) ...                         // a usage error (see cli_errors.h)
//   if (cmd->help()) std::cout << UsageText(specs, cmd->words());
//   std::string id = cmd->operands()[0];
//   std::optional<std::string> name = cmd->value("--name");
#ifndef CRUCIBLE_CLIENTS_CLI_COMMAND_LINE_H_
#define CRUCIBLE_CLIENTS_CLI_COMMAND_LINE_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace crucible {

struct OptionSpec {
  std::string name{};        // "--labels".
  std::string value_name{};  // "Y.npy"; empty for a switch that takes no value.
  bool required = false;
  std::string alias{};       // "-o", or empty.
};

struct CommandSpec {
  std::vector<std::string> words{};     // {"model", "list"}.
  std::vector<std::string> operands{};  // {"JOB_ID", "NAME"}: positional, all required.
  std::vector<OptionSpec> options{};
  std::string summary{};                // One line for the usage text.

  std::string Name() const;           // "model list".
  std::string UsageLine() const;      // "model list [--page-size N] ... [--json]".
};

// One parsed command line. Unless help() is set, spec() is the matched
// command, operands() has exactly its operands, and every required option has
// a value.
class ParsedCommand {
 public:
  // nullptr only for a help request about a group of commands ("help model").
  const CommandSpec* spec() const { return spec_; }
  // The verb words given (for help: the topic, possibly empty).
  const std::vector<std::string>& words() const { return words_; }
  const std::vector<std::string>& operands() const { return operands_; }
  bool help() const { return help_; }
  // From --server, when given.
  const std::optional<std::string>& server() const { return server_; }

  // The value of option `name` ("--name", never the alias), if given.
  std::optional<std::string> value(std::string_view name) const;
  // Whether option `name` was given (switches and options with values).
  bool has(std::string_view name) const;

 private:
  friend absl::StatusOr<ParsedCommand> ParseCommandLine(const std::vector<std::string>& args,
                                                        const std::vector<CommandSpec>& specs);

  const CommandSpec* spec_ = nullptr;
  std::vector<std::string> words_;
  std::vector<std::string> operands_;
  std::map<std::string, std::string, std::less<>> options_;
  std::optional<std::string> server_;
  bool help_ = false;
};

// Parses `args` (argv without the program name). Errors are usage errors that
// say what is wrong: an unknown or incomplete command, an unknown option, a
// missing value, an option given twice, a missing required option, or a wrong
// number of operands. The returned value points into `specs`.
absl::StatusOr<ParsedCommand> ParseCommandLine(const std::vector<std::string>& args,
                                               const std::vector<CommandSpec>& specs);

// Usage of every command whose words start with `topic` (all commands for an
// empty topic), one "crucible ..." line each with its summary.
std::string UsageText(const std::vector<CommandSpec>& specs, const std::vector<std::string>& topic);

}  // namespace crucible

#endif  // CRUCIBLE_CLIENTS_CLI_COMMAND_LINE_H_
