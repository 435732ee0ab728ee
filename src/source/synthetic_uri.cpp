#include "source/synthetic_uri.h"

#include <set>

#include "source/uri_query.h"

namespace streaminfer {

Result<SyntheticParams> parse_synthetic_uri(const std::string& uri) {
  static const std::set<std::string> kKeys = {"width",   "height", "fps",
                                              "objects", "seed",   "frames"};
  auto query = parse_uri_query(uri, kKeys);
  if (!query) return query.status();
  if (query->base != "synthetic:") {
    return Status::error("cannot parse '" + uri +
                         "' (expected synthetic:?width=1280&height=720&fps=30&objects=6&seed=1)");
  }
  SyntheticParams params;
  auto width = query->get_int("width", params.width, 16, 8192);
  if (!width) return width.status();
  auto height = query->get_int("height", params.height, 16, 8192);
  if (!height) return height.status();
  auto fps = query->get_double("fps", params.fps, 0.01, 1000);
  if (!fps) return fps.status();
  auto objects = query->get_int("objects", params.objects, 0, 1000);
  if (!objects) return objects.status();
  auto seed = query->get_int("seed", params.seed, 0, 4294967295LL);
  if (!seed) return seed.status();
  auto frames = query->get_int("frames", params.frames, 0, 1LL << 50);
  if (!frames) return frames.status();
  params.width = static_cast<int>(*width);
  params.height = static_cast<int>(*height);
  params.fps = *fps;
  params.objects = static_cast<int>(*objects);
  params.seed = static_cast<uint32_t>(*seed);
  params.frames = *frames;
  return params;
}

}  // namespace streaminfer
