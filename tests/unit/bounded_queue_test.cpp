#include "batch/bounded_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace streaminfer {
namespace {

TEST(BoundedQueueTest, FifoOrder) {
  BoundedQueue<int> q(4, OverflowPolicy::kBlock);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(q.push(int{i}));
  EXPECT_EQ(q.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(q.pop(), i);
  EXPECT_FALSE(q.try_pop().has_value());
}

TEST(BoundedQueueTest, DropOldestKeepsNewestAndCounts) {
  BoundedQueue<int> q(3, OverflowPolicy::kDropOldest);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(q.push(int{i}));
  EXPECT_EQ(q.dropped(), 7);
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.pop(), 7);
  EXPECT_EQ(q.pop(), 8);
  EXPECT_EQ(q.pop(), 9);
}

TEST(BoundedQueueTest, BlockPolicyWaitsForSpace) {
  BoundedQueue<int> q(1, OverflowPolicy::kBlock);
  ASSERT_TRUE(q.push(1));
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    EXPECT_TRUE(q.push(2));
    pushed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(pushed.load()) << "push into a full kBlock queue must wait";
  EXPECT_EQ(q.pop(), 1);
  EXPECT_EQ(q.pop(), 2);  // blocks until the producer got in
  producer.join();
  EXPECT_TRUE(pushed.load());
  EXPECT_EQ(q.dropped(), 0);
}

TEST(BoundedQueueTest, CloseDrainsThenReturnsNullopt) {
  BoundedQueue<int> q(4, OverflowPolicy::kBlock);
  ASSERT_TRUE(q.push(1));
  ASSERT_TRUE(q.push(2));
  q.close();
  EXPECT_FALSE(q.push(3));
  EXPECT_FALSE(q.closed_and_empty());
  EXPECT_EQ(q.pop(), 1);
  EXPECT_EQ(q.pop(), 2);
  EXPECT_TRUE(q.closed_and_empty());
  EXPECT_FALSE(q.pop().has_value());
}

TEST(BoundedQueueTest, CloseWakesBlockedProducerAndConsumer) {
  BoundedQueue<int> full(1, OverflowPolicy::kBlock);
  ASSERT_TRUE(full.push(1));
  BoundedQueue<int> empty(1, OverflowPolicy::kBlock);
  std::atomic<int> push_result{-1};
  std::atomic<int> pop_result{-1};
  std::thread producer([&] { push_result = full.push(2) ? 1 : 0; });
  std::thread consumer([&] { pop_result = empty.pop().has_value() ? 1 : 0; });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  full.close();
  empty.close();
  producer.join();
  consumer.join();
  EXPECT_EQ(push_result.load(), 0);
  EXPECT_EQ(pop_result.load(), 0);
}

TEST(BoundedQueueTest, PopUntilTimesOut) {
  BoundedQueue<int> q(2, OverflowPolicy::kBlock);
  const auto start = std::chrono::steady_clock::now();
  auto item = q.pop_until(start + std::chrono::milliseconds(50));
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(item.has_value());
  EXPECT_GE(waited, std::chrono::milliseconds(45));
  EXPECT_LT(waited, std::chrono::seconds(2));

  ASSERT_TRUE(q.push(5));
  EXPECT_EQ(q.pop_until(std::chrono::steady_clock::now() + std::chrono::seconds(5)), 5);
}

TEST(BoundedQueueTest, MoveOnlyItems) {
  BoundedQueue<std::unique_ptr<int>> q(2, OverflowPolicy::kDropOldest);
  ASSERT_TRUE(q.push(std::make_unique<int>(1)));
  ASSERT_TRUE(q.push(std::make_unique<int>(2)));
  ASSERT_TRUE(q.push(std::make_unique<int>(3)));
  auto first = q.pop();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(**first, 2);
  q.close();
  auto rejected = std::make_unique<int>(4);
  EXPECT_FALSE(q.push(std::move(rejected)));
  ASSERT_NE(rejected, nullptr) << "a rejected item must be left with the caller";
}

}  // namespace
}  // namespace streaminfer
