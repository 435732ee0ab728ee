#include "infer/onednn_plan_cache.h"

#include <fmt/format.h>

#include <iterator>
#include <stdexcept>

namespace streaminfer::onednn {

PlanCache::PlanCache(OneDnnLayout layout, Builder build, Winograd winograd)
    : layout_(layout),
      build_(std::move(build)),
      engine_(dnnl::engine::kind::cpu, 0),
      stream_(engine_),
      algorithms_(winograd) {}

Plan& PlanCache::plan_for(int64_t batch, int64_t height, int64_t width) {
  const auto key = std::make_tuple(batch, height, width);
  if (const auto found = plans_.find(key); found != plans_.end()) return *found->second;
  // Built aside and kept only once whole: a build that throws leaves no half plan behind.
  auto plan = std::make_unique<Plan>(engine_, stream_, layout_, weights_, algorithms_);
  build_(*plan, batch, height, width);
  plan->finish();
  if (plan->padded()) {
    throw std::runtime_error(
        "a channel count that is not a multiple of the layout's block (padding no primitive "
        "writes would be read)");
  }
  return *plans_.emplace(key, std::move(plan)).first->second;
}

std::vector<torch::Tensor> PlanCache::run(const torch::Tensor& input) {
  std::lock_guard<std::mutex> lock(mutex_);
  Plan& plan = plan_for(input.size(0), input.size(2), input.size(3));
  last_ = &plan;
  if (!arena_.defined() || arena_.numel() < static_cast<int64_t>(plan.arena_bytes())) {
    arena_ = torch::empty({static_cast<int64_t>(plan.arena_bytes())}, torch::kUInt8);
  }
  return plan.run(input, arena_.data_ptr());
}

void PlanCache::keep_batches(int64_t max_batch, int64_t height, int64_t width) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = plans_.begin(); it != plans_.end();) {
    it = std::get<0>(it->first) > max_batch ? plans_.erase(it) : std::next(it);
  }
  for (int64_t batch = 1; batch <= max_batch; ++batch) last_ = &plan_for(batch, height, width);
  // The arena of the largest plan kept (the one built for a larger batch is given back).
  arena_ = torch::Tensor();
}

std::string PlanCache::describe() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (last_ == nullptr) return "no plan yet";
  return fmt::format("{}, weights {:.1f} MB", last_->describe(), weights_.bytes() / 1e6);
}

}  // namespace streaminfer::onednn
