#include "ring/cbor.h"

#include <string>
#include <vector>

namespace wipam::ring {
namespace {

Status refused(const std::string& why) { return Status::corruption("CBOR input " + why); }

// The head of one data item: major type, additional information, argument.
struct Head {
  std::uint8_t major = 0;
  std::uint8_t info = 0;
  std::uint64_t arg = 0;
};

// Reads the head at `pos` (< bytes.size()) and moves past it.
Result<Head> read_head(std::span<const std::uint8_t> bytes, std::size_t& pos) {
  std::uint8_t initial = bytes[pos++];
  Head h{static_cast<std::uint8_t>(initial >> 5), static_cast<std::uint8_t>(initial & 0x1f), 0};
  if (h.info < 24) {
    h.arg = h.info;
    return h;
  }
  if (h.info == 31) {  // our encoders never write these; nlohmann recurses on them freely
    return refused("has an indefinite-length item or a stray break");
  }
  if (h.info > 27) {
    return refused("uses reserved additional information " + std::to_string(h.info));
  }
  std::size_t n = std::size_t{1} << (h.info - 24);  // 1, 2, 4 or 8 argument bytes
  if (bytes.size() - pos < n) {
    return refused("is truncated");
  }
  for (std::size_t i = 0; i < n; ++i) {
    h.arg = (h.arg << 8) | bytes[pos++];
  }
  return h;
}

// Checks one item whose head was just read; skips a string's content. `children` is how
// many items an array or map holds (0 for anything else).
Status check_item(const Head& h, std::span<const std::uint8_t> bytes, std::size_t& pos,
                  const CborLimits& limits, std::uint64_t& children) {
  std::uint64_t left = bytes.size() - pos;
  children = 0;
  switch (h.major) {
    case 0:
    case 1:
      return Status();
    case 2:
    case 3:
      if (h.arg > left) {  // a huge declared length: refused before anything is allocated
        return refused("is truncated: it declares a string of " + std::to_string(h.arg) +
                       " bytes with only " + std::to_string(left) + " left");
      }
      pos += static_cast<std::size_t>(h.arg);
      return Status();
    case 4:
    case 5: {
      const char* what = h.major == 5 ? " pairs" : " items";
      if (h.arg > limits.max_length) {
        return refused("declares " + std::to_string(h.arg) + what + ", more than the limit of " +
                       std::to_string(limits.max_length));
      }
      // Each element takes at least one byte, so a length beyond what is left is a lie.
      if (h.arg > (h.major == 5 ? left / 2 : left)) {
        return refused("is truncated: it declares " + std::to_string(h.arg) + what + " with only " +
                       std::to_string(left) + " bytes left");
      }
      children = h.major == 5 ? 2 * h.arg : h.arg;
      return Status();
    }
    case 6:
      return refused("has a tag");
    default:  // 7: false, true, null and floats are all nlohmann reads
      if ((h.info >= 20 && h.info <= 22) || (h.info >= 25 && h.info <= 27)) {
        return Status();
      }
      return refused("has an unsupported simple value");
  }
}

}  // namespace

Status check_cbor(std::span<const std::uint8_t> bytes, const CborLimits& limits) {
  if (bytes.size() > limits.max_bytes) {
    return refused("of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
                   std::to_string(limits.max_bytes));
  }
  std::vector<std::uint64_t> open;  // per open array or map: the items it still expects
  std::uint64_t items = 0;
  std::size_t pos = 0;
  do {
    if (pos == bytes.size()) {
      return refused(pos == 0 ? "is empty" : "is truncated");
    }
    if (++items > limits.max_items) {
      return refused("has more than " + std::to_string(limits.max_items) + " items");
    }
    Result<Head> head = read_head(bytes, pos);
    std::uint64_t children = 0;
    WIPAM_RETURN_IF_ERROR(head.ok() ? check_item(*head, bytes, pos, limits, children)
                                    : head.status());
    bool container = head->major == 4 || head->major == 5;
    if (container && open.size() >= limits.max_depth) {
      return refused("nests deeper than " + std::to_string(limits.max_depth) + " levels");
    }
    if (children > 0) {
      open.push_back(children);
      continue;
    }
    while (!open.empty() && --open.back() == 0) {  // this item completes its parents
      open.pop_back();
    }
  } while (!open.empty());
  if (pos != bytes.size()) {
    return refused("has " + std::to_string(bytes.size() - pos) + " bytes after its item");
  }
  return Status();
}

Result<nlohmann::json> parse_cbor(std::span<const std::uint8_t> bytes, const CborLimits& limits) {
  WIPAM_RETURN_IF_ERROR(check_cbor(bytes, limits));
  try {
    nlohmann::json j = nlohmann::json::from_cbor(bytes.begin(), bytes.end(), /*strict=*/true,
                                                 /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      return refused("is not well-formed CBOR");
    }
    return j;
  } catch (const std::exception& e) {  // the fence: see the header
    return refused(std::string("was refused by the CBOR reader: ") + e.what());
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
