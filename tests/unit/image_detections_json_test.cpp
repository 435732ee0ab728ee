#include "sink/image_detections_json.h"

#include <gtest/gtest.h>

namespace streaminfer {
namespace {

std::vector<ImageDetections> two_images() {
  return {
      {"a.png",
       320,
       240,
       {{Box{10.004f, 20, 110.5f, 60.25f}, 0.87654f, 2}, {Box{0, 0, 5, 5}, 0.3f, 0}}},
      {"b.jpg", 64, 48, {}},
  };
}

TEST(ImageDetectionsJson, OwnLayoutHasEveryImageAndDetection) {
  const auto json = detections_json(two_images(), {"person", "bicycle", "car"}, "yolov8n");
  EXPECT_EQ(json["model"], "yolov8n");
  ASSERT_EQ(json["images"].size(), 2u);
  const auto& a = json["images"][0];
  EXPECT_EQ(a["file"], "a.png");
  EXPECT_EQ(a["width"], 320);
  EXPECT_EQ(a["height"], 240);
  ASSERT_EQ(a["detections"].size(), 2u);
  const auto& d = a["detections"][0];
  EXPECT_EQ(d["label"], "car");
  EXPECT_EQ(d["class_id"], 2);
  EXPECT_DOUBLE_EQ(d["score"].get<double>(), 0.8765);
  ASSERT_EQ(d["box"].size(), 4u);
  EXPECT_DOUBLE_EQ(d["box"][0].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(d["box"][2].get<double>(), 110.5);
  EXPECT_DOUBLE_EQ(d["box"][3].get<double>(), 60.25);
  EXPECT_TRUE(json["images"][1]["detections"].empty());
  // Rounded values print short: no 0.87654000520706177.
  EXPECT_NE(json.dump().find("\"score\":0.8765}"), std::string::npos) << json.dump();
}

TEST(ImageDetectionsJson, CocoLayoutLinksAnnotationsToImagesAndCategories) {
  const auto json = detections_coco_json(two_images(), {"person", "bicycle", "car", "dog"}, "m");
  ASSERT_EQ(json["images"].size(), 2u);
  EXPECT_EQ(json["images"][0]["id"], 1);
  EXPECT_EQ(json["images"][0]["file_name"], "a.png");
  EXPECT_EQ(json["images"][1]["width"], 64);
  ASSERT_EQ(json["categories"].size(), 4u);
  EXPECT_EQ(json["categories"][0]["id"], 1);
  EXPECT_EQ(json["categories"][0]["name"], "person");
  ASSERT_EQ(json["annotations"].size(), 2u);
  const auto& ann = json["annotations"][0];
  EXPECT_EQ(ann["id"], 1);
  EXPECT_EQ(ann["image_id"], 1);
  EXPECT_EQ(ann["category_id"], 3);  // class 2 "car" -> category 3
  EXPECT_EQ(json["categories"][2]["name"], "car");
  const auto& bbox = ann["bbox"];
  EXPECT_DOUBLE_EQ(bbox[0].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(bbox[1].get<double>(), 20.0);
  EXPECT_DOUBLE_EQ(bbox[2].get<double>(), 100.5);
  EXPECT_DOUBLE_EQ(bbox[3].get<double>(), 40.25);
  EXPECT_NEAR(ann["area"].get<double>(), 100.5 * 40.25, 0.01);
  EXPECT_EQ(ann["iscrowd"], 0);
  EXPECT_DOUBLE_EQ(ann["score"].get<double>(), 0.8765);
  EXPECT_EQ(json["annotations"][1]["id"], 2);
}

TEST(ImageDetectionsJson, ClassesBeyondTheLabelsStillGetNames) {
  std::vector<ImageDetections> images = {{"x.png", 10, 10, {{Box{0, 0, 1, 1}, 0.5f, 4}}}};
  const auto coco = detections_coco_json(images, {"a"}, "m");
  ASSERT_EQ(coco["categories"].size(), 5u);
  EXPECT_EQ(coco["categories"][4]["name"], "class_4");
  const auto own = detections_json(images, {"a"}, "m");
  EXPECT_EQ(own["images"][0]["detections"][0]["label"], "class_4");
}

}  // namespace
}  // namespace streaminfer
