// The grammar of the `crucible` command (DESIGN.md, "The command line
// contract"): every verb with its operands and options, and the help text.
//
//   ASSIGN_OR_RETURN(ParsedCommand cmd, ParseCommandLine(args, CrucibleCommands()));
//   if (cmd.help()) std::fputs(CrucibleUsage(cmd.words()).c_str(), stdout);
#ifndef CRUCIBLE_CLIENTS_CLI_CLI_GRAMMAR_H_
#define CRUCIBLE_CLIENTS_CLI_CLI_GRAMMAR_H_

#include <string>
#include <vector>

#include "clients/cli/command_line.h"

namespace crucible {

// Where the client connects without --server and without $CRUCIBLE_SERVER.
inline constexpr char kDefaultServer[] = "127.0.0.1:50051";

// run; gate; model upload|list|get|delete; dataset upload|get;
// job submit|get|list|watch|cancel|report; artifact download.
const std::vector<CommandSpec>& CrucibleCommands();

// Usage of the commands under `topic` (all for an empty topic), followed by
// how the server is chosen and what the exit statuses mean.
std::string CrucibleUsage(const std::vector<std::string>& topic);

}  // namespace crucible

#endif  // CRUCIBLE_CLIENTS_CLI_CLI_GRAMMAR_H_
