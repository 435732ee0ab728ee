#include "pipeline/output_peer.h"

#include <stdexcept>

namespace streaminfer {

BatchContext::BatchContext(const Batch& batch, const std::vector<std::string>& labels, Tagger tags)
    : batch_(batch), labels_(labels), tags_(std::move(tags)) {}

const std::string& BatchContext::line(size_t i) const {
  if (lines_.empty()) {
    lines_.reserve(batch_.frames.size());
    for (const auto& frame : batch_.frames) {
      lines_.push_back(format_jsonl_line(*frame, labels_, tags_ ? tags_(*frame) : JsonlTags{}));
    }
  }
  return lines_.at(i);
}

const BatchTimeline& BatchContext::timeline() const {
  // Only the profiling peers read it, after the delivering ones ran: made before, it would miss
  // their time and the recalls.
  if (delivered_end == 0) throw std::logic_error("BatchContext::timeline() before delivery");
  if (timeline_) return *timeline_;
  BatchTimeline& t = timeline_.emplace();
  t.step = batch_.step;
  t.read_start = batch_.read_start;
  t.read_end = batch_.read_end;
  t.prep_start = batch_.prep_start;
  t.prep_end = batch_.prep_end;
  t.infer_start = batch_.infer_start;
  t.infer_end = batch_.infer_end;
  t.post_start = batch_.post_start;
  t.post_end = batch_.post_end;
  t.sink_start = delivered_start;
  t.sink_end = delivered_end;
  t.train = batch_.train;
  for (size_t i = 0; i < batch_.frames.size(); ++i) {
    const Frame& frame = *batch_.frames[i];
    t.frames.push_back(
        {frame.stream_id, frame.index, frame.t, static_cast<int>(frame.detections.size())});
    if (i < recalls.size()) t.frames.back().recall = recalls[i];
  }
  return t;
}

}  // namespace streaminfer
