#include "server/http/dashboard_pages.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engines/core/status_macros.h"
#include "server/current_timestamp.h"
#include "server/http/html.h"
#include "server/http/proto_json.h"
#include "server/http/report_html.h"

namespace crucible {
namespace {

std::string Layout(const std::string& title, const std::string& body_attributes, const std::string& body) {
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>",
      HtmlEscape(title),
      " · Crucible</title><link rel=\"stylesheet\" href=\"/static/dashboard.css\">"
      "<script src=\"/static/dashboard.js\" defer></script></head><body",
      body_attributes,
      "><header class=\"top\"><a class=\"brand\" href=\"/\">Crucible</a><nav><a href=\"/\">Jobs</a>"
      "<a href=\"/models\">Models</a><a href=\"/metrics\">Metrics</a></nav></header><main>",
      body, "</main></body></html>\n");
}

std::string StateBadge(v1::JobState state, const std::string& id_attribute = "") {
  const std::string name = v1::JobState_Name(state);
  return absl::StrCat("<span", id_attribute, " class=\"state state-", name, "\">", name, "</span>");
}

double Seconds(const google::protobuf::Timestamp& t) { return t.seconds() + t.nanos() * 1e-9; }

std::string JobDuration(const v1::Job& job) {
  if (!job.has_started_at()) return "";
  const google::protobuf::Timestamp end = job.has_finished_at() ? job.finished_at() : CurrentTimestamp();
  return DurationText(std::max(0.0, Seconds(end) - Seconds(job.started_at())));
}

std::string ProgressText(const v1::Progress& progress) {
  std::string text = Percent(progress.fraction());
  if (!progress.stage().empty()) absl::StrAppend(&text, " · ", progress.stage());
  if (!progress.message().empty()) absl::StrAppend(&text, " — ", progress.message());
  return text;
}

std::string ArtifactUrl(const v1::Job& job, const v1::Artifact& artifact) {
  return absl::StrCat("/jobs/", UrlEncode(job.id()), "/artifacts/", UrlEncode(artifact.name()));
}

// Every PNG artifact as a picture, in one section ("" when there is none).
std::string PicturesHtml(const v1::Job& job) {
  std::string pictures;
  for (const v1::Artifact& artifact : job.artifacts()) {
    if (artifact.media_type() != "image/png") continue;
    absl::StrAppend(&pictures, "<figure class=\"artifact-figure\"><img class=\"artifact-image\" src=\"",
                    HtmlEscape(ArtifactUrl(job, artifact)), "\" alt=\"", HtmlEscape(artifact.name()),
                    "\"><figcaption>", HtmlEscape(artifact.name()), "</figcaption></figure>");
  }
  if (pictures.empty()) return "";
  return absl::StrCat("<section class=\"report-part\" id=\"pictures\"><h2>Pictures</h2>", pictures, "</section>");
}

// Every artifact as a download link.
std::string ArtifactsHtml(const v1::Job& job) {
  if (job.artifacts_size() == 0) return "";
  std::string html;
  absl::StrAppend(&html,
                  "<section class=\"report-part\" id=\"artifacts\"><h2>Artifacts</h2><table class=\"data\"><thead>"
                  "<tr><th>name</th><th>type</th><th>size</th><th>sha256</th></tr></thead><tbody>");
  for (const v1::Artifact& artifact : job.artifacts()) {
    absl::StrAppend(&html, "<tr><td><a class=\"artifact-download\" download href=\"",
                    HtmlEscape(ArtifactUrl(job, artifact)), "\">", HtmlEscape(artifact.name()), "</a></td><td>",
                    HtmlEscape(artifact.media_type()), "</td><td>", ByteSize(artifact.size_bytes()),
                    "</td><td><code>", HtmlEscape(artifact.sha256()), "</code></td></tr>");
  }
  return html + "</tbody></table></section>";
}

}  // namespace

std::string DashboardPages::JobsPage() const {
  std::string states = "<option value=\"\">any state</option>";
  for (int state = v1::QUEUED; state <= v1::CANCELLED; ++state) {
    const std::string name = v1::JobState_Name(static_cast<v1::JobState>(state));
    absl::StrAppend(&states, "<option value=\"", name, "\">", name, "</option>");
  }
  std::string engines = "<option value=\"\">any engine</option>";
  for (const std::string& engine : engines_) {
    absl::StrAppend(&engines, "<option value=\"", HtmlEscape(engine), "\">", HtmlEscape(engine), "</option>");
  }
  const std::string body = absl::StrCat(
      "<h1>Jobs</h1><form class=\"filters\" id=\"job-filters\">"
      "<label>State <select id=\"filter-state\" name=\"state\">",
      states, "</select></label><label>Engine <select id=\"filter-engine\" name=\"engine\">", engines,
      "</select></label><label>Model <input id=\"filter-model\" name=\"model\" placeholder=\"model id\" size=\"20\">"
      "</label><label>Per page <select id=\"page-size\" name=\"page_size\"><option>25</option>"
      "<option selected>50</option><option>100</option><option>200</option></select></label></form>"
      "<table class=\"data jobs\" id=\"jobs-table\"><thead><tr><th>job</th><th>state</th><th>engine</th>"
      "<th>model</th><th>progress</th><th>created</th><th>duration</th></tr></thead><tbody id=\"jobs-body\">"
      "</tbody></table><p class=\"empty\" id=\"jobs-empty\" hidden>No jobs match.</p>"
      "<nav class=\"pager\"><button type=\"button\" id=\"page-prev\">← newer</button>"
      "<span id=\"page-number\">page 1</span><button type=\"button\" id=\"page-next\">older →</button>"
      "<span class=\"updated\" id=\"jobs-updated\"></span></nav>"
      "<noscript>The jobs table needs JavaScript; the same data is at <a href=\"/api/v1/jobs\">/api/v1/jobs</a>."
      "</noscript>");
  return Layout("Jobs", " data-page=\"jobs\"", body);
}

absl::StatusOr<std::string> DashboardPages::JobPage(const std::string& id) const {
  ASSIGN_OR_RETURN(const v1::Job job, store_->GetJob(id));
  std::string model_name;
  if (auto model = store_->GetModel(job.spec().model_id()); model.ok()) model_name = model->name();

  std::string body = absl::StrCat("<h1>Job <code>", HtmlEscape(job.id()), "</code> ",
                                  StateBadge(job.state(), " id=\"job-state\""), "</h1>");
  absl::StrAppend(&body, "<div class=\"progress-line\"><progress id=\"job-progress\" max=\"1\" value=\"",
                  absl::StrFormat("%.4f", job.progress().fraction()), "\"></progress><span id=\"job-progress-text\">",
                  HtmlEscape(ProgressText(job.progress())), "</span></div>");
  absl::StrAppend(&body, "<table class=\"facts\">");
  const auto fact = [&body](const std::string& name, const std::string& value_html) {
    absl::StrAppend(&body, "<tr><th>", name, "</th><td>", value_html, "</td></tr>");
  };
  fact("engine", HtmlEscape(job.engine()));
  fact("model", absl::StrCat("<a href=\"/models#model-", HtmlEscape(job.spec().model_id()), "\">",
                             HtmlEscape(model_name.empty() ? job.spec().model_id() : model_name), "</a> <code>",
                             HtmlEscape(job.spec().model_id()), "</code>"));
  if (!job.spec().dataset_id().empty()) fact("dataset", absl::StrCat("<code>", HtmlEscape(job.spec().dataset_id()), "</code>"));
  if (!job.request_id().empty()) fact("request id", HtmlEscape(job.request_id()));
  fact("created", HtmlEscape(TimeText(job.created_at())));
  fact("started", HtmlEscape(TimeText(job.started_at())));
  fact("finished", HtmlEscape(TimeText(job.finished_at())));
  fact("duration", absl::StrCat("<span id=\"job-duration\">", HtmlEscape(JobDuration(job)), "</span>"));
  body += "</table>";
  if (!job.error().empty()) absl::StrAppend(&body, "<pre class=\"error\" id=\"job-error\">", HtmlEscape(job.error()), "</pre>");
  absl::StrAppend(&body, "<div id=\"report\" class=\"report-grid\">",
                  job.state() == v1::SUCCEEDED ? ReportHtml(job.report()) : "", PicturesHtml(job), "</div>");
  body += ArtifactsHtml(job);
  absl::StrAppend(&body, "<section class=\"report-part\" id=\"config\"><h2>Job spec</h2><details><summary>",
                  HtmlEscape(job.engine()), " config</summary><pre>", HtmlEscape(ProtoJson(job.spec())),
                  "</pre></details><p><a href=\"/api/v1/jobs/", UrlEncode(job.id()),
                  "\">the job as JSON</a></p></section>");
  return Layout(absl::StrCat("Job ", job.id()),
                absl::StrCat(" data-page=\"job\" data-job-id=\"", HtmlEscape(job.id()), "\" data-job-state=\"",
                             v1::JobState_Name(job.state()), "\""),
                body);
}

absl::StatusOr<std::string> DashboardPages::ModelsPage(const std::string& page_token) const {
  ASSIGN_OR_RETURN(const Page<v1::Model> page, store_->ListModels(50, page_token));
  std::string body =
      "<h1>Models</h1><table class=\"data models\" id=\"models-table\"><thead><tr><th>name</th><th>input</th>"
      "<th>classes</th><th>opset</th><th>size</th><th>sha256</th><th>uploaded</th><th>jobs</th></tr></thead><tbody>";
  for (const v1::Model& model : page.items) {
    ASSIGN_OR_RETURN(const int64_t job_count,
                     store_->CountJobs(JobFilter{.state = v1::JOB_STATE_UNSPECIFIED, .engine = "", .model_id = model.id()}));
    std::vector<std::string> dims;
    for (const int64_t d : model.input_shape()) dims.push_back(absl::StrCat(d));
    absl::StrAppend(&body, "<tr id=\"model-", HtmlEscape(model.id()), "\"><td class=\"model-name\">",
                    HtmlEscape(model.name()), "</td><td>[", HtmlEscape(absl::StrJoin(dims, ", ")), "] float32</td><td>",
                    model.num_classes(), " logits</td><td>", model.opset(), "</td><td>", ByteSize(model.size_bytes()),
                    "</td><td><code>", HtmlEscape(model.id()), "</code></td><td>",
                    HtmlEscape(TimeText(model.created_at())), "</td><td><a href=\"/?model=", UrlEncode(model.id()),
                    "\">", job_count, "</a></td></tr>");
  }
  body += "</tbody></table>";
  if (page.items.empty()) body += "<p class=\"empty\">No models uploaded yet.</p>";
  if (!page.next_page_token.empty()) {
    absl::StrAppend(&body, "<nav class=\"pager\"><a href=\"/models?page_token=", UrlEncode(page.next_page_token),
                    "\">older →</a></nav>");
  }
  return Layout("Models", " data-page=\"models\"", body);
}

std::string DashboardPages::ErrorPage(const absl::Status& status) {
  return Layout("Error", "",
                absl::StrCat("<h1>", HtmlEscape(absl::StatusCodeToString(status.code())), "</h1><p class=\"error\">",
                             HtmlEscape(std::string(status.message())), "</p><p><a href=\"/\">All jobs</a></p>"));
}

}  // namespace crucible
