// crucible-server --http against a real server process: the JSON API answers
// what gRPC answers (the same bytes as `crucible job get --json`), /metrics is
// well-formed Prometheus text whose counters match the jobs this test ran,
// health and readiness, HTML escaping of user-supplied names, and 404s.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "crucible/v1/jobs.pb.h"
#include "crucible/v1/resources.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/server_process.h"

namespace crucible {
namespace {

using testing::CommandResult;

// stdout only: progress on stderr is dropped.
CommandResult RunCli(const std::string& server, const std::string& args) {
  return testing::RunCli(server, args, "2>/dev/null");
}

using ::testing::HasSubstr;
using ::testing::Not;

std::string Fixture(const std::string& relative) { return testing::FixturePath(relative); }

using testing::ReadFile;

template <typename Message>
Message ParseJson(const std::string& json) {
  Message message;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return message;
}

// --- a strict reader of the Prometheus text exposition format (0.0.4) ---

struct Exposition {
  std::map<std::string, std::string> types;     // family -> counter|gauge|histogram|...
  std::map<std::string, double> samples;        // "name{a=\"x\",b=\"y\"}" (labels as written) -> value
  std::vector<std::string> errors;
};

bool IsMetricName(const std::string& name) {
  return std::regex_match(name, std::regex("[a-zA-Z_:][a-zA-Z0-9_:]*"));
}

// The family a sample belongs to: histograms' _bucket/_sum/_count series
// belong to the histogram.
std::string FamilyOf(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      const std::string base = name.substr(0, name.size() - s.size());
      if (auto it = types.find(base); it != types.end() && (it->second == "histogram" || it->second == "summary")) {
        return base;
      }
    }
  }
  return name;
}

Exposition ParseExposition(const std::string& text) {
  Exposition out;
  if (text.empty() || text.back() != '\n') out.errors.push_back("does not end with a newline");
  std::set<std::string> families_with_samples;
  int line_number = 0;
  for (const absl::string_view line_view : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const std::string line(line_view);
    ++line_number;
    const std::string where = absl::StrCat("line ", line_number, " '", line, "': ");
    if (line[0] == '#') {
      std::smatch m;
      if (std::regex_match(line, m, std::regex("# TYPE ([^ ]+) (counter|gauge|histogram|summary|untyped)"))) {
        if (!IsMetricName(m[1])) out.errors.push_back(where + "bad metric name");
        if (out.types.count(m[1])) out.errors.push_back(where + "second TYPE for the family");
        if (families_with_samples.count(m[1])) out.errors.push_back(where + "TYPE after the family's samples");
        out.types[m[1]] = m[2];
      } else if (!std::regex_match(line, std::regex("# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*"))) {
        out.errors.push_back(where + "comment is neither HELP nor TYPE");
      }
      continue;
    }
    // name{label="value",...} value
    static const std::regex sample(
        R"re(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\})? ([^ ]+))re");
    std::smatch m;
    if (!std::regex_match(line, m, sample)) {
      out.errors.push_back(where + "not a sample line");
      continue;
    }
    const std::string name = m[1];
    double value = 0;
    const std::string value_text = m[4];
    if (value_text != "+Inf" && value_text != "-Inf" && value_text != "NaN" && !absl::SimpleAtod(value_text, &value)) {
      out.errors.push_back(where + "bad value");
    }
    const std::string family = FamilyOf(name, out.types);
    if (!out.types.count(family)) out.errors.push_back(where + "sample before its TYPE line");
    families_with_samples.insert(family);
    const std::string key = absl::StrCat(name, m[2].str());
    if (out.samples.count(key)) out.errors.push_back(where + "duplicate series");
    out.samples[key] = value;
  }
  // Histograms: buckets cumulative in le, the +Inf bucket equal to _count.
  for (const auto& [family, type] : out.types) {
    if (type != "histogram") continue;
    std::map<std::string, std::map<double, double>> buckets;  // labels without le -> le -> count
    const std::regex bucket(family + R"re(_bucket\{(.*),le="([^"]+)"\})re");
    for (const auto& [key, value] : out.samples) {
      std::smatch m;
      if (!std::regex_match(key, m, bucket)) continue;
      double le = std::numeric_limits<double>::infinity();
      if (m[2] != "+Inf" && !absl::SimpleAtod(m[2].str(), &le)) out.errors.push_back(key + ": bad le");
      buckets[m[1]][le] = value;
    }
    for (const auto& [labels, by_le] : buckets) {
      double previous = 0;
      for (const auto& [le, count] : by_le) {
        if (count < previous) out.errors.push_back(absl::StrCat(family, "{", labels, "}: buckets not cumulative"));
        previous = count;
      }
      const auto count = out.samples.find(absl::StrCat(family, "_count{", labels, "}"));
      if (by_le.rbegin()->first != std::numeric_limits<double>::infinity() || count == out.samples.end() ||
          count->second != by_le.rbegin()->second) {
        out.errors.push_back(absl::StrCat(family, "{", labels, "}: no +Inf bucket equal to _count"));
      }
    }
  }
  return out;
}

TEST(PrometheusReaderTest, RejectsMalformedExpositions) {
  EXPECT_TRUE(ParseExposition("# TYPE a counter\na{x=\"1\"} 2\n").errors.empty());
  EXPECT_FALSE(ParseExposition("a 1\n").errors.empty());                               // no TYPE
  EXPECT_FALSE(ParseExposition("# TYPE a counter\na{x=1} 2\n").errors.empty());        // unquoted label
  EXPECT_FALSE(ParseExposition("# TYPE a counter\na 1\na 2\n").errors.empty());        // duplicate series
  EXPECT_FALSE(ParseExposition("# TYPE a counter\na one\n").errors.empty());           // bad value
  EXPECT_FALSE(ParseExposition("# TYPE a counter\na 1").errors.empty());               // no final newline
  EXPECT_FALSE(ParseExposition("# TYPE a counter\n# nonsense\na 1\n").errors.empty());  // stray comment
}

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = testing::NewTempDir();
    server_ = std::make_unique<testing::ServerProcess>(
        data_dir_, std::vector<std::string>{"--http=127.0.0.1:0", "--workers=1", "--threads_per_job=1"});
    ASSERT_TRUE(server_->Start().ok()) << server_->Log();
    ASSERT_THAT(server_->http_address(), Not(::testing::IsEmpty())) << server_->Log();
    const size_t colon = server_->http_address().rfind(':');
    http_ = std::make_unique<httplib::Client>(server_->http_address().substr(0, colon),
                                              std::stoi(server_->http_address().substr(colon + 1)));
  }

  // GET; fails the test when the server does not answer.
  httplib::Result Get(const std::string& path) {
    httplib::Result result = http_->Get(path);
    EXPECT_TRUE(result) << path << ": " << httplib::to_string(result.error());
    return result;
  }

  std::string RunArgs(const std::string& engine, const std::string& config_json) {
    const std::string config = absl::StrCat(data_dir_, "/", engine, "_", ++configs_, ".json");
    std::ofstream(config) << config_json;
    return absl::StrCat("run --engine ", engine, " --model ", Fixture("models/fmnist_lenet.onnx"), " --inputs ",
                        Fixture("data/fmnist_test_1000_images.npy"), " --labels ",
                        Fixture("data/fmnist_test_1000_labels.npy"), " --config ", config, " --json");
  }

  v1::Job WaitUntilEnded(const std::string& id) {
    v1::Job job;
    for (int i = 0; i < 600; ++i) {
      job = ParseJson<v1::Job>(Get("/api/v1/jobs/" + id)->body);
      if (job.state() == v1::SUCCEEDED || job.state() == v1::FAILED || job.state() == v1::CANCELLED) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return job;
  }

  std::string data_dir_;
  int configs_ = 0;
  std::unique_ptr<testing::ServerProcess> server_;
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(HttpTest, HealthAndReadiness) {
  auto health = Get("/healthz");
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");
  auto ready = Get("/readyz");
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, "ready\n");
}

TEST_F(HttpTest, ApiAnswersWhatTheCliPrintsAndMetricsCountTheJobs) {
  const CommandResult evaluate = RunCli(server_->address(), RunArgs("evaluate", R"({"preprocess": {"std": [255]}})"));
  ASSERT_EQ(evaluate.exit_code, 0) << evaluate.out;
  const v1::Job evaluate_job = ParseJson<v1::Job>(evaluate.out);
  const CommandResult fgsm = RunCli(
      server_->address(), RunArgs("fgsm", R"({"epsilons": [0.02, 0.05, 0.1], "preprocess": {"scale": 0.0039215686}})"));
  ASSERT_EQ(fgsm.exit_code, 0) << fgsm.out;
  const v1::Job fgsm_job = ParseJson<v1::Job>(fgsm.out);
  // Refused at submit: counted as a gRPC error, not as a job.
  EXPECT_EQ(RunCli(server_->address(), RunArgs("fgsm", R"({"epsilon": -1})")).exit_code, 2);

  // Two long PGD jobs on the one worker: cancel the queued one, then the running one.
  const std::string spec = absl::StrCat(data_dir_, "/pgd_spec.json");
  std::ofstream(spec) << R"({"spec": {"model_id": ")" << evaluate_job.spec().model_id() << R"(", "dataset_id": ")"
                      << evaluate_job.spec().dataset_id()
                      << R"(", "pgd": {"epsilon": 0.1, "steps": 5000, "preprocess": {"scale": 0.0039215686}}}})";
  const CommandResult running = RunCli(server_->address(), "job submit --json " + spec);
  const CommandResult queued = RunCli(server_->address(), "job submit --json " + spec);
  ASSERT_EQ(running.exit_code, 0) << running.out;
  ASSERT_EQ(queued.exit_code, 0) << queued.out;
  const std::string running_id = ParseJson<v1::Job>(running.out).id();
  const std::string queued_id = ParseJson<v1::Job>(queued.out).id();
  for (int i = 0; i < 200 && ParseJson<v1::Job>(Get("/api/v1/jobs/" + running_id)->body).state() != v1::RUNNING; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(RunCli(server_->address(), "job cancel " + queued_id).exit_code, 0);
  ASSERT_EQ(RunCli(server_->address(), "job cancel " + running_id).exit_code, 0);
  EXPECT_EQ(WaitUntilEnded(running_id).state(), v1::CANCELLED);
  EXPECT_EQ(WaitUntilEnded(queued_id).state(), v1::CANCELLED);

  // GET /api/v1/jobs/{id} is byte for byte what `crucible job get --json` prints.
  for (const std::string& id : {evaluate_job.id(), fgsm_job.id(), running_id}) {
    auto api = Get("/api/v1/jobs/" + id);
    EXPECT_EQ(api->status, 200);
    EXPECT_EQ(api->get_header_value("Content-Type"), "application/json");
    EXPECT_EQ(api->body, RunCli(server_->address(), "job get --json " + id).out) << id;
  }
  EXPECT_THAT(Get("/api/v1/jobs/" + fgsm_job.id())->body, HasSubstr("\"robust_accuracy\""));

  // Listing: filters and pages.
  const auto list = ParseJson<v1::ListJobsResponse>(Get("/api/v1/jobs")->body);
  ASSERT_EQ(list.jobs_size(), 4);
  EXPECT_EQ(list.jobs(0).id(), queued_id);  // Newest first.
  EXPECT_EQ(ParseJson<v1::ListJobsResponse>(Get("/api/v1/jobs?engine=pgd")->body).jobs_size(), 2);
  const auto succeeded = ParseJson<v1::ListJobsResponse>(Get("/api/v1/jobs?state=SUCCEEDED&view=summary")->body);
  ASSERT_EQ(succeeded.jobs_size(), 2);
  EXPECT_FALSE(succeeded.jobs(0).has_report());  // view=summary leaves reports out.
  auto first_response = Get("/api/v1/jobs?page_size=3");
  EXPECT_EQ(first_response->get_header_value("X-Total-Count"), "4");
  EXPECT_EQ(Get("/api/v1/jobs?engine=pgd&page_size=1")->get_header_value("X-Total-Count"), "2");
  const auto first = ParseJson<v1::ListJobsResponse>(first_response->body);
  ASSERT_EQ(first.jobs_size(), 3);
  ASSERT_FALSE(first.next_page_token().empty());
  const auto second = ParseJson<v1::ListJobsResponse>(
      Get("/api/v1/jobs?page_size=3&page_token=" + httplib::detail::encode_query_param(first.next_page_token()))->body);
  ASSERT_EQ(second.jobs_size(), 1);
  EXPECT_EQ(second.jobs(0).id(), evaluate_job.id());
  const auto models = ParseJson<v1::ListModelsResponse>(Get("/api/v1/models")->body);
  ASSERT_EQ(models.models_size(), 1);
  EXPECT_EQ(ParseJson<v1::Model>(Get("/api/v1/models/" + models.models(0).id())->body).id(),
            evaluate_job.spec().model_id());
  // /models links each model to its jobs on / and counts them.
  EXPECT_THAT(Get("/models")->body, HasSubstr("<a href=\"/?model=" + evaluate_job.spec().model_id() + "\">4</a>"));

  // /metrics: strict Prometheus text whose numbers are the jobs above.
  auto metrics_response = Get("/metrics");
  ASSERT_EQ(metrics_response->status, 200);
  EXPECT_THAT(metrics_response->get_header_value("Content-Type"), HasSubstr("text/plain; version=0.0.4"));
  const Exposition metrics = ParseExposition(metrics_response->body);
  EXPECT_THAT(metrics.errors, ::testing::IsEmpty()) << metrics_response->body;
  auto sample = [&](const std::string& key) {
    auto it = metrics.samples.find(key);
    EXPECT_NE(it, metrics.samples.end()) << key << " missing from\n" << metrics_response->body;
    return it == metrics.samples.end() ? -1.0 : it->second;
  };
  EXPECT_EQ(metrics.types.at("crucible_jobs_submitted_total"), "counter");
  EXPECT_EQ(metrics.types.at("crucible_job_duration_seconds"), "histogram");
  EXPECT_EQ(sample(R"(crucible_jobs{state="SUCCEEDED"})"), 2);
  EXPECT_EQ(sample(R"(crucible_jobs{state="CANCELLED"})"), 2);
  EXPECT_EQ(sample(R"(crucible_jobs{state="QUEUED"})"), 0);
  EXPECT_EQ(sample("crucible_queue_depth"), 0);
  EXPECT_EQ(sample("crucible_running_jobs"), 0);
  EXPECT_EQ(sample(R"(crucible_jobs_submitted_total{engine="evaluate"})"), 1);
  EXPECT_EQ(sample(R"(crucible_jobs_submitted_total{engine="fgsm"})"), 1);
  EXPECT_EQ(sample(R"(crucible_jobs_submitted_total{engine="pgd"})"), 2);
  EXPECT_EQ(sample(R"(crucible_jobs_submitted_total{engine="cw"})"), 0);
  EXPECT_EQ(sample(R"(crucible_jobs_succeeded_total{engine="evaluate"})"), 1);
  EXPECT_EQ(sample(R"(crucible_jobs_succeeded_total{engine="fgsm"})"), 1);
  EXPECT_EQ(sample(R"(crucible_jobs_cancelled_total{engine="pgd"})"), 2);
  EXPECT_EQ(sample(R"(crucible_jobs_failed_total{engine="pgd"})"), 0);
  // Only jobs that ran have a duration: the queued PGD job never started.
  EXPECT_EQ(sample(R"(crucible_job_duration_seconds_count{engine="evaluate"})"), 1);
  EXPECT_EQ(sample(R"(crucible_job_duration_seconds_count{engine="fgsm"})"), 1);
  EXPECT_EQ(sample(R"(crucible_job_duration_seconds_count{engine="pgd"})"), 1);
  EXPECT_GT(sample(R"(crucible_job_duration_seconds_sum{engine="fgsm"})"), 0);
  EXPECT_EQ(sample(R"(crucible_grpc_requests_total{method="/crucible.v1.AuditorService/SubmitJob",code="OK"})"), 4);
  EXPECT_EQ(sample(
                R"(crucible_grpc_requests_total{method="/crucible.v1.AuditorService/SubmitJob",code="INVALID_ARGUMENT"})"),
            1);
  EXPECT_EQ(sample(R"(crucible_grpc_requests_total{method="/crucible.v1.AuditorService/CancelJob",code="OK"})"), 2);
  // Upload bytes: the model once (later runs find it by sha256), the dataset files per upload.
  EXPECT_EQ(sample(R"(crucible_upload_bytes_total{kind="model"})"),
            static_cast<double>(ReadFile(Fixture("models/fmnist_lenet.onnx")).size()));
  const double dataset_uploads =
      sample(R"(crucible_grpc_requests_total{method="/crucible.v1.AuditorService/UploadDataset",code="OK"})");
  EXPECT_GE(dataset_uploads, 1);
  EXPECT_EQ(sample(R"(crucible_upload_bytes_total{kind="dataset"})"),
            dataset_uploads * static_cast<double>(ReadFile(Fixture("data/fmnist_test_1000_images.npy")).size() +
                                                  ReadFile(Fixture("data/fmnist_test_1000_labels.npy")).size()));
  EXPECT_GT(sample("process_resident_memory_bytes"), 10e6);

  // The job page: the curve has a point per epsilon; the grid is a picture;
  // artifacts download with the bytes gRPC serves.
  const std::string page = Get("/jobs/" + fgsm_job.id())->body;
  EXPECT_THAT(page, HasSubstr("<svg class=\"chart curve\""));
  const std::regex point("class=\"curve-point\"");
  EXPECT_EQ(std::distance(std::sregex_iterator(page.begin(), page.end(), point), std::sregex_iterator()), 3);
  EXPECT_THAT(page, HasSubstr("<img class=\"artifact-image\" src=\"/jobs/" + fgsm_job.id() +
                              "/artifacts/adversarial_examples.png\""));
  const std::string via_grpc = data_dir_ + "/adversarial_examples.npy";
  ASSERT_EQ(RunCli(server_->address(),
                   "artifact download " + fgsm_job.id() + " adversarial_examples.npy --output " + via_grpc)
                .exit_code,
            0);
  for (const std::string prefix : {"/jobs/", "/api/v1/jobs/"}) {
    auto artifact = Get(prefix + fgsm_job.id() + "/artifacts/adversarial_examples.npy");
    EXPECT_EQ(artifact->status, 200);
    EXPECT_TRUE(artifact->body == ReadFile(via_grpc)) << prefix;
  }
  auto png = Get("/jobs/" + fgsm_job.id() + "/artifacts/adversarial_examples.png");
  EXPECT_EQ(png->get_header_value("Content-Type"), "image/png");
  EXPECT_EQ(png->body.substr(0, 8), "\x89PNG\r\n\x1a\n");
  const std::string evaluation_page = Get("/jobs/" + evaluate_job.id())->body;
  EXPECT_THAT(evaluation_page, HasSubstr("<svg class=\"chart heatmap\""));
  EXPECT_THAT(evaluation_page, HasSubstr("<svg class=\"chart bars\""));
  EXPECT_THAT(evaluation_page, HasSubstr("87.40%"));
}

TEST_F(HttpTest, UserSuppliedNamesRenderInert) {
  const std::string name = R"(<script>alert("x")</script><img src=x onerror=alert(1)>)";
  const std::string escaped =
      "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;";
  const std::string model = Fixture("models/fmnist_mlp.onnx");
  ASSERT_EQ(RunCli(server_->address(), "model upload --name '" + name + "' " + model).exit_code, 0);
  const CommandResult run = RunCli(
      server_->address(), "run --engine evaluate --model " + model + " --inputs " +
                              Fixture("data/fmnist_test_1000_images.npy") + " --labels " +
                              Fixture("data/fmnist_test_1000_labels.npy") + " --json");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  const std::string job_id = ParseJson<v1::Job>(run.out).id();

  for (const std::string& path : {std::string("/models"), "/jobs/" + job_id}) {
    auto page = Get(path);
    EXPECT_EQ(page->status, 200);
    EXPECT_THAT(page->body, HasSubstr(escaped)) << path;
    EXPECT_THAT(page->body, Not(HasSubstr("<script>alert"))) << path;
    EXPECT_THAT(page->body, Not(HasSubstr("<img src=x"))) << path;
    // The page runs only the server's own script file.
    EXPECT_THAT(page->get_header_value("Content-Security-Policy"), HasSubstr("default-src 'self'"));
  }
  // The JSON API carries the name as a JSON string, served as JSON only.
  auto api = Get("/api/v1/models");
  EXPECT_EQ(ParseJson<v1::ListModelsResponse>(api->body).models(0).name(), name);
  EXPECT_EQ(api->get_header_value("X-Content-Type-Options"), "nosniff");
}

TEST_F(HttpTest, UnknownIdsAndPathsAre404AndBadFiltersAre400) {
  for (const char* path : {"/api/v1/jobs/0123456789abcdef", "/api/v1/models/0123456789abcdef"}) {
    auto response = Get(path);
    EXPECT_EQ(response->status, 404) << path;
    EXPECT_EQ(response->get_header_value("Content-Type"), "application/json");
    EXPECT_THAT(response->body, HasSubstr("\"code\": \"NOT_FOUND\"")) << path;
    EXPECT_THAT(response->body, HasSubstr("0123456789abcdef")) << path;
  }
  for (const char* path : {"/jobs/0123456789abcdef", "/jobs/0123456789abcdef/artifacts/x.png", "/no/such/page"}) {
    auto response = Get(path);
    EXPECT_EQ(response->status, 404) << path;
    EXPECT_THAT(response->get_header_value("Content-Type"), HasSubstr("text/html")) << path;
  }
  auto bad_state = Get("/api/v1/jobs?state=DONE");
  EXPECT_EQ(bad_state->status, 400);
  EXPECT_THAT(bad_state->body, HasSubstr("state: 'DONE'"));
  EXPECT_EQ(Get("/api/v1/jobs?page_size=many")->status, 400);
  EXPECT_EQ(Get("/api/v1/jobs?page_token=garbage")->status, 400);
}

}  // namespace
}  // namespace crucible
