#include "common/console.h"

#include <atomic>

namespace streaminfer {

namespace {
std::atomic<bool> g_stdout_carries_data{false};
}  // namespace

void set_stdout_carries_data(bool carries_data) { g_stdout_carries_data.store(carries_data); }

FILE* info_out() { return g_stdout_carries_data.load() ? stderr : stdout; }

}  // namespace streaminfer
