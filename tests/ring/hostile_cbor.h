// Hostile CBOR shared by the decoder tests (issue #12): input that is too deep, too long,
// lies about its lengths, uses indefinite lengths or tags, or stops short. Every ring/
// decoder must refuse each of these with kCorruption, quickly and without a crash.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wipam::ring {

struct HostileCbor {
  std::string name;
  std::vector<std::uint8_t> bytes;
};

// Each case as it is, and inside a [1, ...] or [2, ...] pair so that it also gets past the
// decoders' first shape check.
std::vector<HostileCbor> hostile_cbor();

}  // namespace wipam::ring
