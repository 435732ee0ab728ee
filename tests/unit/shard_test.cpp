#include "config/shard.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace streaminfer {
namespace {

TEST(Shard, ParsesIndexAndCount) {
  auto shard = parse_shard("1/3");
  ASSERT_TRUE(shard) << shard.status().message();
  EXPECT_EQ(shard.value().index, 1);
  EXPECT_EQ(shard.value().count, 3);
  EXPECT_TRUE(parse_shard("0/1"));
}

TEST(Shard, MalformedShardsNameTheFlagAndTheForm) {
  for (const char* bad : {"", "1", "3/3", "-1/2", "1/0", "a/2", "1/2/3", "1 /2", "/2", "1/"}) {
    auto shard = parse_shard(bad);
    ASSERT_FALSE(shard) << bad;
    EXPECT_NE(shard.status().message().find("--shard"), std::string::npos);
    EXPECT_NE(shard.status().message().find("i/N"), std::string::npos);
  }
}

TEST(Shard, TakesEveryNthSourceFromItsIndex) {
  const std::vector<std::string> cams = {"c0", "c1", "c2", "c3", "c4"};
  const auto mine = [&](int index, int count) {
    auto sources = sources_of_shard(cams, {index, count});
    EXPECT_TRUE(sources) << sources.status().message();
    return sources ? sources.value() : std::vector<std::string>{};
  };
  EXPECT_EQ(mine(0, 2), (std::vector<std::string>{"c0", "c2", "c4"}));
  EXPECT_EQ(mine(1, 2), (std::vector<std::string>{"c1", "c3"}));
  EXPECT_EQ(mine(0, 1), cams);
  // Every source lands in exactly one shard.
  std::vector<std::string> all;
  for (int i = 0; i < 3; ++i) {
    const std::vector<std::string> part = mine(i, 3);
    all.insert(all.end(), part.begin(), part.end());
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, cams);
}

TEST(Shard, AShardWithoutSourcesIsAnError) {
  auto mine = sources_of_shard({"c0", "c1"}, {2, 3});
  ASSERT_FALSE(mine);
  EXPECT_NE(mine.status().message().find("no source falls in this shard"), std::string::npos);
}

}  // namespace
}  // namespace streaminfer
