#include <string>

#include "contracts/bus.h"

namespace hadr {

std::string dead_letter_queue(std::string_view queue) { return std::string(queue) + "/$deadletterqueue"; }

}  // namespace hadr
