#include "batch/batcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "streaminfer/clock.h"

namespace streaminfer {
namespace {

using std::chrono::milliseconds;

FramePtr make_frame(int stream, int64_t index) {
  auto frame = std::make_unique<Frame>();
  frame->stream_id = stream;
  frame->index = index;
  return frame;
}

BatcherOptions options(int max_batch, std::chrono::microseconds max_wait, size_t capacity) {
  BatcherOptions o;
  o.max_batch = max_batch;
  o.max_wait = max_wait;
  o.queue_capacity = capacity;
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Spins (yielding) until `condition` holds or a generous bound passes; for "the other thread has
// reached its blocking call" without sleeping a guessed amount.
template <typename F>
bool eventually(F condition, double seconds = 5.0) {
  const auto start = std::chrono::steady_clock::now();
  while (!condition()) {
    if (seconds_since(start) > seconds) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

TEST(BatcherTest, RoundRobinAcrossStreamsRotatesStart) {
  Batcher batcher(options(4, std::chrono::seconds(10), 100),
                  std::vector<OverflowPolicy>(3, OverflowPolicy::kBlock));
  for (int s = 0; s < 3; ++s) {
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(batcher.push(make_frame(s, i)));
  }
  const std::vector<std::vector<int>> expected = {{0, 1, 2, 0}, {1, 2, 0, 1}, {2, 0, 1, 2}};
  std::vector<int> share(3, 0);
  std::vector<int64_t> next_index(3, 0);
  for (int b = 0; b < 15; ++b) {
    auto batch = batcher.next_batch();
    ASSERT_TRUE(batch.has_value());
    ASSERT_EQ(batch->size(), 4u);
    std::vector<int> ids;
    for (const auto& f : *batch) {
      ids.push_back(f->stream_id);
      ++share[f->stream_id];
      EXPECT_EQ(f->index, next_index[f->stream_id]++) << "per-stream order broken";
      EXPECT_GT(f->t.batched, 0);
      EXPECT_GE(f->t.batched, f->t.decode_end);
    }
    if (b < 3) {
      EXPECT_EQ(ids, expected[b]) << "batch " << b;
    }
    const int lo = *std::min_element(share.begin(), share.end());
    const int hi = *std::max_element(share.begin(), share.end());
    EXPECT_LE(hi - lo, 1) << "after batch " << b;
  }
}

TEST(BatcherTest, FullBatchLeavesImmediately) {
  Batcher batcher(options(4, std::chrono::seconds(10), 8), {OverflowPolicy::kBlock});
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(batcher.push(make_frame(0, i)));
  const auto start = std::chrono::steady_clock::now();
  auto batch = batcher.next_batch();
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->size(), 4u);
  EXPECT_LT(seconds_since(start), 2.0) << "a full batch must not wait for max_wait (10 s)";
}

TEST(BatcherTest, PartialBatchLeavesAfterMaxWait) {
  const auto max_wait = milliseconds(150);
  Batcher batcher(options(4, max_wait, 8), {OverflowPolicy::kBlock, OverflowPolicy::kBlock});
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(batcher.push(make_frame(0, 0)));
  ASSERT_TRUE(batcher.push(make_frame(1, 0)));
  auto batch = batcher.next_batch();
  const double elapsed = seconds_since(start);
  ASSERT_TRUE(batch.has_value());
  ASSERT_EQ(batch->size(), 2u);
  const int64_t waited = (*batch)[0]->t.batched - (*batch)[0]->t.decode_end;
  EXPECT_GE(waited, static_cast<int64_t>(0.9 * 150e6)) << "left before max_wait";
  EXPECT_GE(elapsed, 0.9 * 0.150);
  EXPECT_LT(elapsed, 2.0);
}

TEST(BatcherTest, FlushesPartialBatchAtEndOfStream) {
  Batcher batcher(options(4, std::chrono::seconds(10), 8), {OverflowPolicy::kBlock});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(batcher.push(make_frame(0, i)));
  batcher.close_stream(0);
  const auto start = std::chrono::steady_clock::now();
  auto first = batcher.next_batch();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->size(), 4u);
  auto second = batcher.next_batch();
  ASSERT_TRUE(second.has_value());
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0]->index, 4);
  EXPECT_FALSE(batcher.next_batch().has_value());
  EXPECT_LT(seconds_since(start), 2.0) << "closed streams must not wait for max_wait (10 s)";
}

TEST(BatcherTest, ClosedStreamRejectsPushAndOthersKeepGoing) {
  Batcher batcher(options(2, std::chrono::seconds(10), 8),
                  {OverflowPolicy::kBlock, OverflowPolicy::kBlock});
  batcher.close_stream(0);
  EXPECT_FALSE(batcher.push(make_frame(0, 0)));
  EXPECT_FALSE(batcher.push(make_frame(7, 0))) << "unknown stream id";
  ASSERT_TRUE(batcher.push(make_frame(1, 0)));
  ASSERT_TRUE(batcher.push(make_frame(1, 1)));
  auto batch = batcher.next_batch();
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->size(), 2u);
  batcher.close_stream(1);
  EXPECT_FALSE(batcher.next_batch().has_value());
}

TEST(BatcherTest, DefaultFileQueueLetsOneFileFillLargeBatches) {
  for (int max_batch : {1, 4, 16, 32}) {
    const size_t capacity = default_file_queue_capacity(max_batch);
    EXPECT_GE(capacity, 2u * static_cast<size_t>(max_batch));
    EXPECT_GE(capacity, 8u);
    Batcher batcher(options(max_batch, std::chrono::seconds(10), capacity),
                    {OverflowPolicy::kBlock});
    for (int i = 0; i < max_batch; ++i) ASSERT_TRUE(batcher.push(make_frame(0, i)));
    auto batch = batcher.next_batch();  // full at once: no 10 s wait
    ASSERT_TRUE(batch.has_value());
    EXPECT_EQ(batch->size(), static_cast<size_t>(max_batch));
  }
}

TEST(BatcherTest, BlockingProducerWaitsForSpaceAndResumes) {
  Batcher batcher(options(4, std::chrono::seconds(10), 2), {OverflowPolicy::kBlock});
  ASSERT_TRUE(batcher.push(make_frame(0, 0)));
  ASSERT_TRUE(batcher.push(make_frame(0, 1)));
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    EXPECT_TRUE(batcher.push(make_frame(0, 2)));
    pushed = true;
  });
  // The queue is full: whatever the scheduling, the third frame cannot be in yet.
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_FALSE(pushed.load());
  EXPECT_EQ(batcher.depth(0), 2u);

  // A full stream cannot grow, so the batcher hands out what it has without waiting 10 s.
  auto batch = batcher.next_batch();
  ASSERT_TRUE(batch.has_value());
  ASSERT_EQ(batch->size(), 2u);
  EXPECT_TRUE(eventually([&] { return pushed.load(); }));
  producer.join();
  EXPECT_EQ(batcher.depth(0), 1u);
  EXPECT_EQ(batcher.dropped(0), 0);
  batcher.close_stream(0);
  auto last = batcher.next_batch();
  ASSERT_TRUE(last.has_value());
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ((*last)[0]->index, 2);
}

TEST(BatcherTest, DropOldestKeepsNewestAndCounts) {
  Batcher batcher(options(8, std::chrono::seconds(10), 3), {OverflowPolicy::kDropOldest});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(batcher.push(make_frame(0, i)));
  EXPECT_EQ(batcher.dropped(0), 7);
  EXPECT_EQ(batcher.depth(0), 3u);
  batcher.close_stream(0);
  auto batch = batcher.next_batch();
  ASSERT_TRUE(batch.has_value());
  ASSERT_EQ(batch->size(), 3u);
  EXPECT_EQ((*batch)[0]->index, 7);
  EXPECT_EQ((*batch)[1]->index, 8);
  EXPECT_EQ((*batch)[2]->index, 9);
  EXPECT_FALSE(batcher.next_batch().has_value());
}

TEST(BatcherTest, DropOldestHandsTheDroppedFrameBack) {
  Batcher batcher(options(8, std::chrono::seconds(10), 2), {OverflowPolicy::kDropOldest});
  std::vector<int64_t> dropped_indices;
  for (int i = 0; i < 5; ++i) {
    FramePtr dropped;
    ASSERT_TRUE(batcher.push(make_frame(0, i), &dropped));
    if (dropped) dropped_indices.push_back(dropped->index);
  }
  // The caller gets exactly the frames the count says were dropped, oldest first.
  EXPECT_EQ(dropped_indices, std::vector<int64_t>({0, 1, 2}));
  EXPECT_EQ(batcher.dropped(0), 3);
}

TEST(BatcherTest, LiveStreamsHaveTheirOwnShorterQueue) {
  BatcherOptions opts = options(8, std::chrono::seconds(10), 5);
  opts.live_queue_capacity = 2;
  Batcher batcher(opts, {OverflowPolicy::kDropOldest, OverflowPolicy::kBlock});
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(batcher.push(make_frame(0, i)));
    if (i < 5) {  // a sixth would block
      ASSERT_TRUE(batcher.push(make_frame(1, i)));
    }
  }
  EXPECT_EQ(batcher.depth(0), 2u);
  EXPECT_EQ(batcher.dropped(0), 4);
  EXPECT_EQ(batcher.depth(1), 5u);
  EXPECT_EQ(batcher.dropped(1), 0);
  // Both queues are full, so the batch cannot grow: it leaves at once, newest live frames first
  // in their stream's turn.
  auto batch = batcher.next_batch();
  ASSERT_TRUE(batch.has_value());
  ASSERT_EQ(batch->size(), 7u);
  std::vector<int64_t> live;
  for (const auto& frame : *batch) {
    if (frame->stream_id == 0) live.push_back(frame->index);
  }
  EXPECT_EQ(live, (std::vector<int64_t>{4, 5}));
}

TEST(BatcherTest, ShutdownUnblocksProducerAndDrains) {
  Batcher batcher(options(4, std::chrono::seconds(10), 1), {OverflowPolicy::kBlock});
  ASSERT_TRUE(batcher.push(make_frame(0, 0)));
  std::atomic<int> result{-1};
  std::thread producer([&] { result = batcher.push(make_frame(0, 1)) ? 1 : 0; });
  std::this_thread::sleep_for(milliseconds(20));
  batcher.shutdown();
  producer.join();
  EXPECT_EQ(result.load(), 0) << "push blocked at shutdown must return false";
  EXPECT_FALSE(batcher.push(make_frame(0, 2)));
  auto batch = batcher.next_batch();
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->size(), 1u);
  EXPECT_FALSE(batcher.next_batch().has_value());
}

TEST(BatcherTest, ShutdownWakesWaitingConsumer) {
  Batcher batcher(options(4, std::chrono::seconds(10), 4), {OverflowPolicy::kBlock});
  std::atomic<bool> got_nullopt{false};
  std::thread consumer([&] { got_nullopt = !batcher.next_batch().has_value(); });
  std::this_thread::sleep_for(milliseconds(20));
  const auto start = std::chrono::steady_clock::now();
  batcher.shutdown();
  consumer.join();
  EXPECT_TRUE(got_nullopt.load());
  EXPECT_LT(seconds_since(start), 2.0);
}

TEST(BatcherTest, ManyProducersEveryFrameOnceInOrder) {
  constexpr int kStreams = 4;
  constexpr int kFrames = 1000;
  Batcher batcher(options(3, milliseconds(1), 8),
                  std::vector<OverflowPolicy>(kStreams, OverflowPolicy::kBlock));
  std::vector<std::thread> producers;
  for (int s = 0; s < kStreams; ++s) {
    producers.emplace_back([&batcher, s] {
      for (int i = 0; i < kFrames; ++i) {
        if (!batcher.push(make_frame(s, i))) return;
      }
      batcher.close_stream(s);
    });
  }
  std::vector<int64_t> next_index(kStreams, 0);
  int64_t total = 0;
  bool in_order = true;
  while (auto batch = batcher.next_batch()) {
    EXPECT_GE(batch->size(), 1u);
    EXPECT_LE(batch->size(), 3u);
    for (const auto& f : *batch) {
      if (f->index != next_index[f->stream_id]) in_order = false;
      next_index[f->stream_id] = f->index + 1;
      ++total;
    }
  }
  for (auto& p : producers) p.join();
  EXPECT_TRUE(in_order);
  EXPECT_EQ(total, kStreams * kFrames);
  for (int s = 0; s < kStreams; ++s) {
    EXPECT_EQ(next_index[s], kFrames) << "stream " << s;
    EXPECT_EQ(batcher.dropped(s), 0);
  }
}

TEST(BatcherTest, AbandonDiscardsWhatIsQueuedAndCountsItPerStream) {
  Batcher batcher(options(4, std::chrono::microseconds(1000000), 8),
                  {OverflowPolicy::kBlock, OverflowPolicy::kBlock});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(batcher.push(make_frame(0, i)));
  ASSERT_TRUE(batcher.push(make_frame(1, 0)));
  EXPECT_EQ(batcher.abandon(), (std::vector<int64_t>{3, 1}));
  EXPECT_FALSE(batcher.next_batch()) << "nothing is left to batch";
  EXPECT_FALSE(batcher.push(make_frame(0, 9))) << "producers learn the batcher is shut down";
}

TEST(BatcherTest, APolicySetWhenTheSourceOpensDecidesOverflow) {
  BatcherOptions o = options(4, std::chrono::microseconds(1000000), 8);
  o.live_queue_capacity = 2;
  Batcher batcher(o, {OverflowPolicy::kBlock});
  batcher.set_policy(0, OverflowPolicy::kDropOldest);  // it opened as a live camera
  FramePtr dropped;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(batcher.push(make_frame(0, i), &dropped));
  ASSERT_TRUE(dropped) << "a live queue of 2 drops its oldest frame instead of blocking";
  EXPECT_EQ(dropped->index, 0);
  EXPECT_EQ(batcher.dropped(0), 1);
  EXPECT_EQ(batcher.depth(0), 2u);
}

TEST(BatcherTest, StreamsAddedWhileRunningJoinTheRoundRobinAndRetiredOnesLeaveIt) {
  Batcher batcher(options(3, std::chrono::seconds(10), 100), {OverflowPolicy::kBlock});
  const int second = batcher.add_stream(OverflowPolicy::kBlock);
  const int third = batcher.add_stream(OverflowPolicy::kDropOldest);
  EXPECT_EQ(second, 1);
  EXPECT_EQ(third, 2);
  EXPECT_EQ(batcher.num_streams(), 3);
  for (int s = 0; s < 3; ++s) {
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(batcher.push(make_frame(s, i)));
  }
  auto batch = batcher.next_batch();
  ASSERT_TRUE(batch.has_value());
  std::vector<int> ids;
  for (const auto& f : *batch) ids.push_back(f->stream_id);
  EXPECT_EQ(ids, (std::vector<int>{0, 1, 2}));
  // The middle stream leaves: its queued frames are still batched, then it is skipped and no
  // frame of it is accepted again.
  batcher.close_stream(second);
  EXPECT_FALSE(batcher.push(make_frame(second, 9)));
  int from_second = 0, total = 0;
  while (total < 9) {
    auto next = batcher.next_batch();
    ASSERT_TRUE(next.has_value());
    for (const auto& f : *next) {
      from_second += f->stream_id == second ? 1 : 0;
      ++total;
    }
  }
  EXPECT_EQ(from_second, 3);
  EXPECT_EQ(batcher.depth(second), 0u);
  // A stream added after others retired gets the next id, not a reused one.
  EXPECT_EQ(batcher.add_stream(OverflowPolicy::kBlock), 3);
}

TEST(BatcherTest, AServiceBatcherWaitsForNewStreamsWhenEveryStreamEnded) {
  BatcherOptions o = options(2, std::chrono::milliseconds(1), 8);
  o.wait_for_new_streams = true;
  Batcher batcher(o, {OverflowPolicy::kBlock});
  ASSERT_TRUE(batcher.push(make_frame(0, 0)));
  batcher.close_stream(0);
  auto last = batcher.next_batch();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->size(), 1u);
  std::atomic<bool> returned{false};
  std::optional<std::vector<FramePtr>> got;
  std::thread consumer([&] {
    got = batcher.next_batch();
    returned = true;
  });
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_FALSE(returned.load()) << "a service's batcher ended when its only stream ended";
  const int added = batcher.add_stream(OverflowPolicy::kBlock);
  ASSERT_TRUE(batcher.push(make_frame(added, 0)));
  ASSERT_TRUE(eventually([&] { return returned.load(); }));
  consumer.join();
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0]->stream_id, added);
  // shutdown() still ends it.
  std::thread waiter([&] { got = batcher.next_batch(); });
  std::this_thread::sleep_for(milliseconds(20));
  batcher.shutdown();
  waiter.join();
  EXPECT_FALSE(got.has_value());
}

}  // namespace
}  // namespace streaminfer
