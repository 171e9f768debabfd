#include "server/store/sqlite_store.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace crucible {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

MATCHER_P(EqualsProto, expected, "") { return google::protobuf::util::MessageDifferencer::Equals(arg, expected); }

v1::Model MakeModel(const std::string& id, const std::string& name = "model") {
  v1::Model model;
  model.set_id(id);
  model.set_name(name);
  model.set_size_bytes(1234);
  model.add_input_shape(1);
  model.add_input_shape(28);
  model.add_input_shape(28);
  model.set_num_classes(10);
  model.mutable_created_at()->set_seconds(1700000000);
  return model;
}

v1::Job MakeJob(const std::string& id, const std::string& engine = "evaluate", const std::string& model_id = "m",
                const std::string& request_id = "") {
  v1::Job job;
  job.set_id(id);
  job.set_engine(engine);
  job.mutable_spec()->set_model_id(model_id);
  job.mutable_spec()->set_dataset_id("d");
  if (engine == "fgsm") {
    job.mutable_spec()->mutable_fgsm()->set_epsilon(0.1f);
  } else {
    job.mutable_spec()->mutable_evaluate();
  }
  job.set_state(v1::QUEUED);
  job.set_request_id(request_id);
  job.mutable_created_at()->set_seconds(1700000000);
  return job;
}

JobFilter Filter(v1::JobState state, const std::string& engine = "", const std::string& model_id = "") {
  JobFilter filter;
  filter.state = state;
  filter.engine = engine;
  filter.model_id = model_id;
  return filter;
}

std::vector<std::string> Ids(const std::vector<v1::Job>& jobs) {
  std::vector<std::string> ids;
  for (const v1::Job& job : jobs) ids.push_back(job.id());
  return ids;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = ::testing::TempDir() + "/sqlite_store_test.XXXXXX";
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    dir_ = dir;
    path_ = dir_ + "/crucible.db";
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  // Closes the store and opens the same file again, as a restarted server would.
  void Reopen() {
    store_.reset();
    auto store = SqliteStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  void Create(const v1::Job& job) {
    auto created = store_->CreateJob(job);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  void SetState(const std::string& id, v1::JobState state) {
    auto job = store_->GetJob(id);
    ASSERT_TRUE(job.ok()) << job.status();
    job->set_state(state);
    ASSERT_TRUE(store_->UpdateJob(*job).ok());
  }

  // Every job matching `filter`, following page tokens to the end.
  std::vector<std::string> ListAllJobIds(const JobFilter& filter, int page_size, int* pages) {
    std::vector<std::string> ids;
    std::string token;
    *pages = 0;
    do {
      auto page = store_->ListJobs(filter, page_size, token);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      ++*pages;
      for (const std::string& id : Ids(page->items)) ids.push_back(id);
      token = page->next_page_token;
    } while (!token.empty());
    return ids;
  }

  std::string dir_;
  std::string path_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteStoreTest, ModelCrud) {
  const v1::Model model = MakeModel("abc123", "lenet");
  auto put = store_->PutModel(model);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_THAT(*put, EqualsProto(model));
  auto got = store_->GetModel("abc123");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, EqualsProto(model));

  ASSERT_TRUE(store_->DeleteModel("abc123").ok());
  auto gone = store_->GetModel("abc123");
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(gone.status().message(), HasSubstr("abc123"));
  absl::Status again = store_->DeleteModel("abc123");
  EXPECT_EQ(again.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(again.message(), HasSubstr("model abc123"));
}

TEST_F(SqliteStoreTest, PutModelKeepsTheFirstRecordForAnId) {
  ASSERT_TRUE(store_->PutModel(MakeModel("same", "first")).ok());
  auto second = store_->PutModel(MakeModel("same", "second"));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->name(), "first");
  auto page = store_->ListModels(0, "");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].name(), "first");
}

TEST_F(SqliteStoreTest, EmptyIdsAreRejected) {
  EXPECT_EQ(store_->PutModel(MakeModel("")).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->PutDataset(v1::Dataset()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->CreateJob(MakeJob("")).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SqliteStoreTest, DatasetPutGetAndDedup) {
  v1::Dataset dataset;
  dataset.set_id("ds1");
  dataset.set_name("fmnist");
  dataset.set_num_examples(1000);
  dataset.set_inputs_sha256("aa");
  auto put = store_->PutDataset(dataset);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_THAT(*put, EqualsProto(dataset));
  v1::Dataset renamed = dataset;
  renamed.set_name("other");
  auto again = store_->PutDataset(renamed);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->name(), "fmnist");
  auto got = store_->GetDataset("ds1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, EqualsProto(dataset));
  EXPECT_EQ(store_->GetDataset("nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, ListModelsNewestFirstInPages) {
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(store_->PutModel(MakeModel(absl::StrCat("m", i))).ok());
  std::vector<std::string> ids;
  std::vector<size_t> sizes;
  std::string token;
  do {
    auto page = store_->ListModels(3, token);
    ASSERT_TRUE(page.ok()) << page.status();
    sizes.push_back(page->items.size());
    for (const v1::Model& model : page->items) ids.push_back(model.id());
    token = page->next_page_token;
  } while (!token.empty());
  EXPECT_THAT(sizes, ElementsAre(3, 3, 1));
  EXPECT_THAT(ids, ElementsAre("m6", "m5", "m4", "m3", "m2", "m1", "m0"));
}

TEST_F(SqliteStoreTest, ListJobsPaginatesWithFilters) {
  const std::vector<std::string> engines = {"evaluate", "fgsm", "pgd"};
  std::vector<std::string> all;
  for (int i = 0; i < 120; ++i) {
    const std::string id = absl::StrCat("job", i);
    Create(MakeJob(id, engines[i % 3], absl::StrCat("model", i % 4)));
    if (i % 5 == 0) SetState(id, v1::SUCCEEDED);
    all.push_back(id);
  }
  std::reverse(all.begin(), all.end());  // Newest first.

  int pages = 0;
  EXPECT_EQ(ListAllJobIds({}, 25, &pages), all);
  EXPECT_EQ(pages, 5);  // 25 * 4 + 20.
  EXPECT_EQ(ListAllJobIds({}, 40, &pages), all);
  EXPECT_EQ(pages, 3);  // An exactly full last page has no next token.

  auto expected = [&](auto keep) {
    std::vector<std::string> ids;
    for (int i = 119; i >= 0; --i) {
      if (keep(i)) ids.push_back(absl::StrCat("job", i));
    }
    return ids;
  };
  EXPECT_EQ(ListAllJobIds(Filter(v1::SUCCEEDED), 7, &pages), expected([](int i) { return i % 5 == 0; }));
  EXPECT_EQ(pages, 4);  // 24 jobs.
  EXPECT_EQ(ListAllJobIds(Filter(v1::QUEUED), 1000, &pages), expected([](int i) { return i % 5 != 0; }));
  EXPECT_EQ(ListAllJobIds(Filter(v1::JOB_STATE_UNSPECIFIED, "fgsm"), 9, &pages),
            expected([](int i) { return i % 3 == 1; }));
  EXPECT_EQ(ListAllJobIds(Filter(v1::JOB_STATE_UNSPECIFIED, "", "model2"), 9, &pages),
            expected([](int i) { return i % 4 == 2; }));
  EXPECT_EQ(ListAllJobIds(Filter(v1::QUEUED, "pgd", "model1"), 2, &pages),
            expected([](int i) { return i % 5 != 0 && i % 3 == 2 && i % 4 == 1; }));
  EXPECT_THAT(ListAllJobIds(Filter(v1::JOB_STATE_UNSPECIFIED, "cw"), 10, &pages), IsEmpty());
  EXPECT_EQ(pages, 1);
}

TEST_F(SqliteStoreTest, PageSizeDefaultsTo50AndIsCappedAt1000) {
  for (int i = 0; i < 1005; ++i) Create(MakeJob(absl::StrCat("job", i)));
  for (int page_size : {0, -3}) {
    auto page = store_->ListJobs({}, page_size, "");
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_EQ(page->items.size(), 50u);
    EXPECT_FALSE(page->next_page_token.empty());
  }
  auto big = store_->ListJobs({}, 5000, "");
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(big->items.size(), 1000u);
  auto rest = store_->ListJobs({}, 5000, big->next_page_token);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_THAT(Ids(rest->items), ElementsAre("job4", "job3", "job2", "job1", "job0"));
  EXPECT_EQ(rest->next_page_token, "");
}

TEST_F(SqliteStoreTest, MalformedPageTokenIsInvalidArgument) {
  Create(MakeJob("job"));
  for (const std::string& token :
       {std::string("not base64!"), absl::WebSafeBase64Escape("seq:"), absl::WebSafeBase64Escape("seq:-4"),
        absl::WebSafeBase64Escape("seq:12x"), absl::WebSafeBase64Escape("12"), std::string("%%%%")}) {
    auto jobs = store_->ListJobs({}, 10, token);
    EXPECT_EQ(jobs.status().code(), absl::StatusCode::kInvalidArgument) << token;
    EXPECT_THAT(jobs.status().message(), HasSubstr("invalid page_token")) << token;
    EXPECT_EQ(store_->ListModels(10, token).status().code(), absl::StatusCode::kInvalidArgument) << token;
  }
}

TEST_F(SqliteStoreTest, RequestIdMakesCreateIdempotent) {
  auto first = store_->CreateJob(MakeJob("job1", "evaluate", "m", "request-A"));
  ASSERT_TRUE(first.ok()) << first.status();
  auto retried = store_->CreateJob(MakeJob("job2", "fgsm", "m", "request-A"));
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->id(), "job1");
  EXPECT_EQ(retried->engine(), "evaluate");
  EXPECT_EQ(store_->GetJob("job2").status().code(), absl::StatusCode::kNotFound);

  // Other request ids, and jobs without one, are separate jobs.
  ASSERT_TRUE(store_->CreateJob(MakeJob("job3", "evaluate", "m", "request-B")).ok());
  ASSERT_TRUE(store_->CreateJob(MakeJob("job4")).ok());
  ASSERT_TRUE(store_->CreateJob(MakeJob("job5")).ok());
  int pages = 0;
  EXPECT_THAT(ListAllJobIds({}, 10, &pages), ElementsAre("job5", "job4", "job3", "job1"));

  // The request id survives a restart.
  Reopen();
  auto after_restart = store_->CreateJob(MakeJob("job6", "evaluate", "m", "request-B"));
  ASSERT_TRUE(after_restart.ok()) << after_restart.status();
  EXPECT_EQ(after_restart->id(), "job3");
}

TEST_F(SqliteStoreTest, CreateJobRejectsDuplicateIdAndMissingState) {
  Create(MakeJob("job1"));
  auto duplicate = store_->CreateJob(MakeJob("job1", "fgsm"));
  EXPECT_EQ(duplicate.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(duplicate.status().message(), HasSubstr("job1"));
  v1::Job stateless = MakeJob("job2");
  stateless.set_state(v1::JOB_STATE_UNSPECIFIED);
  EXPECT_EQ(store_->CreateJob(stateless).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SqliteStoreTest, UpdateJobReplacesTheRecord) {
  Create(MakeJob("job1"));
  auto job = store_->GetJob("job1");
  ASSERT_TRUE(job.ok()) << job.status();
  job->set_state(v1::FAILED);
  job->set_error("out of memory");
  job->mutable_progress()->set_fraction(0.5);
  job->add_artifacts()->set_name("plot.png");
  ASSERT_TRUE(store_->UpdateJob(*job).ok());
  auto stored = store_->GetJob("job1");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_THAT(*stored, EqualsProto(*job));
  int pages = 0;
  EXPECT_THAT(ListAllJobIds(Filter(v1::FAILED), 10, &pages), ElementsAre("job1"));
  EXPECT_THAT(ListAllJobIds(Filter(v1::QUEUED), 10, &pages), IsEmpty());

  absl::Status missing = store_->UpdateJob(MakeJob("nope"));
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr("nope"));
  EXPECT_EQ(store_->GetJob("nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, ClaimTakesTheOldestQueuedJob) {
  for (int i = 0; i < 5; ++i) Create(MakeJob(absl::StrCat("job", i)));
  SetState("job1", v1::CANCELLED);
  const absl::Time before = absl::Now();
  std::vector<std::string> order;
  while (true) {
    auto claimed = store_->ClaimNextQueuedJob();
    ASSERT_TRUE(claimed.ok()) << claimed.status();
    if (!claimed->has_value()) break;
    const v1::Job& job = **claimed;
    order.push_back(job.id());
    EXPECT_EQ(job.state(), v1::RUNNING);
    const absl::Time started =
        absl::FromUnixSeconds(job.started_at().seconds()) + absl::Nanoseconds(job.started_at().nanos());
    // To the clock's resolution, not whole seconds.
    EXPECT_GE(started, before);
    EXPECT_LE(started, absl::Now());
    auto stored = store_->GetJob(job.id());
    ASSERT_TRUE(stored.ok()) << stored.status();
    EXPECT_THAT(*stored, EqualsProto(job));
  }
  EXPECT_THAT(order, ElementsAre("job0", "job2", "job3", "job4"));
  int pages = 0;
  EXPECT_THAT(ListAllJobIds(Filter(v1::RUNNING), 10, &pages), ElementsAre("job4", "job3", "job2", "job0"));
}

// Four workers drain 200 jobs; every job is claimed by exactly one of them.
void ExpectEachJobClaimedOnce(const std::vector<Store*>& stores) {
  std::vector<std::vector<std::string>> claimed(stores.size());
  std::vector<std::thread> workers;
  for (size_t w = 0; w < stores.size(); ++w) {
    workers.emplace_back([&, w] {
      while (true) {
        auto job = stores[w]->ClaimNextQueuedJob();
        EXPECT_TRUE(job.ok()) << job.status();
        if (!job.ok() || !job->has_value()) return;
        claimed[w].push_back((*job)->id());
      }
    });
  }
  for (auto& worker : workers) worker.join();
  std::vector<std::string> all;
  for (const auto& ids : claimed) all.insert(all.end(), ids.begin(), ids.end());
  std::sort(all.begin(), all.end());
  std::vector<std::string> expected;
  for (int i = 0; i < 200; ++i) expected.push_back(absl::StrCat("job", 1000 + i));
  EXPECT_EQ(all, expected);
}

TEST_F(SqliteStoreTest, ClaimIsAtomicAcrossThreads) {
  for (int i = 0; i < 200; ++i) Create(MakeJob(absl::StrCat("job", 1000 + i)));
  ExpectEachJobClaimedOnce({store_.get(), store_.get(), store_.get(), store_.get()});
  auto counts = store_->CountJobsByState();
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_THAT(*counts, ElementsAre(Pair(v1::QUEUED, 0), Pair(v1::RUNNING, 200), Pair(v1::SUCCEEDED, 0),
                                   Pair(v1::FAILED, 0), Pair(v1::CANCELLED, 0)));
}

TEST_F(SqliteStoreTest, ClaimIsAtomicAcrossConnections) {
  for (int i = 0; i < 200; ++i) Create(MakeJob(absl::StrCat("job", 1000 + i)));
  std::vector<std::unique_ptr<SqliteStore>> connections;
  std::vector<Store*> stores;
  for (int i = 0; i < 4; ++i) {
    auto store = SqliteStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    stores.push_back(store->get());
    connections.push_back(std::move(*store));
  }
  ExpectEachJobClaimedOnce(stores);
}

TEST_F(SqliteStoreTest, RunningJobsAreRequeuedAfterRestart) {
  for (int i = 0; i < 4; ++i) Create(MakeJob(absl::StrCat("job", i)));
  auto first = store_->ClaimNextQueuedJob();
  auto second = store_->ClaimNextQueuedJob();
  ASSERT_TRUE(first.ok() && first->has_value() && second.ok() && second->has_value());
  v1::Job progressed = **second;
  progressed.mutable_progress()->set_fraction(0.4);
  progressed.mutable_progress()->set_stage("attack");
  ASSERT_TRUE(store_->UpdateJob(progressed).ok());
  SetState("job3", v1::SUCCEEDED);

  Reopen();
  auto requeued = store_->RequeueRunningJobs();
  ASSERT_TRUE(requeued.ok()) << requeued.status();
  EXPECT_EQ(*requeued, 2);
  for (const std::string id : {"job0", "job1"}) {
    auto job = store_->GetJob(id);
    ASSERT_TRUE(job.ok()) << job.status();
    EXPECT_EQ(job->state(), v1::QUEUED);
    EXPECT_FALSE(job->has_progress()) << id;
    EXPECT_FALSE(job->has_started_at()) << id;
    EXPECT_EQ(job->created_at().seconds(), 1700000000);
  }
  EXPECT_EQ(store_->GetJob("job3")->state(), v1::SUCCEEDED);
  EXPECT_EQ(*store_->RequeueRunningJobs(), 0);

  // Re-queued jobs keep their place: they run before later submissions.
  std::vector<std::string> order;
  while (true) {
    auto claimed = store_->ClaimNextQueuedJob();
    ASSERT_TRUE(claimed.ok()) << claimed.status();
    if (!claimed->has_value()) break;
    order.push_back((*claimed)->id());
  }
  EXPECT_THAT(order, ElementsAre("job0", "job1", "job2"));
}

TEST_F(SqliteStoreTest, DeleteModelRefusedWhileAQueuedOrRunningJobUsesIt) {
  ASSERT_TRUE(store_->PutModel(MakeModel("m1")).ok());
  ASSERT_TRUE(store_->PutModel(MakeModel("m2")).ok());
  Create(MakeJob("old", "evaluate", "m1"));
  SetState("old", v1::SUCCEEDED);
  Create(MakeJob("job1", "evaluate", "m1"));

  absl::Status queued = store_->DeleteModel("m1");
  EXPECT_EQ(queued.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(queued.message(), "model m1 is used by queued or running job job1");

  ASSERT_TRUE(store_->ClaimNextQueuedJob().ok());
  absl::Status running = store_->DeleteModel("m1");
  EXPECT_EQ(running.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(running.message(), HasSubstr("job1"));
  EXPECT_TRUE(store_->GetModel("m1").ok());

  EXPECT_TRUE(store_->DeleteModel("m2").ok());  // Unrelated models can go.
  SetState("job1", v1::FAILED);
  EXPECT_TRUE(store_->DeleteModel("m1").ok());
  EXPECT_EQ(store_->GetModel("m1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->GetJob("old").ok());  // Finished jobs keep their record.
}

TEST_F(SqliteStoreTest, RecordsPersistAcrossOpen) {
  const v1::Model model = MakeModel("m1", "persisted");
  v1::Dataset dataset;
  dataset.set_id("d1");
  dataset.set_has_labels(true);
  v1::Job job = MakeJob("job1", "fgsm", "m1", "req");
  ASSERT_TRUE(store_->PutModel(model).ok());
  ASSERT_TRUE(store_->PutDataset(dataset).ok());
  Create(job);

  Reopen();
  Reopen();  // Opening an up-to-date database changes nothing.
  EXPECT_THAT(*store_->GetModel("m1"), EqualsProto(model));
  EXPECT_THAT(*store_->GetDataset("d1"), EqualsProto(dataset));
  EXPECT_THAT(*store_->GetJob("job1"), EqualsProto(job));
  int pages = 0;
  EXPECT_THAT(ListAllJobIds(Filter(v1::JOB_STATE_UNSPECIFIED, "fgsm", "m1"), 10, &pages), ElementsAre("job1"));
  // Sequence numbers continue after a restart, so order and tokens stay valid.
  Create(MakeJob("job2"));
  EXPECT_THAT(ListAllJobIds({}, 1, &pages), ElementsAre("job2", "job1"));
}

TEST_F(SqliteStoreTest, CountJobsCountsWhatListJobsLists) {
  const std::vector<std::string> engines = {"evaluate", "fgsm", "pgd"};
  for (int i = 0; i < 60; ++i) {
    const std::string id = absl::StrCat("job", i);
    Create(MakeJob(id, engines[i % 3], absl::StrCat("model", i % 4)));
    if (i % 5 == 0) SetState(id, v1::SUCCEEDED);
  }
  int pages = 0;
  for (const JobFilter& filter : {Filter(v1::JOB_STATE_UNSPECIFIED), Filter(v1::SUCCEEDED), Filter(v1::QUEUED, "fgsm"),
                                  Filter(v1::JOB_STATE_UNSPECIFIED, "", "model2"), Filter(v1::QUEUED, "pgd", "model1"),
                                  Filter(v1::JOB_STATE_UNSPECIFIED, "cw")}) {
    auto count = store_->CountJobs(filter);
    ASSERT_TRUE(count.ok()) << count.status();
    EXPECT_EQ(*count, static_cast<int64_t>(ListAllJobIds(filter, 7, &pages).size()))
        << filter.state << " " << filter.engine << " " << filter.model_id;
  }
  EXPECT_EQ(*store_->CountJobs(Filter(v1::JOB_STATE_UNSPECIFIED)), 60);
  EXPECT_EQ(*store_->CountJobs(Filter(v1::SUCCEEDED)), 12);
  EXPECT_EQ(*store_->CountJobs(Filter(v1::JOB_STATE_UNSPECIFIED, "cw")), 0);
}

TEST_F(SqliteStoreTest, CountJobsByState) {
  auto empty = store_->CountJobsByState();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_THAT(*empty, ElementsAre(Pair(v1::QUEUED, 0), Pair(v1::RUNNING, 0), Pair(v1::SUCCEEDED, 0),
                                  Pair(v1::FAILED, 0), Pair(v1::CANCELLED, 0)));
  for (int i = 0; i < 10; ++i) Create(MakeJob(absl::StrCat("job", i)));
  ASSERT_TRUE(store_->ClaimNextQueuedJob().ok());
  ASSERT_TRUE(store_->ClaimNextQueuedJob().ok());
  SetState("job5", v1::SUCCEEDED);
  SetState("job6", v1::SUCCEEDED);
  SetState("job7", v1::SUCCEEDED);
  SetState("job8", v1::CANCELLED);
  auto counts = store_->CountJobsByState();
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_THAT(*counts, ElementsAre(Pair(v1::QUEUED, 4), Pair(v1::RUNNING, 2), Pair(v1::SUCCEEDED, 3),
                                   Pair(v1::FAILED, 0), Pair(v1::CANCELLED, 1)));
}

TEST_F(SqliteStoreTest, NewerSchemaIsRefused) {
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE schema_version SET version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = SqliteStore::Open(path_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("99"));
}

TEST_F(SqliteStoreTest, UsesWriteAheadLogging) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  std::string mode;
  sqlite3_exec(
      db, "PRAGMA journal_mode",
      [](void* out, int, char** values, char**) {
        *static_cast<std::string*>(out) = values[0];
        return 0;
      },
      &mode, nullptr);
  sqlite3_close(db);
  EXPECT_EQ(mode, "wal");
}

TEST_F(SqliteStoreTest, OpenFailsWhereNoDatabaseCanBeCreated) {
  auto store = SqliteStore::Open(dir_ + "/missing/dir/crucible.db");
  EXPECT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr("missing/dir"));
}

}  // namespace
}  // namespace crucible
