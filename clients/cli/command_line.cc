#include "clients/cli/command_line.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "clients/cli/cli_errors.h"

namespace crucible {
namespace {

const OptionSpec kServerOption{.name = "--server", .value_name = "HOST:PORT"};

bool HasPrefix(const std::vector<std::string>& words, const std::vector<std::string>& prefix) {
  return words.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), words.begin());
}

bool IsHelpOption(std::string_view arg) { return arg == "--help" || arg == "-h"; }

const OptionSpec* FindOption(const CommandSpec& spec, std::string_view name) {
  for (const OptionSpec& option : spec.options) {
    if (option.name == name || (!option.alias.empty() && option.alias == name)) return &option;
  }
  return nullptr;
}

// The words that may follow `prefix` ("upload", "list", ...), in table order.
std::vector<std::string> NextWords(const std::vector<CommandSpec>& specs,
                                   const std::vector<std::string>& prefix) {
  std::vector<std::string> next;
  for (const CommandSpec& spec : specs) {
    if (spec.words.size() > prefix.size() && HasPrefix(spec.words, prefix) &&
        std::find(next.begin(), next.end(), spec.words[prefix.size()]) == next.end()) {
      next.push_back(spec.words[prefix.size()]);
    }
  }
  return next;
}

std::string OptionUsage(const OptionSpec& option) {
  std::string usage = option.alias.empty() ? option.name : option.alias;
  if (!option.value_name.empty()) absl::StrAppend(&usage, " ", option.value_name);
  return option.required ? usage : absl::StrCat("[", usage, "]");
}

}  // namespace

std::string CommandSpec::Name() const { return absl::StrJoin(words, " "); }

std::string CommandSpec::UsageLine() const {
  std::vector<std::string> parts = words;
  parts.insert(parts.end(), operands.begin(), operands.end());
  for (const OptionSpec& option : options) parts.push_back(OptionUsage(option));
  return absl::StrJoin(parts, " ");
}

std::optional<std::string> ParsedCommand::value(std::string_view name) const {
  auto it = options_.find(name);
  if (it == options_.end()) return std::nullopt;
  return it->second;
}

bool ParsedCommand::has(std::string_view name) const { return options_.find(name) != options_.end(); }

absl::StatusOr<ParsedCommand> ParseCommandLine(const std::vector<std::string>& args,
                                               const std::vector<CommandSpec>& specs) {
  ParsedCommand parsed;
  // After the first error only --help is looked for: help wins over mistakes.
  absl::Status error;
  bool options_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!options_ended && arg == "--") {
      options_ended = true;
      continue;
    }
    const bool is_option = !options_ended && arg.size() > 1 && arg[0] == '-';
    if (is_option && IsHelpOption(arg)) {
      parsed.help_ = true;
      continue;
    }
    if (!error.ok()) continue;

    if (!is_option) {
      if (parsed.spec_ != nullptr) {
        parsed.operands_.push_back(arg);
      } else if (parsed.words_.empty() && !parsed.help_ && arg == "help") {
        parsed.help_ = true;
      } else {
        std::vector<std::string> words = parsed.words_;
        words.push_back(arg);
        bool known = false;
        for (const CommandSpec& spec : specs) {
          if (spec.words == words) parsed.spec_ = &spec;
          known = known || HasPrefix(spec.words, words);
        }
        if (known) {
          parsed.words_ = std::move(words);
        } else {
          error = UsageError(absl::StrCat("unknown command 'crucible ", absl::StrJoin(words, " "), "'"));
        }
      }
      continue;
    }

    std::string name = arg;
    std::optional<std::string> inline_value;
    if (size_t equals = arg.find('='); absl::StartsWith(arg, "--") && equals != std::string::npos) {
      name = arg.substr(0, equals);
      inline_value = arg.substr(equals + 1);
    }
    const OptionSpec* option = name == kServerOption.name ? &kServerOption
                               : parsed.spec_ != nullptr  ? FindOption(*parsed.spec_, name)
                                                          : nullptr;
    if (option == nullptr) {
      error = UsageError(parsed.spec_ != nullptr
                             ? absl::StrCat("unknown option '", name, "' for 'crucible ",
                                            parsed.spec_->Name(), "'")
                             : absl::StrCat("unknown option '", name, "' (command options go after the command)"));
      continue;
    }
    std::string value;
    if (option->value_name.empty()) {
      if (inline_value.has_value()) {
        error = UsageError(absl::StrCat("option ", option->name, " takes no value"));
        continue;
      }
    } else if (inline_value.has_value()) {
      value = *inline_value;
    } else if (i + 1 < args.size() && !absl::StartsWith(args[i + 1], "--")) {
      value = args[++i];
    } else {
      error = UsageError(absl::StrCat("option ", option->name, " needs a value ", option->value_name));
      continue;
    }
    const bool repeated = option == &kServerOption
                              ? parsed.server_.has_value()
                              : !parsed.options_.emplace(option->name, value).second;
    if (repeated) {
      error = UsageError(absl::StrCat("option ", option->name, " given twice"));
      continue;
    }
    if (option == &kServerOption) parsed.server_ = value;
  }

  if (parsed.help_) return parsed;
  if (!error.ok()) return error;
  if (parsed.spec_ == nullptr) {
    if (parsed.words_.empty()) return UsageError("no command given");
    return UsageError(absl::StrCat("incomplete command 'crucible ", absl::StrJoin(parsed.words_, " "),
                                   "' (expected one of: ",
                                   absl::StrJoin(NextWords(specs, parsed.words_), ", "), ")"));
  }
  const CommandSpec& spec = *parsed.spec_;
  if (parsed.operands_.size() < spec.operands.size()) {
    std::vector<std::string> missing(spec.operands.begin() + parsed.operands_.size(), spec.operands.end());
    return UsageError(absl::StrCat("'crucible ", spec.Name(), "' needs ", absl::StrJoin(missing, " ")));
  }
  if (parsed.operands_.size() > spec.operands.size()) {
    return UsageError(absl::StrCat("unexpected argument '", parsed.operands_[spec.operands.size()],
                                   "' for 'crucible ", spec.Name(), "'"));
  }
  for (const OptionSpec& option : spec.options) {
    if (option.required && !parsed.has(option.name)) {
      return UsageError(absl::StrCat("'crucible ", spec.Name(), "' needs ", option.name, " ",
                                     option.value_name));
    }
  }
  return parsed;
}

std::string UsageText(const std::vector<CommandSpec>& specs, const std::vector<std::string>& topic) {
  std::string text = "usage: crucible [--server HOST:PORT] <command> [arguments]\n\ncommands:\n";
  for (const CommandSpec& spec : specs) {
    if (!HasPrefix(spec.words, topic)) continue;
    absl::StrAppend(&text, "  ", spec.UsageLine(), "\n");
    if (!spec.summary.empty()) absl::StrAppend(&text, "      ", spec.summary, "\n");
  }
  return text;
}

}  // namespace crucible
