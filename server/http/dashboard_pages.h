// DashboardPages: the HTML pages of the dashboard, read from the Store.
//
// - JobsPage: the jobs table's frame (filters, pager); the rows are filled
//   and refreshed by dashboard.js from /api/v1/jobs, so the page updates
//   without a reload.
// - JobPage: one job — config, progress, stage, the report (ReportHtml),
//   every PNG artifact as a picture and every artifact as a download.
//   dashboard.js refreshes the progress while the job runs and reloads the
//   page once when it ends.
// - ModelsPage: uploaded models with their input shape, classes, size,
//   sha256 and how many jobs used them.
// Every user-supplied string is HTML-escaped; pages load only the server's own
// /static/ files. Thread-safe (the Store is).
//
//   DashboardPages pages(store, {"evaluate", "fgsm"});
//   ASSIGN_OR_RETURN(std::string html, pages.JobPage(job_id));  // NOT_FOUND for an unknown id
#ifndef CRUCIBLE_SERVER_HTTP_DASHBOARD_PAGES_H_
#define CRUCIBLE_SERVER_HTTP_DASHBOARD_PAGES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/store/store.h"

namespace crucible {

class DashboardPages {
 public:
  // `engines`: the engine names offered by the engine filter.
  DashboardPages(Store* store, std::vector<std::string> engines) : store_(store), engines_(std::move(engines)) {}

  std::string JobsPage() const;
  absl::StatusOr<std::string> JobPage(const std::string& id) const;
  absl::StatusOr<std::string> ModelsPage(const std::string& page_token) const;
  // A page saying what went wrong (for 404s and bad requests).
  static std::string ErrorPage(const absl::Status& status);

 private:
  Store* store_;
  std::vector<std::string> engines_;
};

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_HTTP_DASHBOARD_PAGES_H_
