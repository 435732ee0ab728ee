#pragma once
// `--shard i/N`: this process takes sources i, i+N, i+2N, ... of the list, so one camera list
// (one YAML file) spreads over N machines or pods, each started with its own i (a Kubernetes
// StatefulSet's ordinal, for example).
#include <string>
#include <vector>

#include "streaminfer/status.h"

namespace streaminfer {

struct Shard {
  int index = 0;
  int count = 1;
};

// Parses "i/N" (0 <= i < N); the message names the flag and the expected form.
Result<Shard> parse_shard(const std::string& text);

// The sources of `shard`; an error when none falls in it (fewer sources than shards).
Result<std::vector<std::string>> sources_of_shard(const std::vector<std::string>& sources,
                                                  const Shard& shard);

}  // namespace streaminfer
