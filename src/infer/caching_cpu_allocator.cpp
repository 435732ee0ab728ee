#include "infer/caching_cpu_allocator.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/alignment.h>
#include <c10/core/impl/alloc_cpu.h>

#include <algorithm>
#include <new>

#include <fmt/format.h>

namespace streaminfer {

struct CachingCpuAllocator::Block {
  size_t bytes = 0;                      // usable bytes after the header
  CachingCpuAllocator* owner = nullptr;  // null: not cached (small), freed at once
  void* data() { return reinterpret_cast<char*>(this) + kHeaderBytes; }
  static constexpr size_t kHeaderBytes = c10::gAlignment;
};

namespace {

constexpr size_t kPageBytes = 4096;
static_assert(sizeof(void*) * 2 <= c10::gAlignment, "the header fits in one alignment unit");

size_t round_to_pages(size_t bytes) { return (bytes + kPageBytes - 1) / kPageBytes * kPageBytes; }

}  // namespace

CachingCpuAllocator::CachingCpuAllocator(size_t max_idle_bytes) : max_idle_bytes_(max_idle_bytes) {}

CachingCpuAllocator::~CachingCpuAllocator() { release_idle(); }

c10::DataPtr CachingCpuAllocator::allocate(size_t bytes) const {
  const c10::Device cpu(c10::kCPU);
  if (bytes == 0) return c10::DataPtr(nullptr, nullptr, &free_block, cpu);
  const bool cached = bytes >= kMinCachedBytes;
  const size_t wanted = cached ? round_to_pages(bytes) : bytes;
  Block* block = nullptr;
  if (cached) {
    std::lock_guard lock(mutex_);
    auto it = idle_.lower_bound(wanted);
    if (it != idle_.end() && it->first <= wanted + wanted / 4) {
      block = it->second;
      idle_.erase(it);
      stats_.idle_bytes -= static_cast<int64_t>(block->bytes);
      stats_.in_use_bytes += static_cast<int64_t>(block->bytes);
      ++stats_.hits;
    } else {
      ++stats_.misses;
    }
  }
  if (!block) {
    // Outside the lock: the system call and the page faults of a new block are the slow part.
    void* memory = c10::alloc_cpu(Block::kHeaderBytes + wanted);
    block = new (memory) Block{wanted, cached ? const_cast<CachingCpuAllocator*>(this) : nullptr};
    if (cached) {
      std::lock_guard lock(mutex_);
      stats_.in_use_bytes += static_cast<int64_t>(wanted);
      stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.in_use_bytes + stats_.idle_bytes);
    }
  }
  return c10::DataPtr(block->data(), block->data(), &free_block, cpu);
}

void CachingCpuAllocator::free_block(void* data) {
  if (!data) return;
  auto* block = reinterpret_cast<Block*>(static_cast<char*>(data) - Block::kHeaderBytes);
  if (block->owner) {
    block->owner->give_back(block);
  } else {
    free_to_system(block);
  }
}

void CachingCpuAllocator::free_to_system(Block* block) {
  block->~Block();
  c10::free_cpu(block);
}

void CachingCpuAllocator::give_back(Block* block) {
  {
    std::lock_guard lock(mutex_);
    stats_.in_use_bytes -= static_cast<int64_t>(block->bytes);
    if (static_cast<size_t>(stats_.idle_bytes) + block->bytes <= max_idle_bytes_) {
      idle_.emplace(block->bytes, block);
      stats_.idle_bytes += static_cast<int64_t>(block->bytes);
      return;
    }
    ++stats_.released;
  }
  free_to_system(block);
}

void CachingCpuAllocator::set_max_idle_bytes(size_t max_idle_bytes) {
  std::lock_guard lock(mutex_);
  max_idle_bytes_ = max_idle_bytes;
  release_locked(max_idle_bytes);
}

void CachingCpuAllocator::release_idle() {
  std::lock_guard lock(mutex_);
  release_locked(0);
}

void CachingCpuAllocator::release_locked(size_t keep_bytes) {
  // Largest first: they cost the most to keep and the least (per byte) to fault in again.
  while (!idle_.empty() && static_cast<size_t>(stats_.idle_bytes) > keep_bytes) {
    auto last = std::prev(idle_.end());
    Block* block = last->second;
    idle_.erase(last);
    stats_.idle_bytes -= static_cast<int64_t>(block->bytes);
    ++stats_.released;
    free_to_system(block);
  }
}

size_t CachingCpuAllocator::max_idle_bytes() const {
  std::lock_guard lock(mutex_);
  return max_idle_bytes_;
}

TensorCacheStats CachingCpuAllocator::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

namespace {

std::mutex g_install_mutex;
CachingCpuAllocator* g_installed = nullptr;

}  // namespace

CachingCpuAllocator& install_caching_cpu_allocator(size_t max_idle_bytes) {
  std::lock_guard lock(g_install_mutex);
  if (!g_installed) {
    // Never destroyed: tensors may outlive every other object, up to static destructors.
    g_installed = new CachingCpuAllocator(max_idle_bytes);
    c10::SetCPUAllocator(g_installed, /*priority=*/1);
  } else {
    g_installed->set_max_idle_bytes(max_idle_bytes);
  }
  return *g_installed;
}

std::string format_tensor_cache(const TensorCacheStats& stats) {
  const int64_t total = stats.hits + stats.misses;
  if (total == 0) return "";
  return fmt::format("tensor memory: {} of {} large allocations reused, peak {:.0f} MB\n",
                     stats.hits, total, static_cast<double>(stats.peak_bytes) / (1 << 20));
}

TensorCacheStats installed_tensor_cache_stats() {
  std::lock_guard lock(g_install_mutex);
  return g_installed ? g_installed->stats() : TensorCacheStats{};
}

size_t installed_tensor_cache_limit() {
  std::lock_guard lock(g_install_mutex);
  return g_installed ? g_installed->max_idle_bytes() : 0;
}

}  // namespace streaminfer
