// Early-return helpers for absl::Status / absl::StatusOr, which this Abseil
// release does not provide publicly.
//
//   absl::StatusOr<Model> Load(std::string_view bytes) {
//     RETURN_IF_ERROR(CheckHeader(bytes));
//     ASSIGN_OR_RETURN(Graph graph, ParseGraph(bytes));
//     return Model(std::move(graph));
//   }
#ifndef CRUCIBLE_ENGINES_CORE_STATUS_MACROS_H_
#define CRUCIBLE_ENGINES_CORE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define CRUCIBLE_CONCAT_INNER_(a, b) a##b
#define CRUCIBLE_CONCAT_(a, b) CRUCIBLE_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    const absl::Status crucible_status_ = (expr); \
    if (!crucible_status_.ok()) return crucible_status_; \
  } while (false)

#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return std::move(tmp).status(); \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(CRUCIBLE_CONCAT_(crucible_statusor_, __LINE__), lhs, expr)

#endif  // CRUCIBLE_ENGINES_CORE_STATUS_MACROS_H_
