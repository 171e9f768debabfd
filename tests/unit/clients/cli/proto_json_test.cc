#include "clients/cli/proto_json.h"

#include "crucible/v1/jobs.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crucible {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;

TEST(ProtoJsonTest, PrintsProtoNamesAndDefaultValues) {
  v1::Job job;
  job.set_id("j1");
  job.set_state(v1::SUCCEEDED);
  job.mutable_report()->mutable_attack()->set_clean_accuracy(0.9);
  absl::StatusOr<std::string> json = ProtoToJson(job);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr(R"("id": "j1")"));
  EXPECT_THAT(*json, HasSubstr(R"("state": "SUCCEEDED")"));
  EXPECT_THAT(*json, HasSubstr(R"("request_id": "")"));
  // A robust accuracy of 0 and empty lists are printed, not dropped.
  EXPECT_THAT(*json, HasSubstr(R"("robust_accuracy": 0)"));
  EXPECT_THAT(*json, HasSubstr(R"("warnings": [])"));
  EXPECT_THAT(*json, HasSubstr(R"("clean_accuracy": 0.9)"));
  EXPECT_THAT(*json, EndsWith("}\n"));
}

TEST(ProtoJsonTest, RoundTrip) {
  v1::SubmitJobRequest request;
  request.set_request_id("r-1");
  request.mutable_spec()->set_model_id("abc");
  request.mutable_spec()->mutable_fgsm()->set_epsilon(0.25f);
  absl::StatusOr<std::string> json = ProtoToJson(request);
  ASSERT_TRUE(json.ok()) << json.status();
  v1::SubmitJobRequest parsed;
  ASSERT_TRUE(ParseProtoJson(*json, &parsed).ok());
  EXPECT_EQ(parsed.SerializeAsString(), request.SerializeAsString());
}

TEST(ProtoJsonTest, ParseReplacesTheMessage) {
  v1::SubmitJobRequest request;
  request.set_request_id("old");
  ASSERT_TRUE(ParseProtoJson(R"({"spec": {"model_id": "m", "verify": {"timeout_seconds": 5}}})", &request).ok());
  EXPECT_EQ(request.request_id(), "");
  EXPECT_EQ(request.spec().model_id(), "m");
  EXPECT_EQ(request.spec().verify().timeout_seconds(), 5.0);
}

TEST(ProtoJsonTest, ParseErrorsNameTheType) {
  v1::SubmitJobRequest request;
  for (const char* json : {"", "{", R"({"spec": {"modelid": "m"}})", R"({"spec": 3})"}) {
    absl::Status status = ParseProtoJson(json, &request);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_THAT(status.message(), HasSubstr("not valid JSON of crucible.v1.SubmitJobRequest: ")) << json;
  }
}

}  // namespace
}  // namespace crucible
