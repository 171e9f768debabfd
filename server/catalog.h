// Catalog: turns uploaded bytes into validated, stored models and datasets.
//
// A model upload is imported by the model core before it is recorded, so an
// ONNX the core cannot run is rejected at upload with the core's message
// (INVALID_ARGUMENT or FAILED_PRECONDITION). Datasets are parsed and checked
// the same way. Both are content-addressed: the same bytes are one record.
// Loaded models and datasets are immutable and shared; the most recently used
// few stay in memory so that submits and jobs do not re-parse them.
// Thread-safe.
#ifndef CRUCIBLE_SERVER_CATALOG_H_
#define CRUCIBLE_SERVER_CATALOG_H_

#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "crucible/v1/resources.pb.h"
#include "engines/core/dataset.h"
#include "engines/core/model.h"
#include "server/store/blob_store.h"
#include "server/store/store.h"

namespace crucible {

class Catalog {
 public:
  Catalog(Store* store, BlobStore* blobs) : store_(store), blobs_(blobs) {}

  // `blob` holds the uploaded ONNX bytes.
  absl::StatusOr<v1::Model> RegisterModel(const std::string& name, const BlobInfo& blob);
  // `labels` has an empty sha256 when the dataset has no labels.
  absl::StatusOr<v1::Dataset> RegisterDataset(const std::string& name, const BlobInfo& inputs, const BlobInfo& labels);

  absl::StatusOr<std::shared_ptr<const Model>> LoadModel(const std::string& model_id);
  absl::StatusOr<std::shared_ptr<const Dataset>> LoadDataset(const std::string& dataset_id);

 private:
  // A small most-recently-used cache (datasets can be large: a few entries).
  template <typename T>
  struct Cache {
    static constexpr size_t kCapacity = 4;
    std::deque<std::pair<std::string, std::shared_ptr<const T>>> entries;
    std::shared_ptr<const T> Find(const std::string& id);
    void Insert(const std::string& id, std::shared_ptr<const T> value);
  };

  Store* store_;
  BlobStore* blobs_;
  absl::Mutex mu_;
  Cache<Model> models_ ABSL_GUARDED_BY(mu_);
  Cache<Dataset> datasets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_CATALOG_H_
