#include "server/http/http_server.h"

#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "crucible/v1/jobs.pb.h"
#include "crucible/v1/resources.pb.h"
#include "google/protobuf/struct.pb.h"
#include "httplib.h"
#include "server/http/proto_json.h"
#include "server/http/static_assets.h"

namespace crucible {
namespace {

constexpr size_t kArtifactChunkBytes = 1 << 20;

int HttpStatusOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kInvalidArgument: return 400;
    case absl::StatusCode::kFailedPrecondition: return 409;
    case absl::StatusCode::kUnavailable: return 503;
    default: return 500;
  }
}

bool IsApi(const httplib::Request& req) { return req.path.rfind("/api/", 0) == 0; }

// An error as JSON under /api/ and as a page elsewhere.
void SendError(const httplib::Request& req, httplib::Response& res, const absl::Status& status) {
  res.status = HttpStatusOf(status);
  if (IsApi(req)) {
    google::protobuf::Struct body;
    (*body.mutable_fields())["code"].set_string_value(absl::StatusCodeToString(status.code()));
    (*body.mutable_fields())["message"].set_string_value(std::string(status.message()));
    res.set_content(ProtoJson(body), "application/json");
  } else {
    res.set_content(DashboardPages::ErrorPage(status), "text/html; charset=utf-8");
  }
}

void SendJson(httplib::Response& res, const google::protobuf::Message& message) {
  res.set_header("Cache-Control", "no-store");
  res.set_content(ProtoJson(message), "application/json");
}

void SendHtml(httplib::Response& res, const std::string& html) {
  res.set_header("Cache-Control", "no-store");
  res.set_content(html, "text/html; charset=utf-8");
}

// Reads the optional integer query parameter `name` into *value.
absl::Status IntParam(const httplib::Request& req, const char* name, int* value) {
  if (!req.has_param(name)) return absl::OkStatus();
  const std::string text = req.get_param_value(name);
  if (!absl::SimpleAtoi(text, value) || *value < 0) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": expected a non-negative integer, got '", text, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<JobFilter> JobFilterOf(const httplib::Request& req) {
  JobFilter filter;
  if (const std::string state = req.get_param_value("state"); !state.empty()) {
    if (!v1::JobState_Parse(state, &filter.state) || filter.state == v1::JOB_STATE_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat("state: '", state, "' is not one of QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED"));
    }
  }
  filter.engine = req.get_param_value("engine");
  filter.model_id = req.get_param_value("model_id");
  return filter;
}

}  // namespace

HttpServer::HttpServer(Store* store, BlobStore* blobs, Metrics* metrics, std::vector<std::string> engines)
    : store_(store), blobs_(blobs), metrics_(metrics), pages_(store, std::move(engines)),
      server_(std::make_unique<httplib::Server>()) {
  RegisterRoutes();
}

HttpServer::~HttpServer() { Stop(); }

absl::StatusOr<int> HttpServer::Start(const std::string& host_port) {
  const size_t colon = host_port.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(host_port.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("--http: expected HOST:PORT, got '", host_port, "'"));
  }
  std::string host = host_port.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (port == 0) {
    port = server_->bind_to_any_port(host);
    if (port < 0) port = 0;
  } else if (!server_->bind_to_port(host, port)) {
    port = 0;
  }
  if (port == 0) return absl::UnavailableError(absl::StrCat("--http: cannot listen on ", host_port));
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return port;
}

void HttpServer::Stop() {
  ready_ = false;
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

void HttpServer::RegisterRoutes() {
  httplib::Server& s = *server_;
  s.set_keep_alive_timeout(2);
  s.set_default_headers({
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"Content-Security-Policy",
       "default-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"},
  });
  s.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
    SendError(req, res, absl::InternalError("the request failed inside the server"));
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404 && res.body.empty()) {
      SendError(req, res, absl::NotFoundError(absl::StrCat("no page at ", req.path)));
    }
  });

  // --- pages ---
  s.Get("/", [this](const httplib::Request&, httplib::Response& res) { SendHtml(res, pages_.JobsPage()); });
  s.Get(R"(/jobs/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    auto html = pages_.JobPage(req.matches[1]);
    if (!html.ok()) return SendError(req, res, html.status());
    SendHtml(res, *html);
  });
  s.Get("/models", [this](const httplib::Request& req, httplib::Response& res) {
    auto html = pages_.ModelsPage(req.get_param_value("page_token"));
    if (!html.ok()) return SendError(req, res, html.status());
    SendHtml(res, *html);
  });
  // No icon: an empty answer instead of a 404 in every browser console.
  s.Get("/favicon.ico", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  s.Get("/static/dashboard.js", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(DashboardScript()), "text/javascript; charset=utf-8");
  });
  s.Get("/static/dashboard.css", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(DashboardStyle()), "text/css; charset=utf-8");
  });

  // --- artifacts ---
  s.Get(R"(/(?:api/v1/)?jobs/([^/]+)/artifacts/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    auto job = store_->GetJob(req.matches[1]);
    if (!job.ok()) return SendError(req, res, job.status());
    const std::string name = req.matches[2];
    const v1::Artifact* artifact = nullptr;
    for (const v1::Artifact& a : job->artifacts()) {
      if (a.name() == name) artifact = &a;
    }
    if (artifact == nullptr) {
      return SendError(req, res, absl::NotFoundError(absl::StrCat("job ", job->id(), " has no artifact '", name, "'")));
    }
    auto file = std::make_shared<std::ifstream>(blobs_->PathOf(artifact->sha256()), std::ios::binary);
    if (!*file) {
      return SendError(req, res, absl::DataLossError(absl::StrCat("artifact '", name, "' is missing from the store")));
    }
    // Pictures show inline; everything else downloads under its own name.
    const bool picture = artifact->media_type() == "image/png";
    if (!picture) {
      std::string safe_name;
      for (const char c : name) safe_name += (c == '"' || c == '\\' || c < 0x20) ? '_' : c;
      res.set_header("Content-Disposition", absl::StrCat("attachment; filename=\"", safe_name, "\""));
    }
    res.set_content_provider(
        static_cast<size_t>(artifact->size_bytes()), picture ? "image/png" : "application/octet-stream",
        [file](size_t offset, size_t length, httplib::DataSink& sink) {
          std::string buffer(std::min(length, kArtifactChunkBytes), '\0');
          file->seekg(static_cast<std::streamoff>(offset));
          file->read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
          if (file->gcount() <= 0) return false;
          return sink.write(buffer.data(), static_cast<size_t>(file->gcount()));
        });
  });

  // --- JSON API ---
  s.Get("/api/v1/jobs", [this](const httplib::Request& req, httplib::Response& res) {
    auto filter = JobFilterOf(req);
    if (!filter.ok()) return SendError(req, res, filter.status());
    int page_size = 0;
    if (absl::Status valid = IntParam(req, "page_size", &page_size); !valid.ok()) return SendError(req, res, valid);
    auto page = store_->ListJobs(*filter, page_size, req.get_param_value("page_token"));
    if (!page.ok()) return SendError(req, res, page.status());
    const bool summary = req.get_param_value("view") == "summary";
    v1::ListJobsResponse response;
    for (v1::Job& job : page->items) {
      if (summary) job.clear_report();
      *response.add_jobs() = std::move(job);
    }
    response.set_next_page_token(page->next_page_token);
    // All pages' worth, for the dashboard's "N jobs" (not part of the message).
    if (auto total = store_->CountJobs(*filter); total.ok()) res.set_header("X-Total-Count", absl::StrCat(*total));
    SendJson(res, response);
  });
  s.Get(R"(/api/v1/jobs/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    auto job = store_->GetJob(req.matches[1]);
    if (!job.ok()) return SendError(req, res, job.status());
    if (req.get_param_value("view") == "summary") job->clear_report();
    SendJson(res, *job);
  });
  s.Get("/api/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
    int page_size = 0;
    if (absl::Status valid = IntParam(req, "page_size", &page_size); !valid.ok()) return SendError(req, res, valid);
    auto page = store_->ListModels(page_size, req.get_param_value("page_token"));
    if (!page.ok()) return SendError(req, res, page.status());
    v1::ListModelsResponse response;
    for (v1::Model& model : page->items) *response.add_models() = std::move(model);
    response.set_next_page_token(page->next_page_token);
    SendJson(res, response);
  });
  s.Get(R"(/api/v1/models/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    auto model = store_->GetModel(req.matches[1]);
    if (!model.ok()) return SendError(req, res, model.status());
    SendJson(res, *model);
  });

  // --- operations ---
  s.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    auto text = metrics_->Render(*store_);
    if (!text.ok()) return SendError(req, res, text.status());
    res.set_header("Cache-Control", "no-store");
    res.set_content(*text, "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
  s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    if (!ready_) {
      res.status = 503;
      return res.set_content("not ready: starting or shutting down\n", "text/plain");
    }
    if (auto counts = store_->CountJobsByState(); !counts.ok()) {
      res.status = 503;
      return res.set_content(absl::StrCat("not ready: store: ", counts.status().ToString(), "\n"), "text/plain");
    }
    res.set_content("ready\n", "text/plain");
  });
}

}  // namespace crucible
