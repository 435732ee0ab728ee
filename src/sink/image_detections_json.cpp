#include "sink/image_detections_json.h"

#include <cmath>

namespace streaminfer {
namespace {

// Floats printed as the shortest text that reads back the same are long (0.87000000476837158);
// rounding to what matters keeps the file readable and diffable.
// Dividing by the whole number of steps per unit gives the double nearest the decimal
// (0.8765, not 0.8765000000000001 as multiplying by 1e-4 would).
double json_round_to(double value, double per_unit) {
  return std::round(value * per_unit) / per_unit;
}
double json_px(float value) { return json_round_to(value, 100); }
double json_score(float value) { return json_round_to(value, 1e4); }

std::string json_label_of(int class_id, const std::vector<std::string>& labels) {
  if (class_id >= 0 && static_cast<size_t>(class_id) < labels.size()) {
    return labels[static_cast<size_t>(class_id)];
  }
  return "class_" + std::to_string(class_id);
}

}  // namespace

nlohmann::json detections_json(const std::vector<ImageDetections>& images,
                               const std::vector<std::string>& labels, const std::string& model) {
  nlohmann::json out_images = nlohmann::json::array();
  for (const auto& image : images) {
    nlohmann::json detections = nlohmann::json::array();
    for (const auto& d : image.detections) {
      detections.push_back(
          {{"box", {json_px(d.box.x1), json_px(d.box.y1), json_px(d.box.x2), json_px(d.box.y2)}},
           {"score", json_score(d.score)},
           {"class_id", d.class_id},
           {"label", json_label_of(d.class_id, labels)}});
    }
    out_images.push_back({{"file", image.file},
                          {"width", image.width},
                          {"height", image.height},
                          {"detections", std::move(detections)}});
  }
  return {{"model", model}, {"images", std::move(out_images)}};
}

nlohmann::json detections_coco_json(const std::vector<ImageDetections>& images,
                                    const std::vector<std::string>& labels,
                                    const std::string& model) {
  nlohmann::json out_images = nlohmann::json::array();
  nlohmann::json annotations = nlohmann::json::array();
  nlohmann::json categories = nlohmann::json::array();
  int max_class = static_cast<int>(labels.size()) - 1;
  int64_t annotation_id = 1;
  for (size_t i = 0; i < images.size(); ++i) {
    const auto& image = images[i];
    const int64_t image_id = static_cast<int64_t>(i) + 1;
    out_images.push_back({{"id", image_id},
                          {"file_name", image.file},
                          {"width", image.width},
                          {"height", image.height}});
    for (const auto& d : image.detections) {
      const double x = json_px(d.box.x1), y = json_px(d.box.y1);
      const double w = json_px(d.box.x2) - x, h = json_px(d.box.y2) - y;
      annotations.push_back({{"id", annotation_id++},
                             {"image_id", image_id},
                             {"category_id", d.class_id + 1},
                             {"bbox", {x, y, json_round_to(w, 100), json_round_to(h, 100)}},
                             {"area", json_round_to(w * h, 100)},
                             {"iscrowd", 0},
                             {"score", json_score(d.score)}});
      if (d.class_id > max_class) max_class = d.class_id;
    }
  }
  // Every class of the model, so files of different folders share one category list; a class
  // beyond the labels (a model without names) still gets a category.
  for (int c = 0; c <= max_class; ++c) {
    categories.push_back({{"id", c + 1}, {"name", json_label_of(c, labels)}});
  }
  return {{"info", {{"description", "streaminfer annotate"}, {"model", model}}},
          {"images", std::move(out_images)},
          {"categories", std::move(categories)},
          {"annotations", std::move(annotations)}};
}

}  // namespace streaminfer
