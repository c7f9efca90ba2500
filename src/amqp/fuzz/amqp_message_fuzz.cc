// libFuzzer target: AMQP messages are network input (the broker, or anything in between).
// Arbitrary bytes are decoded as an AMQP 1.0 message by Qpid Proton (which may refuse them),
// then read by hadr's own decoders of a bus message and of a source message — properties,
// application properties, ids, epochs, LSNs and bodies — which must give a value or an error
// naming what is wrong, never a crash, a hang or undefined behaviour.
// Build: scripts/build fuzz fuzz_targets; run: scripts/fuzz SECONDS.
#include <cstddef>
#include <cstdint>
#include <vector>

#include <proton/error.hpp>
#include <proton/message.hpp>

#include "amqp/amqp_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  proton::message message;
  try {
    message.decode(std::vector<char>(data, data + size));
  } catch (const proton::error&) {
    return 0;  // Proton refused the bytes: nothing reaches hadr's decoders
  }
  try {
    (void)hadr::amqp::decode_bus_message(message, "fuzz");
    (void)hadr::amqp::decode_source_message(message, "fuzz");
  } catch (const proton::error&) {
    // Proton's typed accessors throw on a type mismatch; hadr's decoders must catch that
    // themselves, so reaching here is a finding.
    __builtin_trap();
  }
  return 0;
}
