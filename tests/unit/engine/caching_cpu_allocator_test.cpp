#include "infer/caching_cpu_allocator.h"

#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <torch/types.h>

#include <thread>
#include <vector>

#include "infer/yolov8.h"

namespace streaminfer {
namespace {

constexpr size_t kMiB = 1 << 20;

TEST(CachingCpuAllocator, AFreedBlockIsReusedForTheSameSize) {
  CachingCpuAllocator cache(64 * kMiB);
  void* first = nullptr;
  {
    c10::DataPtr block = cache.allocate(3 * kMiB);
    first = block.get();
    ASSERT_NE(first, nullptr);
    static_cast<char*>(first)[3 * kMiB - 1] = 1;  // the whole size is usable
  }
  c10::DataPtr again = cache.allocate(3 * kMiB);
  EXPECT_EQ(again.get(), first);
  const TensorCacheStats stats = cache.stats();
  EXPECT_EQ(stats.hits, 1);
  EXPECT_EQ(stats.misses, 1);
  EXPECT_EQ(stats.idle_bytes, 0);
  EXPECT_EQ(stats.in_use_bytes, static_cast<int64_t>(3 * kMiB));
}

TEST(CachingCpuAllocator, ABlockTooLargeForTheRequestIsNotTaken) {
  CachingCpuAllocator cache(64 * kMiB);
  { c10::DataPtr big = cache.allocate(8 * kMiB); }
  c10::DataPtr small = cache.allocate(2 * kMiB);  // 8 MiB would waste over a quarter
  EXPECT_EQ(cache.stats().hits, 0);
  EXPECT_EQ(cache.stats().idle_bytes, static_cast<int64_t>(8 * kMiB));
  c10::DataPtr close = cache.allocate(7 * kMiB);  // within a quarter: reused
  EXPECT_EQ(cache.stats().hits, 1);
  EXPECT_EQ(cache.stats().idle_bytes, 0);
}

TEST(CachingCpuAllocator, IdleMemoryNeverExceedsTheLimit) {
  CachingCpuAllocator cache(5 * kMiB);
  {
    std::vector<c10::DataPtr> blocks;
    for (int i = 0; i < 4; ++i) blocks.push_back(cache.allocate(2 * kMiB));
    EXPECT_EQ(cache.stats().peak_bytes, static_cast<int64_t>(8 * kMiB));
  }
  const TensorCacheStats stats = cache.stats();
  EXPECT_EQ(stats.idle_bytes, static_cast<int64_t>(4 * kMiB));  // two of the four fit in 5 MiB
  EXPECT_EQ(stats.released, 2);
  EXPECT_EQ(stats.in_use_bytes, 0);

  cache.set_max_idle_bytes(0);  // caching off: idle blocks go back, freed ones too
  EXPECT_EQ(cache.stats().idle_bytes, 0);
  { c10::DataPtr block = cache.allocate(2 * kMiB); }
  EXPECT_EQ(cache.stats().idle_bytes, 0);
  EXPECT_EQ(cache.stats().released, 5);
}

TEST(CachingCpuAllocator, SmallBlocksStayWithLibTorchsAllocator) {
  CachingCpuAllocator cache(64 * kMiB);
  { c10::DataPtr small = cache.allocate(CachingCpuAllocator::kMinCachedBytes - 1); }
  const TensorCacheStats stats = cache.stats();
  EXPECT_EQ(stats.hits + stats.misses, 0);
  EXPECT_EQ(stats.idle_bytes, 0);
}

TEST(CachingCpuAllocator, ThreadsAllocatingAndFreeingKeepTheBooksBalanced) {
  // Tensors are freed on other threads than the one that allocated them (a frame's input is
  // built by the preprocess thread and released after the forward): under ThreadSanitizer this
  // test is the check of the allocator's locking.
  CachingCpuAllocator cache(256 * kMiB);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 200; ++i) {
        c10::DataPtr block = cache.allocate((1 + (i + t) % 3) * kMiB);
        static_cast<char*>(block.get())[0] = static_cast<char>(i);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const TensorCacheStats stats = cache.stats();
  EXPECT_EQ(stats.hits + stats.misses, 800);
  EXPECT_EQ(stats.in_use_bytes, 0);
  EXPECT_LE(stats.misses, 12) << "at most 4 threads x 3 sizes ever miss";
}

TEST(CachingCpuAllocator, InstalledItServesTensorsAndAReusedBlockChangesNoOutput) {
  CachingCpuAllocator& cache = install_caching_cpu_allocator(512 * kMiB);
  at::manual_seed(0);
  YoloV8 model('n', 80);
  model->eval();
  c10::InferenceMode inference_mode;
  const at::Tensor a = torch::rand({2, 3, 160, 160});
  const at::Tensor b = torch::rand({2, 3, 160, 160});
  const at::Tensor first = model->forward(a).clone();
  model->forward(b);  // leaves b's activations in the blocks a's forward will reuse
  const int64_t misses_before = cache.stats().misses;
  const at::Tensor again = model->forward(a);
  EXPECT_TRUE(torch::equal(first, again)) << "a forward must not read memory it did not write";
  const TensorCacheStats stats = cache.stats();
  EXPECT_GT(stats.hits, 0);
  EXPECT_EQ(stats.misses, misses_before) << "a steady forward allocates nothing new";
  EXPECT_EQ(installed_tensor_cache_stats().hits, stats.hits);
  EXPECT_NE(format_tensor_cache(stats).find("large allocations reused"), std::string::npos);
}

}  // namespace
}  // namespace streaminfer
