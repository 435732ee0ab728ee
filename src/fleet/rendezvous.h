#pragma once
// Weighted rendezvous (highest random weight) hashing: which live worker runs each camera. Every
// worker computes the same answer from the same membership, with no coordination; a worker that
// joins takes only the cameras it now wins, and one that leaves gives up only its own (each
// moves to the worker that scored second for it), so a change of membership moves about
// 1/N of the cameras, never reshuffles the rest. Weights (a worker's measured capacity) make
// the shares proportional: score = -weight / ln(u), u uniform in (0, 1) from a hash of
// (camera, worker) (Schindelhauer and Schomaker's weighted form).
#include <map>
#include <string>
#include <vector>

namespace streaminfer {

struct FleetWorker {
  std::string id;
  double weight = 1;  // capacity (frames per second it measured); <= 0 counts as none
};

// The worker that runs `camera`; empty when no worker has a positive weight.
std::string rendezvous_owner(const std::string& camera, const std::vector<FleetWorker>& workers);

// Every camera's owner, by worker id (workers without a camera are listed with none).
std::map<std::string, std::vector<std::string>> rendezvous_assign(
    const std::vector<std::string>& cameras, const std::vector<FleetWorker>& workers);

}  // namespace streaminfer
