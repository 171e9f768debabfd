#include "clients/cli/progress_bar.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/unit/clients/cli/memory_file.h"

namespace crucible {
namespace {

v1::Job MakeJob(v1::JobState state, double fraction, const std::string& stage, const std::string& message) {
  v1::Job job;
  job.set_id("j42");
  job.set_state(state);
  job.mutable_progress()->set_fraction(fraction);
  job.mutable_progress()->set_stage(stage);
  job.mutable_progress()->set_message(message);
  return job;
}

TEST(ProgressBarTest, RenderBar) {
  EXPECT_EQ(ProgressBar::RenderBar(MakeJob(v1::RUNNING, 0.5, "attack", "batch 5 of 10"), 100),
            "[##########..........]  RUNNING 50%  attack: batch 5 of 10");
  EXPECT_EQ(ProgressBar::RenderBar(MakeJob(v1::QUEUED, 0, "", ""), 100), "[....................]  QUEUED 0%");
  EXPECT_EQ(ProgressBar::RenderBar(MakeJob(v1::SUCCEEDED, 1.5, "", ""), 100),
            "[####################]  SUCCEEDED 100%");
}

TEST(ProgressBarTest, RenderBarFitsTheWidthWithoutSplittingCharacters) {
  const v1::Job job = MakeJob(v1::RUNNING, 0.25, "verify", "x\xc3\xa9xxxxxxxxxxxxxxxx");
  const std::string full = ProgressBar::RenderBar(job, 1000);
  const size_t accent = full.find("\xc3\xa9");
  ASSERT_NE(accent, std::string::npos);
  EXPECT_EQ(ProgressBar::RenderBar(job, 30), full.substr(0, 30));
  // Cutting between the two bytes of 'é' drops the whole character.
  EXPECT_EQ(ProgressBar::RenderBar(job, static_cast<int>(accent) + 1), full.substr(0, accent));
  EXPECT_EQ(ProgressBar::RenderBar(job, 0), "");
}

TEST(ProgressBarTest, ControlCharactersBecomeSpaces) {
  EXPECT_EQ(ProgressBar::RenderLine(MakeJob(v1::RUNNING, 0.1, "a\nb", "c\rd\te")),
            "job j42: RUNNING 10%  a b: c d e");
}

TEST(ProgressBarTest, LinePerChangeWhenNotATerminal) {
  MemoryFile out;
  ProgressBar bar(out.file(), /*terminal=*/false, 80);
  bar.Update(MakeJob(v1::QUEUED, 0, "", ""));
  bar.Update(MakeJob(v1::RUNNING, 0.101, "evaluate", "batch 1"));
  bar.Update(MakeJob(v1::RUNNING, 0.109, "evaluate", "batch 1"));  // Same whole percent: nothing.
  bar.Update(MakeJob(v1::RUNNING, 0.5, "evaluate", "batch 5"));
  bar.Update(MakeJob(v1::SUCCEEDED, 1, "", ""));
  bar.Finish();
  EXPECT_EQ(out.text(),
            "job j42: QUEUED 0%\n"
            "job j42: RUNNING 10%  evaluate: batch 1\n"
            "job j42: RUNNING 50%  evaluate: batch 5\n"
            "job j42: SUCCEEDED 100%\n");
}

TEST(ProgressBarTest, RedrawsInPlaceOnATerminal) {
  MemoryFile out;
  ProgressBar bar(out.file(), /*terminal=*/true, 41);
  bar.Update(MakeJob(v1::RUNNING, 0.5, "", ""));
  bar.Update(MakeJob(v1::RUNNING, 0.5, "", ""));
  bar.Update(MakeJob(v1::SUCCEEDED, 1, "evaluate", "a long message that is cut"));
  bar.Finish();
  bar.Finish();
  EXPECT_EQ(out.text(),
            "\r[##########..........]  RUNNING 50%\033[K"
            "\r[####################]  SUCCEEDED 100%\033[K\n");
}

TEST(ProgressBarTest, FinishWithoutUpdatesPrintsNothing) {
  MemoryFile out;
  ProgressBar bar(out.file(), /*terminal=*/true, 80);
  bar.Finish();
  EXPECT_EQ(out.text(), "");
}

}  // namespace
}  // namespace crucible
