// ProgressBar: shows a job's progress while the `crucible` command waits for
// it. On a terminal it redraws one line in place,
//
//   [##########..........]  RUNNING 50%  attack: batch 5 of 10
//
// cut to the terminal width; elsewhere (a log, a CI job) it prints one line
// per visible change ("job 42: RUNNING 50%  attack: batch 5 of 10"), so
// identical updates print nothing. Control characters in stage and message
// are shown as spaces.
//
//   ProgressBar bar(stderr, isatty(STDERR_FILENO), 80);
//   client.WatchJob(id, [&](const v1::Job& job) { bar.Update(job); });
//   bar.Finish();
#ifndef CRUCIBLE_CLIENTS_CLI_PROGRESS_BAR_H_
#define CRUCIBLE_CLIENTS_CLI_PROGRESS_BAR_H_

#include <cstdio>
#include <string>

#include "crucible/v1/jobs.pb.h"

namespace crucible {

class ProgressBar {
 public:
  static constexpr int kBarCells = 20;

  // Writes to `out` (not owned). `terminal`: redraw in place, lines cut to
  // `width` columns.
  ProgressBar(std::FILE* out, bool terminal, int width);

  void Update(const v1::Job& job);
  // Ends an in-place line with a newline. Idempotent.
  void Finish();

  // The in-place line for `job`, at most `width` bytes (never splitting a
  // UTF-8 character).
  static std::string RenderBar(const v1::Job& job, int width);
  // The line printed per change when not on a terminal, without newline.
  static std::string RenderLine(const v1::Job& job);

 private:
  std::FILE* out_;
  bool terminal_;
  int width_;
  std::string last_;
  bool line_open_ = false;
};

}  // namespace crucible

#endif  // CRUCIBLE_CLIENTS_CLI_PROGRESS_BAR_H_
