#include "source/synthetic_source.h"

#include <algorithm>
#include <cmath>
#include <cstring>

extern "C" {
#include <libavutil/buffer.h>
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
}

namespace streaminfer {
namespace {

constexpr double kTwoPi = 6.283185307179586;
constexpr int kNumClasses = 4;

// Distributions written out by hand: std::uniform_real_distribution differs between standard
// libraries, and the same seed must give the same scene everywhere.
float unit(std::mt19937& rng) { return static_cast<float>(rng() >> 8) * (1.0f / 16777216.0f); }
float uniform(std::mt19937& rng, float lo, float hi) { return lo + (hi - lo) * unit(rng); }
uint8_t uniform_u8(std::mt19937& rng, int lo, int hi) {
  return static_cast<uint8_t>(lo + static_cast<int>(rng() % static_cast<uint32_t>(hi - lo + 1)));
}

// Integer hash for the background texture: any pixel's noise without a sequential generator.
uint32_t hash3(uint32_t x, uint32_t y, uint32_t seed) {
  uint32_t h = x * 0x8da6b343u ^ y * 0xd8163841u ^ seed * 0xcb1ab31fu;
  h ^= h >> 16;
  h *= 0x7feb352du;
  h ^= h >> 15;
  h *= 0x846ca68bu;
  h ^= h >> 16;
  return h;
}

// Position of a point bouncing between lo and hi, in closed form so frame N never depends on the
// frames before it (and float error does not accumulate over long runs).
double reflect(double p, double lo, double hi) {
  const double span = hi - lo;
  if (span <= 0) return lo;
  double m = std::fmod(p - lo, 2 * span);
  if (m < 0) m += 2 * span;
  return lo + (m <= span ? m : 2 * span - m);
}

// Colour families keep classes apart by colour as well as shape: {min, max} per channel.
struct ColourRange {
  int lo[3], hi[3];
};
constexpr ColourRange kClassColours[kNumClasses] = {
    {{190, 20, 20}, {255, 80, 80}},   // rectangle: reds
    {{20, 170, 30}, {90, 240, 90}},   // ellipse: greens
    {{20, 60, 190}, {80, 130, 255}},  // triangle: blues
    {{210, 190, 0}, {255, 240, 50}},  // cross: yellows
};

std::string nominal_fps_text(double fps) {
  char text[32];
  if (fps == std::floor(fps)) {
    std::snprintf(text, sizeof(text), "%.0f", fps);
  } else {
    std::snprintf(text, sizeof(text), "%.2f", fps);
  }
  return text;
}

}  // namespace

int synthetic_num_classes() { return kNumClasses; }

const std::vector<std::string>& synthetic_class_names() {
  static const std::vector<std::string> kNames = {"rectangle", "ellipse", "triangle", "cross"};
  return kNames;
}

SyntheticSource::SyntheticSource(const SyntheticParams& params, std::string uri) : params_(params) {
  info_.uri = std::move(uri);
  info_.description = "synthetic " + std::to_string(params.width) + "x" +
                      std::to_string(params.height) + " @ " + nominal_fps_text(params.fps) +
                      " fps, " + std::to_string(params.objects) + " objects, seed " +
                      std::to_string(params.seed);
  info_.width = params.width;
  info_.height = params.height;
  info_.fps = params.fps;
  info_.live = true;
  info_.has_ground_truth = true;
  info_.ground_truth_classes = synthetic_class_names();

  linesize_ = (params.width * 3 + 63) & ~63;
  // Slack past the last row: SIMD readers (swscale) may read a little beyond the picture.
  pool_ = av_buffer_pool_init(static_cast<size_t>(linesize_) * params.height + 64, nullptr);
  make_background();
  make_objects();
}

SyntheticSource::~SyntheticSource() { av_buffer_pool_uninit(&pool_); }

void SyntheticSource::make_background() {
  const int w = params_.width, h = params_.height;
  // Its own generator, so the background depends on the seed only and not on the object count.
  std::mt19937 rng(params_.seed ^ 0x9e3779b9u);
  float top[3], bottom[3];
  const float top_grey = uniform(rng, 100, 160), bottom_grey = uniform(rng, 60, 120);
  for (int c = 0; c < 3; ++c) {
    top[c] = top_grey + uniform(rng, -20, 20);
    bottom[c] = bottom_grey + uniform(rng, -20, 20);
  }
  const float phase_x = uniform(rng, 0, static_cast<float>(kTwoPi));
  const float phase_y = uniform(rng, 0, static_cast<float>(kTwoPi));
  std::vector<float> wave_x(w), wave_y(h);
  for (int x = 0; x < w; ++x) wave_x[x] = std::sin(kTwoPi * 3 * x / w + phase_x);
  for (int y = 0; y < h; ++y) wave_y[y] = std::cos(kTwoPi * 2 * y / h + phase_y);
  const int tile = std::max(4, h / 16);

  background_.resize(static_cast<size_t>(w) * h * 3);
  uint8_t* p = background_.data();
  for (int y = 0; y < h; ++y) {
    const float f = h > 1 ? static_cast<float>(y) / (h - 1) : 0.0f;
    for (int x = 0; x < w; ++x) {
      const int tile_shade = static_cast<int>(hash3(x / tile, y / tile, params_.seed) % 25) - 12;
      const int noise = static_cast<int>(hash3(x, y, params_.seed + 1) % 13) - 6;
      const float shade = 10.0f * wave_x[x] * wave_y[y] + static_cast<float>(tile_shade + noise);
      for (int c = 0; c < 3; ++c) {
        const float v = top[c] + (bottom[c] - top[c]) * f + shade;
        *p++ = static_cast<uint8_t>(std::clamp(v, 0.0f, 255.0f));
      }
    }
  }
}

void SyntheticSource::make_objects() {
  std::mt19937 rng(params_.seed);
  const float w = static_cast<float>(params_.width), h = static_cast<float>(params_.height);
  objects_.resize(params_.objects);
  for (Object& o : objects_) {
    o.class_id = static_cast<int>(rng() % kNumClasses);
    const float size = h * uniform(rng, 0.03f, 0.25f);
    const float aspect = std::sqrt(uniform(rng, 0.6f, 1.6f));
    o.width = std::max(4.0f, size * aspect);
    o.height = std::max(4.0f, size / aspect);
    // Up to 30% of a shape may leave the frame before it bounces, so clipped boxes happen too.
    o.x0 = uniform(rng, -0.3f * o.width, w - 0.7f * o.width);
    o.y0 = uniform(rng, -0.3f * o.height, h - 0.7f * o.height);
    const float speed = h * uniform(rng, 0.05f, 0.4f);
    const float angle = uniform(rng, 0, static_cast<float>(kTwoPi));
    o.vx = speed * std::cos(angle);
    o.vy = speed * std::sin(angle);
    const ColourRange& range = kClassColours[o.class_id];
    for (int c = 0; c < 3; ++c) o.rgb[c] = uniform_u8(rng, range.lo[c], range.hi[c]);
  }
}

bool SyntheticSource::draw(const Object& o, double t, uint8_t* data, int linesize,
                           Box& drawn) const {
  const int fw = params_.width, fh = params_.height;
  const double left =
      reflect(o.x0 + o.vx * t, -0.3 * o.width, fw - 0.7 * static_cast<double>(o.width));
  const double top =
      reflect(o.y0 + o.vy * t, -0.3 * o.height, fh - 0.7 * static_cast<double>(o.height));
  const double cx = left + o.width / 2.0;
  // A pixel belongs to the shape when its centre does: rows y with top <= y + 0.5 < bottom.
  const int y_begin = std::max(0, static_cast<int>(std::ceil(top - 0.5)));
  const int y_end = std::min(fh, static_cast<int>(std::ceil(top + o.height - 0.5)));
  int min_x = fw, max_x = -1, min_y = fh, max_y = -1;
  for (int y = y_begin; y < y_end; ++y) {
    const double u = (y + 0.5 - top) / o.height;  // 0 at the top edge, 1 at the bottom
    double half = 0;
    switch (o.class_id) {
      case 0:  // rectangle
        half = o.width / 2.0;
        break;
      case 1: {  // ellipse
        const double dy = 2 * u - 1;
        if (dy * dy >= 1) continue;
        half = o.width / 2.0 * std::sqrt(1 - dy * dy);
        break;
      }
      case 2:  // triangle, apex up
        half = o.width / 2.0 * u;
        break;
      default:  // cross: full width in the middle third of the rows, a centre bar elsewhere
        half = (u >= 1.0 / 3 && u < 2.0 / 3) ? o.width / 2.0 : o.width / 6.0;
        break;
    }
    const int x_begin = std::max(0, static_cast<int>(std::ceil(cx - half - 0.5)));
    const int x_end = std::min(fw, static_cast<int>(std::ceil(cx + half - 0.5)));
    if (x_begin >= x_end) continue;
    uint8_t* p = data + static_cast<size_t>(y) * linesize + static_cast<size_t>(x_begin) * 3;
    const uint8_t r = o.rgb[0], g = o.rgb[1], b = o.rgb[2];
    for (int x = x_begin; x < x_end; ++x, p += 3) {
      p[0] = r;
      p[1] = g;
      p[2] = b;
    }
    min_x = std::min(min_x, x_begin);
    max_x = std::max(max_x, x_end);
    min_y = std::min(min_y, y);
    max_y = y;
  }
  if (max_x < 0) return false;
  drawn = Box{static_cast<float>(min_x), static_cast<float>(min_y), static_cast<float>(max_x),
              static_cast<float>(max_y + 1)};
  return true;
}

Status SyntheticSource::next(FramePtr& out) {
  out.reset();
  if (params_.frames > 0 && next_index_ >= params_.frames) return Status::ok();
  if (!pool_) return Status::error("'" + info_.uri + "': out of memory for frame buffers");

  auto frame = std::make_unique<Frame>();
  frame->image = make_av_frame();
  AVFrame* image = frame->image.get();
  if (image) image->buf[0] = av_buffer_pool_get(pool_);
  if (!image || !image->buf[0]) {
    return Status::error("'" + info_.uri + "': out of memory for a " +
                         std::to_string(params_.width) + "x" + std::to_string(params_.height) +
                         " frame");
  }
  image->format = AV_PIX_FMT_RGB24;
  image->width = params_.width;
  image->height = params_.height;
  image->data[0] = image->buf[0]->data;
  image->linesize[0] = linesize_;
  image->color_range = AVCOL_RANGE_JPEG;
  image->pts = next_index_;

  const size_t row_bytes = static_cast<size_t>(params_.width) * 3;
  if (static_cast<size_t>(linesize_) == row_bytes) {
    std::memcpy(image->data[0], background_.data(), background_.size());
  } else {
    for (int y = 0; y < params_.height; ++y) {
      std::memcpy(image->data[0] + static_cast<size_t>(y) * linesize_,
                  background_.data() + y * row_bytes, row_bytes);
    }
  }

  const double t = static_cast<double>(next_index_) / params_.fps;
  frame->ground_truth.reserve(objects_.size());
  for (const Object& o : objects_) {
    GroundTruthBox box;
    box.class_id = o.class_id;
    if (draw(o, t, image->data[0], linesize_, box.box)) frame->ground_truth.push_back(box);
  }
  frame->pts_seconds = t;
  ++next_index_;
  out = std::move(frame);
  return Status::ok();
}

Result<std::unique_ptr<Source>> open_synthetic_source(const std::string& uri) {
  auto params = parse_synthetic_uri(uri);
  if (!params) return params.status();
  return std::unique_ptr<Source>(std::make_unique<SyntheticSource>(*params, uri));
}

}  // namespace streaminfer
