#pragma once
// How LibTorch's OpenMP threads (GNU libgomp in Debian's build) wait between parallel regions.
// libgomp's default spins about 300,000 rounds before it sleeps: alone, that saves a wake-up per
// region; beside any other busy process it burns the core that process (or our own decode and
// preprocessing threads) needs, and the next region's barrier waits for a thread that is not
// running. Measured on 2 cores: the default int8 job fell from 120 to 11.9 FPS beside one busy
// loop (Intel Xeon), to 59.9 (AMD EPYC). libgomp reads its environment once, when it
// initializes, so the choice is made in main.cpp's pre-init hook, before any library starts.
#include <string>

namespace streaminfer {

// streaminfer's choice: idle OpenMP threads spin a short while, then sleep (GOMP_SPINCOUNT=1000:
// 1000 pause instructions, microseconds). That bridges the gaps between the kernels of one
// forward, where sleeping at once costs a futex wake-up per kernel, and still sleeps through the
// gaps between batches. Measured on 2 cores (AMD EPYC, a noisy host): ResNet-50 at batch 1 on
// the oneDNN plans 23.7 ms a forward, as ONNX Runtime's spinning pool (23.7), where sleeping at
// once gave 27-44 ms (bench/results/peers/); `bench contention --rounds 3`, the default job:
// 120 FPS alone, 119.7 beside one busy process (sleeping at once 119.6, libgomp's default spin
// 62.2), 80.7 beside two (72.9; 15.5) (bench/results/contention/short_spin_default_job.txt).
// OMP_WAIT_POLICY=passive (no spin) or active (spin on) take it back.
inline constexpr const char* kOpenMpSpinCount = "1000";

// Called from the pre-init hook with the process's argv and environment. Unless the user set
// OMP_WAIT_POLICY or GOMP_SPINCOUNT, re-executes this program (/proc/self/exe, same arguments)
// with GOMP_SPINCOUNT=kOpenMpSpinCount and a marker added. Why not setenv: at pre-init time
// libc has not yet set up its environment, and whatever setenv writes is replaced before
// libgomp reads it (measured: libgomp then spun 300,000 rounds). The libraries are mapped but
// none has initialized yet: the second start cost 0.35 s (`streaminfer --version`: 1.13 s
// against 0.78 s, AMD EPYC). Returns when nothing needs doing
// or the exec failed (then libgomp keeps its default, and the system block says so).
// Uses no allocation and no libc state beyond execve.
void choose_openmp_waiting(char** argv, char** envp);

// In a process that choose_openmp_waiting() started again (its marker is in envp): unblocks the
// stop signals it blocked across the exec; called from the pre-init hook once the handlers are
// installed (a signal that came meanwhile is then handled, not lost). envp, not getenv: libc
// has not set up its environment that early.
void unblock_stop_signals_after_restart(char** envp);

// Whether this process runs with the variable that choose_openmp_waiting() added (its marker
// is in the environment).
bool openmp_waiting_chosen_by_streaminfer();

// One line for the system block: what waits how, and who chose it.
std::string openmp_waiting_description();

}  // namespace streaminfer
