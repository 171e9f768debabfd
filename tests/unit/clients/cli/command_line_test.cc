#include "clients/cli/command_line.h"

#include <string>
#include <vector>

#include "clients/cli/cli_errors.h"
#include "clients/cli/cli_grammar.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crucible {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Optional;

absl::StatusOr<ParsedCommand> Parse(std::vector<std::string> args) {
  return ParseCommandLine(args, CrucibleCommands());
}

// The message of a usage error; fails the test for anything else.
std::string UsageMessage(const absl::StatusOr<ParsedCommand>& parsed) {
  EXPECT_FALSE(parsed.ok());
  if (parsed.ok()) return "";
  EXPECT_TRUE(IsUsageError(parsed.status())) << parsed.status();
  return std::string(parsed.status().message());
}

TEST(CommandLineTest, RunWithEveryOption) {
  absl::StatusOr<ParsedCommand> cmd =
      Parse({"--server", "host:1234", "run", "--engine", "pgd", "--model=m.onnx", "--inputs", "x.npy",
             "--labels", "y.npy", "--config", "c.json", "--json"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_FALSE(cmd->help());
  EXPECT_EQ(cmd->spec()->Name(), "run");
  EXPECT_THAT(cmd->server(), Optional(std::string("host:1234")));
  EXPECT_THAT(cmd->value("--engine"), Optional(std::string("pgd")));
  EXPECT_THAT(cmd->value("--model"), Optional(std::string("m.onnx")));
  EXPECT_THAT(cmd->value("--inputs"), Optional(std::string("x.npy")));
  EXPECT_THAT(cmd->value("--labels"), Optional(std::string("y.npy")));
  EXPECT_THAT(cmd->value("--config"), Optional(std::string("c.json")));
  EXPECT_EQ(cmd->value("--property"), std::nullopt);
  EXPECT_TRUE(cmd->has("--json"));
  EXPECT_FALSE(cmd->has("--property"));
  EXPECT_THAT(cmd->operands(), IsEmpty());
}

TEST(CommandLineTest, ServerIsAcceptedAfterTheVerbAndWithEquals) {
  absl::StatusOr<ParsedCommand> cmd = Parse({"job", "get", "j1", "--server=h:1"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_EQ(cmd->spec()->Name(), "job get");
  EXPECT_THAT(cmd->operands(), ElementsAre("j1"));
  EXPECT_THAT(cmd->server(), Optional(std::string("h:1")));
}

TEST(CommandLineTest, NoServerMeansNone) {
  absl::StatusOr<ParsedCommand> cmd = Parse({"model", "list"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_EQ(cmd->server(), std::nullopt);
}

TEST(CommandLineTest, OperandsAndOptionsInAnyOrder) {
  absl::StatusOr<ParsedCommand> cmd = Parse({"artifact", "download", "-o", "out.png", "job7", "fool_3.png"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_THAT(cmd->operands(), ElementsAre("job7", "fool_3.png"));
  // The alias is stored under the long name.
  EXPECT_THAT(cmd->value("--output"), Optional(std::string("out.png")));
}

TEST(CommandLineTest, ValueMayLookLikeAnOption) {
  absl::StatusOr<ParsedCommand> cmd = Parse({"artifact", "download", "j", "n", "-o", "-"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_THAT(cmd->value("--output"), Optional(std::string("-")));
}

TEST(CommandLineTest, DoubleDashEndsOptions) {
  absl::StatusOr<ParsedCommand> cmd = Parse({"model", "get", "--", "--weird-id"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_THAT(cmd->operands(), ElementsAre("--weird-id"));
}

TEST(CommandLineTest, InlineValueMayStartWithDashes) {
  absl::StatusOr<ParsedCommand> cmd = Parse({"model", "upload", "m.onnx", "--name=--odd"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_THAT(cmd->value("--name"), Optional(std::string("--odd")));
}

TEST(CommandLineTest, EmptyInlineValueIsAValue) {
  absl::StatusOr<ParsedCommand> cmd = Parse({"model", "upload", "m.onnx", "--name="});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_THAT(cmd->value("--name"), Optional(std::string("")));
}

TEST(CommandLineTest, UsageErrors) {
  EXPECT_EQ(UsageMessage(Parse({})), "no command given");
  EXPECT_EQ(UsageMessage(Parse({"modle", "list"})), "unknown command 'crucible modle'");
  EXPECT_EQ(UsageMessage(Parse({"model", "lst"})), "unknown command 'crucible model lst'");
  EXPECT_EQ(UsageMessage(Parse({"model"})),
            "incomplete command 'crucible model' (expected one of: upload, list, get, delete)");
  EXPECT_EQ(UsageMessage(Parse({"run", "--model", "m.onnx"})), "'crucible run' needs --engine E");
  EXPECT_EQ(UsageMessage(Parse({"run", "--engine", "evaluate"})), "'crucible run' needs --model M.onnx");
  EXPECT_EQ(UsageMessage(Parse({"dataset", "upload", "--labels", "y"})),
            "'crucible dataset upload' needs --inputs X");
  EXPECT_EQ(UsageMessage(Parse({"model", "get"})), "'crucible model get' needs ID");
  EXPECT_EQ(UsageMessage(Parse({"artifact", "download", "j"})), "'crucible artifact download' needs NAME");
  EXPECT_EQ(UsageMessage(Parse({"model", "get", "a", "b"})), "unexpected argument 'b' for 'crucible model get'");
  EXPECT_EQ(UsageMessage(Parse({"model", "get", "a", "--name", "n"})),
            "unknown option '--name' for 'crucible model get'");
  EXPECT_EQ(UsageMessage(Parse({"--json", "model", "list"})),
            "unknown option '--json' (command options go after the command)");
  EXPECT_EQ(UsageMessage(Parse({"model", "list", "--page-size"})), "option --page-size needs a value N");
  EXPECT_EQ(UsageMessage(Parse({"model", "list", "--json=yes"})), "option --json takes no value");
  EXPECT_EQ(UsageMessage(Parse({"model", "list", "--all", "--all"})), "option --all given twice");
  EXPECT_EQ(UsageMessage(Parse({"--server", "a:1", "model", "list", "--server", "b:2"})),
            "option --server given twice");
  EXPECT_EQ(UsageMessage(Parse({"--server"})), "option --server needs a value HOST:PORT");
  EXPECT_EQ(UsageMessage(Parse({"run", "--engine", "verify", "--model", "--property", "p.vnnlib"})),
            "option --model needs a value M.onnx");
}

TEST(CommandLineTest, HelpForms) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"help"}, {"--help"}, {"-h"}, {"--server", "h:1", "--help"}}) {
    absl::StatusOr<ParsedCommand> cmd = Parse(args);
    ASSERT_TRUE(cmd.ok()) << cmd.status();
    EXPECT_TRUE(cmd->help());
    EXPECT_THAT(cmd->words(), IsEmpty());
  }
  absl::StatusOr<ParsedCommand> group = Parse({"help", "job"});
  ASSERT_TRUE(group.ok()) << group.status();
  EXPECT_TRUE(group->help());
  EXPECT_EQ(group->spec(), nullptr);
  EXPECT_THAT(group->words(), ElementsAre("job"));

  absl::StatusOr<ParsedCommand> verb = Parse({"job", "list", "--help"});
  ASSERT_TRUE(verb.ok()) << verb.status();
  EXPECT_TRUE(verb->help());
  ASSERT_NE(verb->spec(), nullptr);
  EXPECT_EQ(verb->spec()->Name(), "job list");
}

TEST(CommandLineTest, HelpWinsOverMistakes) {
  absl::StatusOr<ParsedCommand> cmd = Parse({"run", "--bogus", "--help"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_TRUE(cmd->help());
  EXPECT_THAT(cmd->words(), ElementsAre("run"));
}

TEST(CommandLineTest, UsageLine) {
  const CommandSpec spec{.words = {"artifact", "download"},
                         .operands = {"JOB_ID", "NAME"},
                         .options = {{.name = "--output", .value_name = "FILE", .alias = "-o"},
                                     {.name = "--mode", .value_name = "M", .required = true},
                                     {.name = "--json"}}};
  EXPECT_EQ(spec.Name(), "artifact download");
  EXPECT_EQ(spec.UsageLine(), "artifact download JOB_ID NAME [-o FILE] --mode M [--json]");
}

TEST(CommandLineTest, RunUsageMatchesTheContract) {
  absl::StatusOr<ParsedCommand> cmd = Parse({"help", "run"});
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_EQ(cmd->spec()->UsageLine(),
            "run --engine E --model M.onnx [--inputs X.npy] [--labels Y.npy] [--property P.vnnlib] "
            "[--naps NAPS.json] [--config C.json] [--json]");
}

TEST(CommandLineTest, UsageTextListsTheTopic) {
  const std::string text = CrucibleUsage({"job"});
  EXPECT_THAT(text, HasSubstr("  job submit SPEC.json [--watch] [--json]\n"));
  EXPECT_THAT(text, HasSubstr("  job list [--state S] [--engine E] [--model ID]"));
  EXPECT_THAT(text, Not(HasSubstr("model upload")));
  EXPECT_THAT(text, HasSubstr("127.0.0.1:50051"));
  EXPECT_THAT(CrucibleUsage({}), HasSubstr("  model upload M.onnx [--name N] [--json]\n"));
}

TEST(CommandLineTest, EveryVerbOfTheContractExists) {
  std::vector<std::string> names;
  for (const CommandSpec& spec : CrucibleCommands()) names.push_back(spec.Name());
  EXPECT_THAT(names, ElementsAre("run", "gate", "model upload", "model list", "model get", "model delete",
                                 "dataset upload", "dataset get", "job submit", "job get", "job list",
                                 "job watch", "job cancel", "job report", "artifact download"));
}

}  // namespace
}  // namespace crucible
