#include "clients/cli/progress_bar.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "clients/cli/value_format.h"

namespace crucible {
namespace {

// `text` cut to at most `width` bytes at a UTF-8 character boundary, without
// trailing spaces where it was cut.
std::string Truncate(std::string text, int width) {
  if (width < 0) width = 0;
  if (text.size() <= static_cast<size_t>(width)) return text;
  size_t end = static_cast<size_t>(width);
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  while (end > 0 && text[end - 1] == ' ') --end;
  text.resize(end);
  return text;
}

// "RUNNING 50%  stage: message", on one line.
std::string StateAndProgress(const v1::Job& job) {
  std::string text = absl::StrCat(v1::JobState_Name(job.state()), " ", FormatProgress(job.progress()));
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return text;
}

}  // namespace

ProgressBar::ProgressBar(std::FILE* out, bool terminal, int width)
    : out_(out), terminal_(terminal), width_(width) {}

std::string ProgressBar::RenderBar(const v1::Job& job, int width) {
  const int filled = static_cast<int>(std::floor(ClampFraction(job.progress().fraction()) * kBarCells));
  std::string line = absl::StrCat("[", std::string(filled, '#'), std::string(kBarCells - filled, '.'),
                                  "]  ", StateAndProgress(job));
  return Truncate(std::move(line), width);
}

std::string ProgressBar::RenderLine(const v1::Job& job) {
  return absl::StrCat("job ", job.id(), ": ", StateAndProgress(job));
}

void ProgressBar::Update(const v1::Job& job) {
  // One column is left free so that the cursor never wraps to the next line.
  std::string line = terminal_ ? RenderBar(job, width_ - 1) : RenderLine(job);
  if (line == last_) return;
  if (terminal_) {
    std::fprintf(out_, "\r%s\033[K", line.c_str());
    line_open_ = true;
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
  last_ = std::move(line);
}

void ProgressBar::Finish() {
  if (!line_open_) return;
  std::fputs("\n", out_);
  std::fflush(out_);
  line_open_ = false;
}

}  // namespace crucible
