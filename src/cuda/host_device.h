#pragma once
// SI_HD marks a function that runs both in a kernel and on the CPU: nvcc compiles it for both,
// a plain C++ compiler sees an ordinary inline function. The per-element work of every kernel is
// written this way, so the tests compare it with the CPU path on a machine without a GPU.
#if defined(__CUDACC__)
#define SI_HD __host__ __device__ __forceinline__
#else
#define SI_HD inline
#endif
