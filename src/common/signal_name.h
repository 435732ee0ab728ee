#pragma once
// "SIGINT", "SIGILL", ...: a signal's name as people write it; "signal N" when it has none.
#include <string>

namespace streaminfer {

std::string signal_name(int signal_number);

}  // namespace streaminfer
