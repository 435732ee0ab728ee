#include "common/signal_name.h"

#include <string.h>  // sigabbrev_np (glibc 2.32)

namespace streaminfer {

std::string signal_name(int signal_number) {
  if (const char* abbreviation = sigabbrev_np(signal_number); abbreviation != nullptr) {
    return std::string("SIG") + abbreviation;
  }
  return "signal " + std::to_string(signal_number);
}

}  // namespace streaminfer
