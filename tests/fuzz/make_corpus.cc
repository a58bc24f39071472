// Writes the seed corpus of every fuzz target into tests/fuzz/corpus/<target>/: a handful
// of valid inputs each (built with the real encoders, so they stay valid as formats change)
// and a few hostile ones. Run `build/fuzz/fuzz/make_corpus tests/fuzz/corpus` after a format
// changes, and commit the result. Built with the fuzz targets (WIPAM_FUZZ).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "driver/docker/ipam_api.h"
#include "gossip/frame.h"
#include "gossip/handshake.h"
#include "ring/messages.h"
#include "ring/paxos.h"
#include "ring/ring.h"
#include "tests/fuzz/fuzz_util.h"

namespace wipam::fuzz {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

fs::path g_root;

void put(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(g_root / target);
  std::ofstream(g_root / target / name, std::ios::binary) << bytes;
}
void put(const std::string& target, const std::string& name, const Bytes& bytes) {
  put(target, name, std::string(bytes.begin(), bytes.end()));
}
Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
ring::Cidr cidr(const char* text) { return *ring::Cidr::parse(text); }
ring::Address addr(const char* text) { return *ring::Address::parse(text); }

void plugin() {
  const std::string pool = R"(RequestPool {"AddressSpace":"weavelocal","Pool":"10.32.1.0/24",)"
                           R"("SubPool":"","Options":null,"V6":false})";
  put("plugin", "handshake", "/Plugin.Activate \nGetCapabilities \nGetDefaultAddressSpaces \n");
  put("plugin", "network",
      pool + "\n" + R"(RequestAddress {"PoolID":"weave-10.32.1.0/24","Address":"10.32.1.1",)" +
          R"("Options":{"RequestAddressType":"com.docker.network.gateway"}})" + "\n" +
          R"(RequestAddress {"PoolID":"weave-10.32.1.0/24","Address":"","Options":null})" + "\n" +
          R"(ReleaseAddress {"PoolID":"weave-10.32.1.0/24","Address":"10.32.1.2"})" + "\n" +
          R"(ReleasePool {"PoolID":"weave-10.32.1.0/24"})" + "\n");
  put("plugin", "automatic",
      R"(RequestPool {"AddressSpace":"weavelocal","Pool":"","Options":{"size":"26"}})"
      "\n"
      R"(RequestPool {"AddressSpace":"weavelocal","Pool":"","Options":null})"
      "\n");
  put("plugin", "swarm",
      R"(RequestPool {"AddressSpace":"weaveglobal","Pool":"10.32.9.0/24","SubPool":"10.32.9.0/25"})"
      "\n"
      R"(RequestAddress {"PoolID":"weave-10.32.9.0/24","Address":"10.32.9.3",)"
      R"("Options":{"com.docker.network.ipam.serial":"true"}})"
      "\n"
      R"(RequestPool {"AddressSpace":"weavelocal","Pool":"10.32.9.0/24"})"
      "\n"
      R"(RequestAddress {"PoolID":"weave-10.32.9.0/24","Address":"10.32.9.3"})"
      "\n"
      R"(ReleasePool {"PoolID":"weave-10.32.9.0/24"})"
      "\n"
      R"(ReleasePool {"PoolID":"weave-10.32.9.0/24"})"
      "\n");
  put("plugin", "v6",
      "v6\n"
      R"(RequestPool {"AddressSpace":"weavelocal","Pool":"","Options":{"size":"128"}})"
      "\n"
      R"(RequestPool {"AddressSpace":"weavelocal","Pool":"fd00::/64","V6":true})"
      "\n");
  put("plugin", "hostile",
      "RequestPool " + std::string(4000, '[') + "\nRequestPool {\"Pool\":7}\nReleasePool [1]\n" +
          "RequestAddress {\"PoolID\":\"weave-10.32.1.0/24\",\"Address\":\"10.32.1.999\"}\n" +
          "Unknown.\xff\xfe {}\n");
}

void admin() {
  put("admin", "reads",
      "GET /status \nGET /peers \nGET /allocations \nGET /owners \n"
      "GET /metrics \nGET / \nPOST /prime {}\n");
  put("admin", "allocations",
      R"(POST /allocate {"owner":"cli:a","subnet":"10.32.4.0/24"})"
      "\n"
      R"(POST /claim {"owner":"cli:b","address":"10.32.5.9/24"})"
      "\n"
      R"(POST /release {"address":"10.32.5.9"})"
      "\n"
      R"(POST /release {"owner":"cli:a"})"
      "\nGET /owners \n");
  put("admin", "peers",
      R"(POST /connect {"targets":["10.0.0.2:6783"]})"
      "\n"
      R"(POST /forget {"targets":["10.0.0.2"]})"
      "\nDELETE /peer/00:00:00:00:00:02 \nDELETE /peer/host-b?force=1 \n");
  put("admin", "hostile",
      "POST /allocate " + std::string(3000, '{') + "\nPOST /claim {\"owner\":\"peer:x\"}\n" +
          "POST /release {\"owner\":7}\nDELETE /peer/\xff\xfe \nPOST /allocate [\"x\"]\n");
}

void cni() {
  const std::string env =
      "CNI_CONTAINERID=c0ffee\nCNI_NETNS=/var/run/netns/c0ffee\nCNI_IFNAME=eth0\n"
      "CNI_PATH=/opt/cni/bin\n";
  const std::string conf =
      R"({"cniVersion":"1.1.0","name":"mynet","type":"bridge","ipam":{"type":"weave-ipam-cni",)"
      R"("subnet":"10.32.1.0/24","gateway":"10.32.1.1","routes":[{"dst":"0.0.0.0/0"}]}})";
  std::string nul(1, '\0');
  put("cni", "add",
      "CNI_COMMAND=ADD\n" + env + nul + conf + nul + R"(200 {"addresses":["10.32.1.1/24"]})" + nul +
          R"(200 {"addresses":["10.32.1.5/24"]})");
  put("cni", "add_ips",
      "CNI_COMMAND=ADD\nCNI_ARGS=IgnoreUnknown=1;IP=10.32.1.7/24\n" + env + nul + conf + nul +
          R"(500 {"Err":"address 10.32.1.1 is already in use"})" + nul +
          R"(200 {"addresses":["10.32.1.7/24"]})");
  put("cni", "del", "CNI_COMMAND=DEL\n" + env + nul + conf + nul + "200 {}" + nul + "200 {}");
  put("cni", "check",
      "CNI_COMMAND=CHECK\n" + env + nul +
          R"({"cniVersion":"1.0.0","name":"mynet","ipam":{"type":"weave-ipam-cni"},)"
          R"("prevResult":{"ips":[{"address":"10.32.1.5/24"}]}})" +
          nul + R"(200 {"addresses":["10.32.1.5/24"]})");
  put("cni", "gc",
      "CNI_COMMAND=GC\nCNI_PATH=/opt/cni/bin\n" + nul +
          R"({"cniVersion":"1.1.0","name":"mynet","ipam":{"type":"weave-ipam-cni"},)"
          R"("cni.dev/valid-attachments":[{"containerID":"c0ffee","ifname":"eth0"}]})" +
          nul + R"(200 {"cni:mynet:c0ffee:eth0":["10.32.1.5/24"],"cni:mynet:dead:eth0":[]})" + nul +
          "200 {}");
  put("cni", "version_status", "CNI_COMMAND=VERSION\n" + nul + R"({"cniVersion":"0.4.0"})");
  put("cni", "hostile",
      "CNI_COMMAND=ADD\nCNI_CONTAINERID=\xff\xfe\nCNI_IFNAME=eth0\n" + nul +
          std::string(2000, '[') + nul + "200 {\"addresses\":[7]}");
}

Bytes frame(const Bytes& body) {
  auto header = gossip::frame_header(body.size());
  return cat(Bytes(header.begin(), header.end()), body);
}

void gossip_stream() {
  gossip::Preamble p = gossip::make_preamble();
  Bytes preamble(p.begin(), p.end());
  gossip::Hello hello;
  hello.identity = {ring::PeerName(2), "host-b", 22};
  hello.listen_port = 6783;
  hello.range = "10.32.0.0/12";
  hello.nonce.fill(3);
  hello.allocation_identity = "seeds 00:00:00:00:00:01";
  gossip::PeerEntry entry{hello.identity, 3, {{ring::PeerName(1), "10.0.0.1:6783"}}};
  gossip::PeerEntry self{
      {ring::PeerName(1), "self", 11}, 2, {{ring::PeerName(2), "10.0.0.2:6783"}}};
  Bytes payload = ring::encode_message(ring::RingRequest{});
  Bytes link = cat(cat(preamble, frame(gossip::encode_hello(hello))),
                   frame(gossip::encode_verdict({true, {}, ""})));
  link = cat(link, frame(gossip::encode_heartbeat()));
  link = cat(link, frame(gossip::encode_topology({entry, self})));
  link = cat(link, frame(gossip::encode_broadcast({ring::PeerName(2), 22, 1, payload})));
  link =
      cat(link, frame(gossip::encode_unicast({ring::PeerName(2), ring::PeerName(1), 8, payload})));
  link = cat(link, frame(gossip::encode_gossip(payload)));
  put("gossip", "link", link);
  put("gossip", "hello_v1",
      cat(Bytes{'W', 'I', 'P', 'M', 1, 1}, frame(gossip::encode_hello(hello, 1))));
  put("gossip", "refused", cat(preamble, frame(gossip::encode_verdict({false, {}, "no"}))));
  Bytes deep(4000, 0x81);
  put("gossip", "nested_gossip",
      cat(cat(preamble, frame(gossip::encode_hello(hello))), frame(gossip::encode_gossip(deep))));
  put("gossip", "seq_max",
      cat(cat(preamble, frame(gossip::encode_hello(hello))),
          frame(gossip::encode_broadcast({ring::PeerName(2), 22, UINT64_MAX, payload}))));
  put("gossip", "oversized", cat(preamble, Bytes{0x00, 0x80, 0x00, 0x00, 0x01}));
}

// The cbor target's first byte picks the decoder (cbor_target.cc).
enum Kind : std::uint8_t { kToSeed, kToElector, kRing, kPaxosGossip, kPaxosState, kValues };

void cbor(const std::string& name, Kind kind, const Bytes& bytes) {
  put("cbor", name, cat(Bytes{kind}, bytes));
}

// Two electors part-way through agreeing on {1, 2}, and the ring they would create.
void cbor_seeds() {
  ring::Range universe = cidr("10.32.0.0/12").range();
  ring::Ring shared(universe, ring::PeerName(1));
  (void)shared.claim_for_peers({ring::PeerName(1), ring::PeerName(2)});
  ring::Paxos a(ring::PeerName(1), 2);
  ring::Paxos b(ring::PeerName(2), 2);
  a.propose();
  b.merge(a.gossip());
  b.think();
  cbor("ring_update", kToSeed, ring::encode_message(ring::RingUpdate{shared.encode()}));
  cbor("ring_request", kToElector, ring::encode_message(ring::RingRequest{}));
  ring::Range wanted(addr("10.40.0.0"), addr("10.40.1.0"));
  cbor("space_request", kToSeed, ring::encode_message(ring::SpaceRequest{wanted}));
  cbor("space_denied", kToSeed, ring::encode_message(ring::SpaceDenied{wanted}));
  cbor("ranged", kToSeed,
       ring::encode_ranged_message(cidr("fd00:32::/48"), ring::SpaceRequest{wanted}));
  cbor("held", kToSeed,
       ring::encode_message(ring::HeldAddresses{{addr("10.32.0.7"), addr("10.40.0.9")}}));
  const std::string gateway = "gateway:weave-10.32.1.0/24";
  cbor("held_shared", kToSeed,
       ring::encode_message(
           ring::HeldAddresses{{addr("10.32.0.7")}, {{addr("10.32.1.1"), gateway}}}));
  cbor("held_asked", kToSeed,
       ring::encode_message(ring::HeldAddresses{{addr("10.32.0.7")},
                                                {{addr("10.32.1.1"), gateway}},
                                                {{addr("10.32.1.2"), gateway}},
                                                0xfeedface12345678,
                                                42}));
  cbor("share_request", kToSeed,
       ring::encode_message(ring::ShareRequest{addr("10.32.1.1"), gateway}));
  cbor(
      "share_request_ordered", kToSeed,
      ring::encode_message(ring::ShareRequest{addr("10.32.1.1"), gateway, 0xfeedface12345678, 43}));
  cbor("share_granted", kToSeed,
       ring::encode_message(ring::ShareGranted{addr("10.32.1.1"), gateway}));
  cbor("shares_notice", kToSeed,
       ring::encode_message(ring::SharesNotice{
           {{addr("10.32.1.1"), gateway, {ring::PeerName(2), ring::PeerName(3)}}}}));
  cbor("paxos_update", kToElector,
       ring::encode_message(ring::PaxosUpdate{ring::Paxos::encode(b.gossip())}));
  cbor("ring", kRing, shared.encode());
  cbor("paxos_gossip", kPaxosGossip, ring::Paxos::encode(b.gossip()));
  cbor("paxos_state", kPaxosState, ring::Paxos::encode_persistent(b.persistent()));
  cbor("values", kValues,
       Bytes{0x83, 0x51, 4, 0, 0,    0,    0,    0,    0,    0,    0,    0,    0,    0,   0,
             10,   32,   0, 1, 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00});
  cbor("nested", kToSeed, Bytes(2000, 0x81));
  cbor("indefinite", kRing, Bytes{0x82, 0x01, 0x9f, 0x01, 0x02, 0xff});
  cbor("huge_length", kPaxosGossip,
       Bytes{0x82, 0x01, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
}

// A store record for the store target: key length, key, 2-byte value length, value.
std::string record(const std::string& key, const std::string& value) {
  std::string out(1, static_cast<char>(key.size()));
  out += key;
  out += static_cast<char>(value.size() >> 8);
  out += static_cast<char>(value.size() & 0xff);
  return out + value;
}
std::string records(const std::map<std::string, std::string>& stored) {
  std::string out;
  for (const auto& [key, value] : stored) {
    out += record(key, value);
  }
  return out;
}

// What a seed peer and an elector leave in their stores after a few requests.
void store_seeds() {
  FuzzPeer seed(FuzzPeer::seed_config(cidr("10.32.0.0/12")));
  (void)seed.start();
  seed.run(ring::AllocateCommand{"c0ffee", cidr("10.32.1.0/24"), std::nullopt});
  seed.run(ring::ClaimCommand{"gateway:weave-10.32.1.0/24", cidr("10.32.1.1/24")});
  driver::IpamApi ipam(
      {{cidr("10.32.0.0/12"), cidr("10.32.0.0/12"), 24}},
      [](const ring::Address&) { return std::nullopt; }, driver::IpamApi::none_held);
  driver::IpamApi::Outcome pool = ipam.handle(
      "/IpamDriver.RequestPool", R"({"AddressSpace":"weaveglobal","Pool":"10.32.1.0/24"})");
  seed.write(pool.writes);
  std::map<std::string, std::string> stored = seed.stored();
  stored["m/format"] = "1";
  stored["m/docker-since"] = "1700000000";
  put("store", "seed", std::string(1, '\0') + records(stored));

  ring::AllocatorConfig c = FuzzPeer::seed_config(cidr("fd00::/64"));
  c.init = ring::ConsensusInit{2};
  FuzzPeer elector(c);
  (void)elector.start();
  elector.run(ring::AllocateCommand{"x", cidr("fd00::/64"), std::nullopt});  // proposes
  put("store", "elector", std::string(1, '\1') + records(elector.stored()));
  put("store", "observer_empty", std::string(1, '\2'));

  put("store", "corrupt_identity", std::string(1, '\0') + record("m/identity", "zz:zz 1 x"));
  put("store", "pool_wrong_type",
      std::string(1, '\0') + record("p/weave-10.32.1.0/24", R"({"subnet":7,"refs":"1"})"));
  put("store", "pool_deep", std::string(1, '\0') + record("p/x", std::string(3000, '[')));
  put("store", "bad_allocation",
      std::string(1, '\0') + record("a/4000000000000000000000000ffffffff", "99 owner") +
          record("m/ring", std::string(500, '\x81')));
  put("store", "other_range",
      std::string(1, '\0') + record("m/universe", "10.40.0.0/16") +
          record("m/identity", "00:00:00:00:00:09 5 x"));
}

}  // namespace
}  // namespace wipam::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus DIR (e.g. tests/fuzz/corpus)\n");
    return 2;
  }
  wipam::fuzz::quiet_logs();
  wipam::fuzz::g_root = argv[1];
  wipam::fuzz::plugin();
  wipam::fuzz::admin();
  wipam::fuzz::cni();
  wipam::fuzz::gossip_stream();
  wipam::fuzz::cbor_seeds();
  wipam::fuzz::store_seeds();
  return 0;
}
