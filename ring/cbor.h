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

namespace wipam::ring {

// The CBOR value in `bytes`, or nullopt if they are not exactly one well-formed value.
std::optional<nlohmann::json> parse_cbor(std::span<const std::uint8_t> bytes);

}  // namespace wipam::ring
