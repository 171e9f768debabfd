#include "clients/cli/text_table.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace crucible {

TextTable::TextTable(std::vector<std::string> header) : header_(std::move(header)) {}

void TextTable::AlignRight(size_t column) {
  if (right_aligned_.size() <= column) right_aligned_.resize(column + 1, false);
  right_aligned_[column] = true;
}

void TextTable::AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }

std::string TextTable::Render(std::string_view indent) const {
  std::vector<const std::vector<std::string>*> lines;
  if (!header_.empty()) lines.push_back(&header_);
  for (const auto& row : rows_) lines.push_back(&row);

  std::vector<size_t> widths;
  for (const auto* line : lines) {
    if (widths.size() < line->size()) widths.resize(line->size(), 0);
    for (size_t c = 0; c < line->size(); ++c) widths[c] = std::max(widths[c], (*line)[c].size());
  }

  std::string text;
  for (const auto* line : lines) {
    std::string out(indent);
    for (size_t c = 0; c < widths.size(); ++c) {
      const std::string cell = c < line->size() ? (*line)[c] : "";
      const std::string padding(widths[c] - cell.size(), ' ');
      if (c > 0) out += "  ";
      const bool right = c < right_aligned_.size() && right_aligned_[c];
      absl::StrAppend(&out, right ? padding : "", cell, right ? "" : padding);
    }
    while (out.size() > indent.size() && out.back() == ' ') out.pop_back();
    absl::StrAppend(&text, out, "\n");
  }
  return text;
}

}  // namespace crucible
