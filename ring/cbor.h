// The one place ring/ turns untrusted bytes into a JSON value.
//
// nlohmann-json's CBOR reader reports most malformed input as a discarded value, but still
// throws for some (an array length beyond max_size, for instance). This fence turns every
// such failure into nullopt, so decoders above it never see an exception. Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include <nlohmann/json.hpp>

#include "ring/address.h"
#include "ring/status.h"

namespace wipam::ring {

// The CBOR value in `bytes`, or nullopt if they are not exactly one well-formed value.
std::optional<nlohmann::json> parse_cbor(std::span<const std::uint8_t> bytes);

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
