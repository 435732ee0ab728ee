#include "service/fleet_camera.h"

#include <gtest/gtest.h>

namespace streaminfer {
namespace {

TEST(FleetCamera, AnEntryIsAUriOrTheApisJsonAndTheKeyNamesTheCamera) {
  auto plain = fleet_camera_spec("door-1", " synthetic:?fps=5\n");
  ASSERT_TRUE(plain) << plain.status().message();
  EXPECT_EQ(plain->uri, "synthetic:?fps=5");
  EXPECT_EQ(plain->name, "door-1");
  auto object = fleet_camera_spec("door-2", R"({"uri": "synthetic:", "every_nth": 3})");
  ASSERT_TRUE(object) << object.status().message();
  EXPECT_EQ(object->every_nth, 3);
  EXPECT_EQ(object->name, "door-2");
  EXPECT_TRUE(fleet_camera_spec("door-2", R"({"uri": "synthetic:", "name": "door-2"})"));

  for (const auto& [name, entry] : std::vector<std::pair<std::string, std::string>>{
           {"door", ""},
           {"door", "{not json"},
           {"door", R"({"uri": "synthetic:", "name": "other"})"},
           {"door", R"({"uri": "synthetic:", "fps": 3})"},
           {"door", "/no/such/file.mp4"},
           {"door", "gopher://x"},
           {"stream-3", "synthetic:"},
           {"a:b", "synthetic:"}}) {
    auto r = fleet_camera_spec(name, entry);
    ASSERT_FALSE(r) << name << " " << entry;
    EXPECT_EQ(r.status().message().find('\n'), std::string::npos) << r.status().message();
  }
}

TEST(FleetCamera, TheApisEntryIsTheUriAloneUnlessSamplingWasGiven) {
  StreamSpec spec("synthetic:?fps=5");
  spec.name = "door";
  spec.every_nth = 0;
  spec.sample_fps = -1;
  EXPECT_EQ(fleet_camera_entry(spec), "synthetic:?fps=5");
  spec.sample_fps = 2;
  const std::string entry = fleet_camera_entry(spec);
  auto back = fleet_camera_spec("door", entry);
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_DOUBLE_EQ(back->sample_fps, 2);
  EXPECT_EQ(back->uri, "synthetic:?fps=5");
}

}  // namespace
}  // namespace streaminfer
