#pragma once
// Demuxes and decodes the best video stream of anything FFmpeg opens: files, and for now also
// rtsp/http URLs. Frames come out in the decoder's native pixel format.
#include <cstdint>
#include <memory>
#include <string>

#include "source/source.h"

struct AVCodecContext;
struct AVFormatContext;
struct AVFrame;
struct AVPacket;

namespace streaminfer {

class FileSource : public Source {
 public:
  static Result<std::unique_ptr<Source>> open(const std::string& uri, const SourceOptions& options);
  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  Status next(FramePtr& out) override;
  const SourceInfo& info() const override { return info_; }
  int64_t decode_errors() const override { return decode_errors_; }
  std::string end_of_stream_problem() const override;

 private:
  FileSource() = default;
  // Feeds the decoder one packet of our stream; at the end of input starts draining it.
  void feed();

  SourceInfo info_;
  AVFormatContext* format_ = nullptr;
  AVCodecContext* decoder_ = nullptr;
  AVPacket* packet_ = nullptr;
  AVFrame* decoded_ = nullptr;
  int stream_index_ = -1;
  double time_base_ = 0;  // seconds per pts tick
  int64_t start_pts_ = 0;
  bool draining_ = false;
  Status pending_error_;  // a read error, returned once the frames already decoded are out
  int64_t frames_out_ = 0;
  int64_t expected_frames_ = 0;  // from the container's header; 0 when it does not say
  int64_t decode_errors_ = 0;
  int consecutive_read_errors_ = 0;
};

bool is_live_uri(const std::string& uri);

}  // namespace streaminfer
