#include "tests/ring/hostile_cbor.h"

namespace wipam::ring {
namespace {

constexpr std::size_t kMiB = 1024 * 1024;

std::vector<std::uint8_t> repeat(std::vector<std::uint8_t> unit, std::size_t total,
                                 std::vector<std::uint8_t> tail = {0x00}) {
  std::vector<std::uint8_t> out;
  out.reserve(total + tail.size());
  while (out.size() + unit.size() <= total) {
    out.insert(out.end(), unit.begin(), unit.end());
  }
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

std::vector<std::uint8_t> cat(std::vector<std::uint8_t> head,
                              const std::vector<std::uint8_t>& rest) {
  head.insert(head.end(), rest.begin(), rest.end());
  return head;
}

std::vector<HostileCbor> bare() {
  const std::vector<std::uint8_t> max64 = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  return {
      {"1 MiB of 0x81 (one-element arrays nested a million deep)", repeat({0x81}, kMiB)},
      {"1 MiB of 0x9f (indefinite-length arrays nested)", repeat({0x9f}, kMiB, {})},
      {"1 MiB of 0xa1 (one-pair maps as keys)", repeat({0xa1}, kMiB)},
      {"{\"k\": {\"k\": ...}} a third of a million deep", repeat({0xa1, 0x61, 0x6b}, kMiB)},
      {"1 MiB of tags", repeat({0xd8, 0x20}, kMiB)},
      {"nine nested arrays", repeat({0x81}, 9)},
      {"an array declaring 2^64-1 items", cat({0x9b}, max64)},
      {"an array declaring 2^32-1 items", {0x9a, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00}},
      {"a map declaring 2^64-1 pairs", cat({0xbb}, max64)},
      {"a byte string declaring 2^64-1 bytes", cat({0x5b}, max64)},
      {"a text string declaring 2^32-1 bytes", {0x7a, 0xff, 0xff, 0xff, 0xff, 0x61}},
      {"an array of 2^20+1 empty arrays",
       cat({0x9a, 0x00, 0x10, 0x00, 0x01}, repeat({0x80}, kMiB + 1, {}))},
      {"an indefinite-length array", {0x9f, 0x01, 0x02, 0xff}},
      {"an indefinite-length map", {0xbf, 0x61, 0x6b, 0x01, 0xff}},
      {"an indefinite-length byte string", {0x5f, 0x41, 0x00, 0xff}},
      {"a stray break", {0xff}},
      {"reserved additional information", {0x1c}},
      {"a truncated array", {0x83, 0x01, 0x02}},
      {"a truncated byte string", {0x58, 0x10, 0x01, 0x02, 0x03}},
      {"a truncated integer", {0x1b, 0x01, 0x02}},
      {"trailing bytes", {0x80, 0x00}},
      {"nothing", {}},
  };
}

}  // namespace

std::vector<HostileCbor> hostile_cbor() {
  std::vector<HostileCbor> out = bare();
  for (const HostileCbor& h : bare()) {
    for (std::uint8_t tag : {0x01, 0x02, 0x06}) {
      out.push_back({"[" + std::to_string(tag) + ", " + h.name + "]", cat({0x82, tag}, h.bytes)});
    }
  }
  return out;
}

}  // namespace wipam::ring
