#pragma once
// Where a command's words for people go (start-up block, summary, "wrote FILE" lines): stdout,
// unless stdout carries data (`run --output -`), then stderr, so that a program reading the data
// gets nothing else.
#include <cstdio>

namespace streaminfer {

// Set once, before the first line for people is written.
void set_stdout_carries_data(bool carries_data);
FILE* info_out();

}  // namespace streaminfer
