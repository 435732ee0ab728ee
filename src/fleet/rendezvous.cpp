#include "fleet/rendezvous.h"

#include <cmath>
#include <cstdint>
#include <limits>

namespace streaminfer {

namespace {

// 64-bit FNV-1a of both names with a separator, then a SplitMix64 finalizer: FNV alone mixes
// the last bytes poorly, and camera names often differ only there (cam-1, cam-2, ...).
uint64_t pair_hash(const std::string& camera, const std::string& worker) {
  uint64_t h = 14695981039346656037ull;
  const auto mix = [&h](const std::string& text) {
    for (const unsigned char c : text) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(camera);
  h ^= 0xff;
  h *= 1099511628211ull;
  mix(worker);
  h += 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

double score(const std::string& camera, const FleetWorker& worker) {
  // u in (0, 1): the top 53 bits, offset by half a step so that neither end is reached.
  const double u =
      (static_cast<double>(pair_hash(camera, worker.id) >> 11) + 0.5) / 9007199254740992.0;
  return -worker.weight / std::log(u);
}

}  // namespace

std::string rendezvous_owner(const std::string& camera, const std::vector<FleetWorker>& workers) {
  std::string best;
  double best_score = -std::numeric_limits<double>::infinity();
  for (const auto& worker : workers) {
    if (!(worker.weight > 0)) continue;
    const double s = score(camera, worker);
    // Ties (equal scores) go to the smaller id, so every worker decides the same.
    if (s > best_score || (s == best_score && worker.id < best)) {
      best_score = s;
      best = worker.id;
    }
  }
  return best;
}

std::map<std::string, std::vector<std::string>> rendezvous_assign(
    const std::vector<std::string>& cameras, const std::vector<FleetWorker>& workers) {
  std::map<std::string, std::vector<std::string>> owners;
  for (const auto& worker : workers) owners[worker.id];
  for (const auto& camera : cameras) {
    const std::string owner = rendezvous_owner(camera, workers);
    if (!owner.empty()) owners[owner].push_back(camera);
  }
  return owners;
}

}  // namespace streaminfer
