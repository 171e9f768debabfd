#include "server/catalog.h"

#include "absl/strings/str_cat.h"
#include "engines/core/status_macros.h"
#include "server/current_timestamp.h"
#include "server/store/sha256.h"

namespace crucible {

absl::StatusOr<v1::Model> Catalog::RegisterModel(const std::string& name, const BlobInfo& blob) {
  if (auto existing = store_->GetModel(blob.sha256); existing.ok()) return existing;
  ASSIGN_OR_RETURN(const std::string bytes, blobs_->Read(blob.sha256));
  ASSIGN_OR_RETURN(const Model model, Model::FromOnnx(bytes));
  v1::Model record;
  record.set_id(blob.sha256);
  record.set_name(name.empty() ? blob.sha256.substr(0, 12) : name);
  record.set_size_bytes(blob.size_bytes);
  for (int64_t d : model.ExampleShape()) record.add_input_shape(d);
  record.set_num_classes(model.num_classes());
  record.set_opset(model.graph().opset);
  *record.mutable_created_at() = CurrentTimestamp();
  return store_->PutModel(record);
}

absl::StatusOr<v1::Dataset> Catalog::RegisterDataset(const std::string& name, const BlobInfo& inputs,
                                                     const BlobInfo& labels) {
  const std::string id = Sha256Hex(absl::StrCat(inputs.sha256, ":", labels.sha256));
  if (auto existing = store_->GetDataset(id); existing.ok()) return existing;
  ASSIGN_OR_RETURN(const std::string input_bytes, blobs_->Read(inputs.sha256));
  std::string label_bytes;
  if (!labels.sha256.empty()) {
    ASSIGN_OR_RETURN(label_bytes, blobs_->Read(labels.sha256));
  }
  ASSIGN_OR_RETURN(const Dataset data, ParseDataset(input_bytes, label_bytes));
  v1::Dataset record;
  record.set_id(id);
  record.set_name(name.empty() ? id.substr(0, 12) : name);
  record.set_num_examples(data.num_examples());
  for (int64_t d : data.ExampleShape()) record.add_example_shape(d);
  record.set_dtype(DTypeName(data.input_dtype));
  record.set_has_labels(data.has_labels());
  record.set_size_bytes(inputs.size_bytes + labels.size_bytes);
  record.set_inputs_sha256(inputs.sha256);
  record.set_labels_sha256(labels.sha256);
  *record.mutable_created_at() = CurrentTimestamp();
  return store_->PutDataset(record);
}

template <typename T>
std::shared_ptr<const T> Catalog::Cache<T>::Find(const std::string& id) {
  for (auto it = entries.begin(); it != entries.end(); ++it) {
    if (it->first != id) continue;
    auto entry = *it;
    entries.erase(it);
    entries.push_front(entry);
    return entry.second;
  }
  return nullptr;
}

template <typename T>
void Catalog::Cache<T>::Insert(const std::string& id, std::shared_ptr<const T> value) {
  entries.emplace_front(id, std::move(value));
  if (entries.size() > kCapacity) entries.pop_back();
}

absl::StatusOr<std::shared_ptr<const Model>> Catalog::LoadModel(const std::string& model_id) {
  ASSIGN_OR_RETURN(const v1::Model record, store_->GetModel(model_id));  // NOT_FOUND once deleted.
  {
    absl::MutexLock lock(&mu_);
    if (auto cached = models_.Find(record.id())) return cached;
  }
  ASSIGN_OR_RETURN(const std::string bytes, blobs_->Read(record.id()));
  ASSIGN_OR_RETURN(Model model, Model::FromOnnx(bytes));
  auto shared = std::make_shared<const Model>(std::move(model));
  absl::MutexLock lock(&mu_);
  models_.Insert(record.id(), shared);
  return shared;
}

absl::StatusOr<std::shared_ptr<const Dataset>> Catalog::LoadDataset(const std::string& dataset_id) {
  ASSIGN_OR_RETURN(const v1::Dataset record, store_->GetDataset(dataset_id));
  {
    absl::MutexLock lock(&mu_);
    if (auto cached = datasets_.Find(record.id())) return cached;
  }
  ASSIGN_OR_RETURN(const std::string inputs, blobs_->Read(record.inputs_sha256()));
  std::string labels;
  if (!record.labels_sha256().empty()) {
    ASSIGN_OR_RETURN(labels, blobs_->Read(record.labels_sha256()));
  }
  ASSIGN_OR_RETURN(Dataset dataset, ParseDataset(inputs, labels));
  auto shared = std::make_shared<const Dataset>(std::move(dataset));
  absl::MutexLock lock(&mu_);
  datasets_.Insert(record.id(), shared);
  return shared;
}

}  // namespace crucible
