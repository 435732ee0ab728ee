#pragma once
// Demuxes and decodes the best video stream of anything FFmpeg opens: files, rtsp/http URLs and
// V4L2 devices. Frames come out in the decoder's native pixel format. One connection: re-opening
// a live source after a drop is ReconnectingSource's job.
#include <atomic>
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
  int64_t decode_errors() const override { return decode_errors_.load(std::memory_order_relaxed); }
  std::string end_of_stream_problem() const override;
  void interrupt() override { interrupted_.store(true); }

 private:
  FileSource() = default;
  // FFmpeg asks this during every blocking I/O call: non-zero makes the call give up.
  static int should_abort_io(void* self);
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
  // Counted by the reading thread, read by others (a service's API) at any time.
  std::atomic<int64_t> decode_errors_{0};
  int consecutive_read_errors_ = 0;
  std::atomic<bool> interrupted_{false};
  const std::atomic<bool>* cancel_ = nullptr;  // SourceOptions::cancel
  std::atomic<bool> stalled_{false};
  std::atomic<int64_t> last_io_ns_{0};  // when the last packet arrived
  // Blocking I/O past this time gives up (a stall); 0: never (files). Moved on by every packet.
  std::atomic<int64_t> io_deadline_ns_{0};
  // The same for decoded frames: packets that never decode (a broken stream) are a stall too.
  std::atomic<int64_t> frame_deadline_ns_{0};
  int64_t ahead_ns_ = 0;  // how far the last packet was ahead of real time (see on_packet)
  // The stall clock starts at the first next(), not at open: between the two the run loads and
  // warms up the model, which can take longer than --stall-timeout.
  bool reading_ = false;
  int64_t stall_timeout_ns_ = 0;
  // Servers often send a burst of buffered content on connect (a GOP cache, a preroll), then
  // run at real time: the next packet is not due until real time catches up with the burst.
  int64_t first_packet_ns_ = 0;
  double first_packet_pts_s_ = 0;
  // Moves the I/O deadline after a packet of our stream with time stamp `pts_s` arrived.
  void on_packet(double pts_s);
};

// Network URLs and capture devices: sources that run on their own clock and can drop.
bool is_live_uri(const std::string& uri);
// What FFmpeg is given to open `uri`: the URL without streaminfer's own query keys
// ("transport=udp|tcp" on rtsp), the demuxer to force ("video4linux2" for /dev/videoN and
// "camera:N"), and the options those keys set.
struct FfmpegInput {
  std::string url;
  std::string format;          // empty: FFmpeg probes
  std::string rtsp_transport;  // rtsp only: "tcp" (default) or "udp"
};
Result<FfmpegInput> ffmpeg_input_of(const std::string& uri);

}  // namespace streaminfer
