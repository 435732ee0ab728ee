#pragma once
// A procedural camera: a textured background with moving, bouncing shapes of a few classes, and
// the exact box of every shape it draws. Lets the whole pipeline run (and be checked for accuracy)
// with no video files and no network.
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "source/source.h"
#include "source/synthetic_uri.h"

struct AVBufferPool;

namespace streaminfer {

// Classes the synthetic scenes draw: 0 rectangle, 1 ellipse, 2 triangle, 3 cross.
int synthetic_num_classes();
const std::vector<std::string>& synthetic_class_names();

class SyntheticSource : public Source {
 public:
  SyntheticSource(const SyntheticParams& params, std::string uri);
  ~SyntheticSource() override;
  SyntheticSource(const SyntheticSource&) = delete;
  SyntheticSource& operator=(const SyntheticSource&) = delete;

  Status next(FramePtr& out) override;
  const SourceInfo& info() const override { return info_; }
  const SyntheticParams& params() const { return params_; }
  // The next frame produced is the one at `index` (the scene at time index / fps): training
  // samples scenes at random times without drawing every frame before them.
  void seek(int64_t index) { next_index_ = index; }

 private:
  struct Object {
    int class_id = 0;
    float width = 0, height = 0;  // extent of the shape
    float x0 = 0, y0 = 0;         // top-left at t = 0
    float vx = 0, vy = 0;         // pixels per second
    uint8_t rgb[3] = {0, 0, 0};
  };

  void make_background();
  void make_objects();
  // Draws `object` at time t into the RGB24 plane; returns false when no pixel of it is visible.
  bool draw(const Object& object, double t, uint8_t* data, int linesize, Box& drawn) const;

  SyntheticParams params_;
  SourceInfo info_;
  std::vector<uint8_t> background_;  // width * height * 3, packed rows
  std::vector<Object> objects_;
  AVBufferPool* pool_ = nullptr;  // recycles frame buffers; freed once the last frame is gone
  int linesize_ = 0;
  int64_t next_index_ = 0;
};

Result<std::unique_ptr<Source>> open_synthetic_source(const std::string& uri);

}  // namespace streaminfer
