// `crucible model ...` and `crucible dataset ...`.
#include "absl/strings/str_cat.h"
#include "clients/cli/commands.h"
#include "clients/cli/printing.h"
#include "clients/cli/upload.h"
#include "engines/core/status_macros.h"

namespace crucible {

absl::StatusOr<int> ModelUpload(const ParsedCommand& command, CommandEnv& env) {
  const std::optional<std::string> name = command.value("--name");
  ASSIGN_OR_RETURN(UploadedModel upload,
                   UploadModelFile(env.client, command.operands()[0], name.value_or("")));
  if (upload.already_stored) {
    std::fprintf(env.err, "the server already has this model%s\n",
                 name.has_value() ? "; --name is ignored" : "");
  }
  RETURN_IF_ERROR(PrintResult(env, command, upload.model, FormatModel(upload.model)));
  return kExitOk;
}

absl::StatusOr<int> ModelList(const ParsedCommand& command, CommandEnv& env) {
  v1::ListModelsRequest request;
  ASSIGN_OR_RETURN(int page_size, PageSizeOption(command));
  request.set_page_size(page_size);
  request.set_page_token(command.value("--page-token").value_or(""));
  ASSIGN_OR_RETURN(v1::ListModelsResponse response, env.client.ListModels(request));
  while (command.has("--all") && !response.next_page_token().empty()) {
    if (response.next_page_token() == request.page_token()) {
      return absl::InternalError("the server returned the same page token twice");
    }
    request.set_page_token(response.next_page_token());
    ASSIGN_OR_RETURN(v1::ListModelsResponse page, env.client.ListModels(request));
    for (v1::Model& model : *page.mutable_models()) *response.add_models() = std::move(model);
    response.set_next_page_token(page.next_page_token());
  }
  RETURN_IF_ERROR(PrintResult(env, command, response, FormatModelTable(response.models())));
  if (!command.has("--json") && !response.next_page_token().empty()) {
    std::fprintf(env.err, "more models: --page-token %s (or --all)\n", response.next_page_token().c_str());
  }
  return kExitOk;
}

absl::StatusOr<int> ModelGet(const ParsedCommand& command, CommandEnv& env) {
  ASSIGN_OR_RETURN(v1::Model model, env.client.GetModel(command.operands()[0]));
  RETURN_IF_ERROR(PrintResult(env, command, model, FormatModel(model)));
  return kExitOk;
}

absl::StatusOr<int> ModelDelete(const ParsedCommand& command, CommandEnv& env) {
  const std::string& id = command.operands()[0];
  RETURN_IF_ERROR(env.client.DeleteModel(id));
  RETURN_IF_ERROR(PrintResult(env, command, v1::DeleteModelResponse(), absl::StrCat("deleted model ", id, "\n")));
  return kExitOk;
}

absl::StatusOr<int> DatasetUpload(const ParsedCommand& command, CommandEnv& env) {
  ASSIGN_OR_RETURN(v1::Dataset dataset,
                   UploadDatasetFiles(env.client, *command.value("--inputs"),
                                      command.value("--labels").value_or(""),
                                      command.value("--name").value_or("")));
  RETURN_IF_ERROR(PrintResult(env, command, dataset, FormatDataset(dataset)));
  return kExitOk;
}

absl::StatusOr<int> DatasetGet(const ParsedCommand& command, CommandEnv& env) {
  ASSIGN_OR_RETURN(v1::Dataset dataset, env.client.GetDataset(command.operands()[0]));
  RETURN_IF_ERROR(PrintResult(env, command, dataset, FormatDataset(dataset)));
  return kExitOk;
}

}  // namespace crucible
