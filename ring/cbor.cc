#include "ring/cbor.h"

namespace wipam::ring {

std::optional<nlohmann::json> parse_cbor(std::span<const std::uint8_t> bytes) {
  try {
    nlohmann::json j = nlohmann::json::from_cbor(bytes.begin(), bytes.end(), /*strict=*/true,
                                                 /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      return std::nullopt;
    }
    return j;
  } catch (const std::exception&) {  // the fence: see the header
    return std::nullopt;
  }
}

}  // namespace wipam::ring
