// The etcd client against a real etcd (Debian's etcd-server, loopback, a temporary data dir).
#include "fleet/etcd_client.h"

#include <gtest/gtest.h>

#include <thread>

#include "etcd_server.h"

namespace streaminfer {
namespace {

using test::EtcdServer;

TEST(Base64, RoundTripsEveryLengthAndRefusesWhatIsNotBase64) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("fleet/streams/cam-1"), "ZmxlZXQvc3RyZWFtcy9jYW0tMQ==");
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  for (size_t n = 0; n < all.size(); n += 37) {
    EXPECT_EQ(base64_decode(base64_encode(all.substr(0, n))), all.substr(0, n));
  }
  EXPECT_FALSE(base64_decode("Zg="));
  EXPECT_FALSE(base64_decode("Z!=="));
  EXPECT_FALSE(base64_decode("Zg==Zg=="));
  EXPECT_EQ(prefix_range_end("a/"), "a0");
  EXPECT_EQ(prefix_range_end(std::string("a\xff", 2)), "b");
}

class Etcd : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(server_.start(), ""); }
  EtcdServer server_;
};

TEST_F(Etcd, PutGetRangeAndDelete) {
  EtcdClient etcd(server_.endpoint());
  ASSERT_TRUE(etcd.put("fleet/streams/cam-1", R"({"uri": "rtsp://a"})"));
  ASSERT_TRUE(etcd.put("fleet/streams/cam-2", "two"));
  ASSERT_TRUE(etcd.put("fleet/workers/w1", "x"));
  auto one = etcd.get("fleet/streams/cam-1");
  ASSERT_TRUE(one) << one.status().message();
  ASSERT_TRUE(one.value().has_value());
  EXPECT_EQ(one.value()->value, R"({"uri": "rtsp://a"})");
  EXPECT_GT(one.value()->mod_revision, 0);
  auto missing = etcd.get("fleet/streams/none");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing.value().has_value());
  auto streams = etcd.range("fleet/streams/");
  ASSERT_TRUE(streams) << streams.status().message();
  ASSERT_EQ(streams.value().size(), 2u);
  EXPECT_EQ(streams.value()[1].key, "fleet/streams/cam-2");
  auto deleted = etcd.remove("fleet/streams/cam-2");
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted.value(), 1);
  EXPECT_EQ(etcd.range("fleet/streams/").value().size(), 1u);
}

TEST_F(Etcd, AKeyUnderALeaseGoesWithItAndOnlyOneLeaseCanHoldAnOwnerKey) {
  EtcdClient etcd(server_.endpoint());
  auto mine = etcd.grant_lease(2);
  auto theirs = etcd.grant_lease(30);
  ASSERT_TRUE(mine && theirs);
  std::string holder;
  auto took = etcd.put_if_free("fleet/owners/cam-1", "w1", mine.value(), &holder);
  ASSERT_TRUE(took) << took.status().message();
  EXPECT_TRUE(took.value());
  // Again by the same lease: still ours. By another: refused, and told who holds it.
  EXPECT_TRUE(etcd.put_if_free("fleet/owners/cam-1", "w1", mine.value()).value());
  EXPECT_FALSE(etcd.put_if_free("fleet/owners/cam-1", "w2", theirs.value(), &holder).value());
  EXPECT_EQ(holder, "w1");
  auto ttl = etcd.keep_alive(mine.value());
  ASSERT_TRUE(ttl) << ttl.status().message();
  EXPECT_GT(ttl.value(), 0);
  // Not kept alive: the lease expires and its key goes; the other lease may take it now.
  bool gone = false;
  for (int i = 0; i < 60 && !gone; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    gone = !etcd.get("fleet/owners/cam-1").value().has_value();
  }
  EXPECT_TRUE(gone) << "the key outlived its lease";
  EXPECT_EQ(etcd.keep_alive(mine.value()).value(), 0) << "an expired lease was renewed";
  EXPECT_TRUE(etcd.put_if_free("fleet/owners/cam-1", "w2", theirs.value()).value());
  EXPECT_TRUE(etcd.revoke_lease(theirs.value()));
  EXPECT_FALSE(etcd.get("fleet/owners/cam-1").value().has_value());
}

TEST_F(Etcd, CreateOnlyOnceRemoveOnlyWhileHeldAndTheRevisionMovesWithEveryChange) {
  EtcdClient etcd(server_.endpoint());
  auto before = etcd.revision();
  ASSERT_TRUE(before) << before.status().message();
  EXPECT_EQ(etcd.revision().value(), before.value()) << "a read changed the revision";
  EXPECT_TRUE(etcd.create("fleet/streams/cam-1", "synthetic:").value());
  EXPECT_FALSE(etcd.create("fleet/streams/cam-1", "other").value());
  EXPECT_EQ(etcd.get("fleet/streams/cam-1").value()->value, "synthetic:");
  int64_t range_revision = 0;
  ASSERT_TRUE(etcd.range("fleet/", &range_revision));
  EXPECT_EQ(range_revision, before.value() + 1);
  EXPECT_EQ(etcd.revision().value(), range_revision);

  auto mine = etcd.grant_lease(30);
  auto theirs = etcd.grant_lease(30);
  ASSERT_TRUE(mine && theirs);
  ASSERT_TRUE(etcd.put_if_free("fleet/owners/cam-1", "w1", theirs.value()).value());
  EXPECT_FALSE(etcd.remove_if_held("fleet/owners/cam-1", mine.value()).value());
  EXPECT_TRUE(etcd.get("fleet/owners/cam-1").value().has_value());
  EXPECT_TRUE(etcd.remove_if_held("fleet/owners/cam-1", theirs.value()).value());
  EXPECT_FALSE(etcd.get("fleet/owners/cam-1").value().has_value());
  EXPECT_FALSE(etcd.remove_if_held("fleet/owners/cam-1", theirs.value()).value()) << "gone";
  EXPECT_GT(etcd.requests(), 10);
}

TEST_F(Etcd, AnEtcdThatIsDownIsOneLineNamingIt) {
  EtcdClient etcd(server_.endpoint(), 0.5);
  server_.kill();
  const Status put = etcd.put("k", "v");
  ASSERT_FALSE(put);
  EXPECT_NE(put.message().find(server_.endpoint()), std::string::npos) << put.message();
  EXPECT_EQ(put.message().find('\n'), std::string::npos);
  EXPECT_FALSE(etcd.range("k"));
  EXPECT_FALSE(etcd.grant_lease(5));
}

}  // namespace
}  // namespace streaminfer
