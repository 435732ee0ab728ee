#pragma once
// Keeps the memory of large CPU tensors for reuse instead of returning it to the system.
//
// Why: a forward allocates and frees the same activation sizes every time, and glibc gives large
// freed blocks back to the kernel (munmap above its mmap threshold, trimming the top of a heap),
// so every forward of a large batch faulted its activations in again: yolov8n at 640, batch 8,
// took about 170k page faults per forward on the 2-core VM, where a fault is expensive, and ran
// 3.8x slower than with this cache. Served from the cache, a steady forward allocates nothing
// from the system. Small blocks (below kMinCachedBytes) are freed at once, as LibTorch's
// allocator does; glibc serves those from its free lists.
#include <c10/core/Allocator.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace streaminfer {

struct TensorCacheStats {
  int64_t hits = 0;          // large allocations served from the cache
  int64_t misses = 0;        // large allocations that went to the system
  int64_t released = 0;      // freed blocks returned to the system (cache full or disabled)
  int64_t idle_bytes = 0;    // held by the cache, free for reuse, now
  int64_t in_use_bytes = 0;  // large blocks held by live tensors, now
  int64_t peak_bytes = 0;    // highest idle + in use
};

class CachingCpuAllocator final : public c10::Allocator {
 public:
  static constexpr size_t kMinCachedBytes = 256 * 1024;

  // max_idle_bytes: the most the cache keeps while nothing uses it; 0 caches nothing.
  explicit CachingCpuAllocator(size_t max_idle_bytes);
  ~CachingCpuAllocator() override;
  CachingCpuAllocator(const CachingCpuAllocator&) = delete;
  CachingCpuAllocator& operator=(const CachingCpuAllocator&) = delete;

  c10::DataPtr allocate(size_t bytes) const override;
  // LibTorch frees raw_allocate()d memory through this, with only the data pointer.
  c10::DeleterFnPtr raw_deleter() const override { return &free_block; }

  // A smaller limit releases idle blocks at once; 0 turns caching off.
  void set_max_idle_bytes(size_t max_idle_bytes);
  // Returns every idle block to the system.
  void release_idle();
  TensorCacheStats stats() const;
  size_t max_idle_bytes() const;

 private:
  // Stored in front of the data of every block, so that a deleter given only the data pointer
  // (as raw_deallocate gives it) finds its size and owner.
  struct Block;
  static void free_block(void* data);
  static void free_to_system(Block* block);
  void give_back(Block* block);
  void release_locked(size_t keep_bytes);

  mutable std::mutex mutex_;
  size_t max_idle_bytes_;
  // Idle blocks by size; a request takes the smallest block that fits without wasting over 1/4.
  mutable std::multimap<size_t, Block*> idle_;
  mutable TensorCacheStats stats_;
};

// The process-wide allocator of CPU tensors: installed in LibTorch at the first call, then only
// its limit changes (LibTorch cannot go back to its own allocator; a limit of 0 acts like it).
CachingCpuAllocator& install_caching_cpu_allocator(size_t max_idle_bytes);
// Statistics of the installed allocator, or all zero when none was installed.
TensorCacheStats installed_tensor_cache_stats();
// The installed allocator's limit of idle bytes; 0 when none is installed or caching is off.
size_t installed_tensor_cache_limit();
// "tensor memory: 1234 of 1250 large allocations reused, peak 310 MB\n"; empty with no allocation.
std::string format_tensor_cache(const TensorCacheStats& stats);

}  // namespace streaminfer
