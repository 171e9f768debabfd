// TextTable: a plain-text table with aligned columns, for the human-readable
// output of the `crucible` command. Columns are separated by two spaces;
// trailing spaces are trimmed; widths count bytes (ids, numbers and names are
// expected to be ASCII).
//
//   TextTable table({"ID", "NAME", "CLASSES"});
//   table.AlignRight(2);
//   table.AddRow({model.id(), model.name(), absl::StrCat(model.num_classes())});
//   std::string text = table.Render("  ");  // every line indented by two spaces
#ifndef CRUCIBLE_CLIENTS_CLI_TEXT_TABLE_H_
#define CRUCIBLE_CLIENTS_CLI_TEXT_TABLE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace crucible {

class TextTable {
 public:
  // An empty `header` makes a table without a header line.
  explicit TextTable(std::vector<std::string> header);

  // Right-aligns column `column` (numbers).
  void AlignRight(size_t column);
  // Rows shorter than the widest row are padded with empty cells.
  void AddRow(std::vector<std::string> cells);

  // One newline-terminated line per row (header first), each starting with `indent`.
  std::string Render(std::string_view indent = "") const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<bool> right_aligned_;
};

}  // namespace crucible

#endif  // CRUCIBLE_CLIENTS_CLI_TEXT_TABLE_H_
