// The one place ring/ turns untrusted bytes into a JSON value.
//
// nlohmann-json's CBOR reader recurses once per nesting level with no limit (1 MB of 0x81,
// nested one-element arrays, overflows the stack), builds every item it reads, and throws
// for some hostile lengths. So parse_cbor() first walks the item heads iteratively and
// refuses input deeper, longer or larger than the format's CborLimits, indefinite-length
// items, tags and truncation; only then does nlohmann parse it, inside a try. Decoders above
// it get a Status, never an exception or a crash. Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include <nlohmann/json.hpp>

#include "ring/address.h"
#include "ring/status.h"

namespace wipam::ring {

// Our formats are arrays a few levels deep (ring/MESSAGES.md); 8 leaves room to grow.
inline constexpr std::size_t kMaxCborDepth = 8;

// What one format may hold. Each caller derives these from its own format's limits.
struct CborLimits {
  std::size_t max_bytes = 0;
  std::size_t max_depth = kMaxCborDepth;  // arrays and maps open at once
  std::uint64_t max_length = 0;           // elements of one array, or pairs of one map
  std::uint64_t max_items = 0;            // data items in all, containers included
};

// OK iff `bytes` are exactly one definite-length, untagged CBOR item within `limits`;
// kCorruption saying why not. Iterative: O(bytes) time, O(depth) memory.
Status check_cbor(std::span<const std::uint8_t> bytes, const CborLimits& limits);

// The CBOR value in `bytes` once check_cbor() passes it; kCorruption otherwise.
Result<nlohmann::json> parse_cbor(std::span<const std::uint8_t> bytes, const CborLimits& limits);

// An address as a 17-byte string: family (4 or 6), then the value big-endian.
nlohmann::json encode_address(const Address& a);
Result<Address> decode_address(const nlohmann::json& j);
// A range as [start, end].
nlohmann::json encode_range(const Range& r);
Result<Range> decode_range(const nlohmann::json& j);
// A count: an unsigned integer when it fits 64 bits, else a 16-byte string.
nlohmann::json encode_count(Uint128 n);
Result<Uint128> decode_count(const nlohmann::json& j);

}  // namespace wipam::ring
