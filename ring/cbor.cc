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

namespace wipam::ring {

using nlohmann::json;

json encode_address(const Address& a) {
  std::vector<std::uint8_t> bytes(17);
  bytes[0] = static_cast<std::uint8_t>(a.family());
  Uint128 v = a.value();
  for (int i = 16; i >= 1; --i) {
    bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v & 0xff);
    v >>= 8;
  }
  return json::binary(std::move(bytes));
}

Result<Address> decode_address(const json& j) {
  if (!j.is_binary() || j.get_binary().size() != 17) {
    return Status::corruption("address is not 17 bytes");
  }
  const auto& bytes = j.get_binary();
  Uint128 v = 0;
  for (std::size_t i = 1; i <= 16; ++i) {
    v = (v << 8) | bytes[i];
  }
  if (bytes[0] == 4 && v <= (Uint128{1} << 32)) {
    return Address::of(Family::kV4, v);
  }
  if (bytes[0] == 6) {
    return Address::v6(v);
  }
  return Status::corruption("address has a bad family or value");
}

json encode_range(const Range& r) {
  return json::array({encode_address(r.start()), encode_address(r.end())});
}

Result<Range> decode_range(const json& j) {
  if (!j.is_array() || j.size() != 2) {
    return Status::corruption("range is not a pair of addresses");
  }
  Result<Address> start = decode_address(j[0]);
  Result<Address> end = decode_address(j[1]);
  if (!start.ok() || !end.ok()) {
    return Status::corruption("range has a bad address");
  }
  Result<Range> r = Range::make(*start, *end);
  if (!r.ok()) {
    return Status::corruption(r.status().message());
  }
  return r;
}

json encode_count(Uint128 n) {
  if (n <= ~std::uint64_t{0}) {
    return static_cast<std::uint64_t>(n);
  }
  std::vector<std::uint8_t> bytes(16);
  for (int i = 15; i >= 0; --i) {
    bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n & 0xff);
    n >>= 8;
  }
  return json::binary(std::move(bytes));
}

Result<Uint128> decode_count(const json& j) {
  if (j.is_number_unsigned()) {
    return Uint128{j.get<std::uint64_t>()};
  }
  if (j.is_binary() && j.get_binary().size() == 16) {
    Uint128 n = 0;
    for (std::uint8_t b : j.get_binary()) {
      n = (n << 8) | b;
    }
    return n;
  }
  return Status::corruption("count is not an unsigned number");
}

}  // namespace wipam::ring
