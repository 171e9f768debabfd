// Load check for crucible-server: N concurrent clients submit evaluate jobs
// and poll them with GetJob for a fixed time; reports submits/s, GetJob
// latency percentiles and errors. Loopback only.
//
//   build/server/crucible-server --listen 127.0.0.1:50051 --data-dir /tmp/load &
//   build/bench/load_check --server 127.0.0.1:50051 --clients 50 --seconds 30
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "crucible/v1/service.grpc.pb.h"
#include "engines/core/ndarray.h"
#include "engines/core/npy.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "server address (loopback)");
ABSL_FLAG(int, clients, 50, "concurrent clients");
ABSL_FLAG(int, seconds, 30, "duration");
ABSL_FLAG(std::string, fixtures, CRUCIBLE_FIXTURES_DIR, "tests/fixtures directory");

namespace crucible {
namespace {

using Clock = std::chrono::steady_clock;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The first `n` bundled images and labels as NPY bytes.
std::pair<std::string, std::string> SmallDataset(const std::string& fixtures, int n) {
  NdArray images = *ParseNpy(ReadFile(fixtures + "/data/fmnist_test_1000_images.npy"));
  NdArray labels = *ParseNpy(ReadFile(fixtures + "/data/fmnist_test_1000_labels.npy"));
  images.bytes.resize(int64_t{n} * 784);
  images.shape[0] = n;
  labels.bytes.resize(int64_t{n} * 8);
  labels.shape[0] = n;
  return {SerializeNpy(images), SerializeNpy(labels)};
}

int Run() {
  auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_server), grpc::InsecureChannelCredentials());
  auto stub = v1::AuditorService::NewStub(channel);
  const std::string fixtures = absl::GetFlag(FLAGS_fixtures);

  v1::Model model;
  {
    const std::string bytes = ReadFile(fixtures + "/models/fmnist_mlp.onnx");
    grpc::ClientContext context;
    auto writer = stub->UploadModel(&context, &model);
    v1::UploadModelRequest request;
    request.mutable_header()->set_name("load-mlp");
    request.mutable_header()->set_size_bytes(bytes.size());
    writer->Write(request);
    request.set_chunk(bytes);
    writer->Write(request);
    writer->WritesDone();
    if (grpc::Status s = writer->Finish(); !s.ok()) {
      std::fprintf(stderr, "model upload failed: %s\n", s.error_message().c_str());
      return 1;
    }
  }
  v1::Dataset dataset;
  {
    auto [inputs, labels] = SmallDataset(fixtures, 16);
    grpc::ClientContext context;
    auto writer = stub->UploadDataset(&context, &dataset);
    v1::UploadDatasetRequest request;
    request.mutable_header()->set_inputs_size_bytes(inputs.size());
    request.mutable_header()->set_labels_size_bytes(labels.size());
    writer->Write(request);
    request.set_inputs_chunk(inputs);
    writer->Write(request);
    request.set_labels_chunk(labels);
    writer->Write(request);
    writer->WritesDone();
    if (grpc::Status s = writer->Finish(); !s.ok()) {
      std::fprintf(stderr, "dataset upload failed: %s\n", s.error_message().c_str());
      return 1;
    }
  }

  const auto end = Clock::now() + std::chrono::seconds(absl::GetFlag(FLAGS_seconds));
  std::atomic<int64_t> submits{0}, finished{0}, errors{0};
  absl::Mutex mu;
  std::vector<double> get_ms;
  std::vector<std::thread> clients;
  for (int c = 0; c < absl::GetFlag(FLAGS_clients); ++c) {
    clients.emplace_back([&] {
      std::vector<double> local;
      while (Clock::now() < end) {
        v1::SubmitJobRequest submit;
        submit.mutable_spec()->set_model_id(model.id());
        submit.mutable_spec()->set_dataset_id(dataset.id());
        submit.mutable_spec()->mutable_evaluate()->mutable_preprocess()->add_std(255.0f);
        v1::Job job;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        if (!stub->SubmitJob(&context, submit, &job).ok()) {
          ++errors;
          continue;
        }
        ++submits;
        while (Clock::now() < end) {
          v1::GetJobRequest get;
          get.set_id(job.id());
          grpc::ClientContext get_context;
          get_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
          const auto start = Clock::now();
          const grpc::Status s = stub->GetJob(&get_context, get, &job);
          local.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
          if (!s.ok()) {
            ++errors;
            break;
          }
          if (job.state() == v1::SUCCEEDED || job.state() == v1::FAILED || job.state() == v1::CANCELLED) {
            if (job.state() != v1::SUCCEEDED) ++errors;
            ++finished;
            break;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
      absl::MutexLock lock(&mu);
      get_ms.insert(get_ms.end(), local.begin(), local.end());
    });
  }
  for (std::thread& t : clients) t.join();
  std::sort(get_ms.begin(), get_ms.end());
  auto percentile = [&](double p) { return get_ms.empty() ? 0.0 : get_ms[size_t(p * (get_ms.size() - 1))]; };
  const double seconds = absl::GetFlag(FLAGS_seconds);
  std::printf("clients %d, %.0f s: %lld submits (%.1f/s), %lld jobs finished, %zu GetJob calls, "
              "GetJob p50 %.2f ms, p99 %.2f ms, max %.2f ms, errors %lld\n",
              absl::GetFlag(FLAGS_clients), seconds, (long long)submits.load(), submits.load() / seconds,
              (long long)finished.load(), get_ms.size(), percentile(0.5), percentile(0.99),
              get_ms.empty() ? 0.0 : get_ms.back(), (long long)errors.load());
  return errors.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace crucible

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return crucible::Run();
}
