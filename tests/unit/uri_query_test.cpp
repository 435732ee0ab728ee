#include "source/uri_query.h"

#include <gtest/gtest.h>

#include "source/synthetic_source.h"

namespace streaminfer {
namespace {

const std::set<std::string> kKeys = {"width", "height", "fps", "objects", "seed", "frames"};

TEST(UriQueryTest, ParsesAllKeys) {
  const std::string uri = "synthetic:?width=1280&height=720&fps=29.97&objects=6&seed=1&frames=300";
  auto query = parse_uri_query(uri, kKeys);
  ASSERT_TRUE(query) << query.status().message();
  EXPECT_EQ(query->base, "synthetic:");
  EXPECT_EQ(query->values.size(), 6u);
  EXPECT_EQ(query->values.at("width"), "1280");
  EXPECT_EQ(query->get_int("height", 0, 0, 10000).value(), 720);
  EXPECT_DOUBLE_EQ(query->get_double("fps", 0, 0, 1000).value(), 29.97);
  EXPECT_EQ(query->get_int("frames", 0, 0, 1000).value(), 300);
}

TEST(UriQueryTest, NoQueryAndAbsentKeysUseFallbacks) {
  auto query = parse_uri_query("synthetic:", kKeys);
  ASSERT_TRUE(query);
  EXPECT_EQ(query->base, "synthetic:");
  EXPECT_TRUE(query->values.empty());
  EXPECT_EQ(query->get_int("width", 640, 1, 10000).value(), 640);
  EXPECT_DOUBLE_EQ(query->get_double("fps", 25, 1, 100).value(), 25);
  // Empty items from stray '&' are tolerated.
  auto stray = parse_uri_query("synthetic:?&width=8&", kKeys);
  ASSERT_TRUE(stray);
  EXPECT_EQ(stray->get_int("width", 0, 0, 10).value(), 8);
}

TEST(UriQueryTest, UnknownKeyNamesKeyAndUri) {
  const std::string uri = "synthetic:?width=64&colour=red";
  auto query = parse_uri_query(uri, kKeys);
  ASSERT_FALSE(query);
  const std::string message = query.status().message();
  EXPECT_NE(message.find("'colour'"), std::string::npos) << message;
  EXPECT_NE(message.find(uri), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(UriQueryTest, BadNumbersNameKeyAndUri) {
  for (const std::string value : {"abc", "12x", "", " 5", "1e3", "99999999999999999999", "-1"}) {
    const std::string uri = "synthetic:?width=" + value;
    auto query = parse_uri_query(uri, kKeys);
    ASSERT_TRUE(query) << value;
    auto width = query->get_int("width", 0, 0, 10000);
    ASSERT_FALSE(width) << "accepted '" << value << "'";
    EXPECT_NE(width.status().message().find("'width'"), std::string::npos);
    EXPECT_NE(width.status().message().find(uri), std::string::npos);
  }
  for (const std::string value : {"nan", "inf", "x", "", "30fps", "0"}) {
    const std::string uri = "synthetic:?fps=" + value;
    auto query = parse_uri_query(uri, kKeys);
    ASSERT_TRUE(query) << value;
    EXPECT_FALSE(query->get_double("fps", 1, 0.01, 1000)) << "accepted '" << value << "'";
  }
}

TEST(UriQueryTest, MalformedItems) {
  EXPECT_FALSE(parse_uri_query("synthetic:?width", kKeys));
  EXPECT_FALSE(parse_uri_query("synthetic:?=5", kKeys));
  auto twice = parse_uri_query("synthetic:?seed=1&seed=2", kKeys);
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.status().message().find("'seed'"), std::string::npos);
}

TEST(UriQueryTest, SyntheticParams) {
  auto defaults = parse_synthetic_uri("synthetic:");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->width, 1280);
  EXPECT_EQ(defaults->height, 720);
  EXPECT_DOUBLE_EQ(defaults->fps, 30);
  EXPECT_EQ(defaults->objects, 6);
  EXPECT_EQ(defaults->seed, 1u);
  EXPECT_EQ(defaults->frames, 0);

  auto custom =
      parse_synthetic_uri("synthetic:?width=320&height=240&fps=10&objects=3&seed=7&frames=5");
  ASSERT_TRUE(custom);
  EXPECT_EQ(custom->width, 320);
  EXPECT_EQ(custom->height, 240);
  EXPECT_EQ(custom->objects, 3);
  EXPECT_EQ(custom->seed, 7u);
  EXPECT_EQ(custom->frames, 5);

  EXPECT_FALSE(parse_synthetic_uri("synthetic:?width=0"));
  EXPECT_FALSE(parse_synthetic_uri("synthetic:?fps=-3"));
  EXPECT_FALSE(parse_synthetic_uri("synthetic:foo?width=64"));
  EXPECT_FALSE(parse_synthetic_uri("synthetic:?speed=3"));
}

}  // namespace
}  // namespace streaminfer
