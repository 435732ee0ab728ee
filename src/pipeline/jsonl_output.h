#pragma once
// --output: each frame's results as one JSON line, to a file or stdout, flushed once a batch
// (a reader following the file or the pipe sees each batch's lines as it ends).
#include <memory>
#include <string>

#include "pipeline/output_peer.h"
#include "sink/jsonl_writer.h"

namespace streaminfer {

class JsonlOutput : public OutputPeer {
 public:
  explicit JsonlOutput(std::string path) : path_(std::move(path)) {}
  Status open() override;
  void on_batch(const Batch& batch, const BatchContext& context) override;
  Status close(const RunStats& stats, nlohmann::json& summary) override;
  std::vector<std::string> written_files() const override;
  // `--output -` and the reader closed stdout (`| head -1`): later lines go nowhere.
  // Postprocess thread.
  bool stdout_closed() const { return stdout_closed_; }

 private:
  std::string path_;
  std::unique_ptr<JsonlWriter> writer_;
  bool stdout_closed_ = false;
};

}  // namespace streaminfer
