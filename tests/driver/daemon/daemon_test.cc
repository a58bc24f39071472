// The daemon in-process on real sockets and a real LevelDB: every plugin endpoint, bad input
// of every kind answered with a clear error while the daemon keeps serving and its state
// stays as it was, and restarts that keep or refuse stored state.
#include "driver/daemon/daemon.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <future>
#include <thread>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>
#include <leveldb/db.h>
#include <nlohmann/json.hpp>

namespace wipam::driver {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using Local = asio::local::stream_protocol;
using nlohmann::json;

struct Answer {
  unsigned status;
  json body;
};

// One daemon on its own loop thread, as main() runs it.
class RunningDaemon {
 public:
  explicit RunningDaemon(Config config) : work_(asio::make_work_guard(io_)) {
    daemon_ = std::make_unique<Daemon>(io_, config);
    started_ = daemon_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~RunningDaemon() {
    std::promise<void> stopped;
    asio::post(io_, [&] { daemon_->stop([&] { stopped.set_value(); }); });
    stopped.get_future().wait();
    work_.reset();
    io_.stop();
    thread_.join();
  }
  const Status& started() const { return started_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::unique_ptr<Daemon> daemon_;
  Status started_;
  std::thread thread_;
};

class DaemonTest : public ::testing::Test {
 protected:
  DaemonTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("wipam-daemon-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    config_.db_path = (dir_ / "state").string();
    config_.plugin_socket = (dir_ / "plugin.sock").string();
    config_.admin_socket = (dir_ / "admin.sock").string();
    config_.http_addr = "";
    config_.docker_api = "";
    config_.port = 0;  // a single peer: no mesh
    config_.nickname = "test";
    ring::Cidr range = *ring::Cidr::parse("10.99.0.0/16");
    config_.ranges = {{range, range, 24}};
  }
  ~DaemonTest() override { std::filesystem::remove_all(dir_); }

  Answer call(const std::string& socket, http::verb verb, const std::string& target,
              const std::string& body) {
    asio::io_context io;
    Local::socket s(io);
    s.connect(Local::endpoint(socket));
    http::request<http::string_body> request(verb, target, 11);
    request.set(http::field::host, "x");
    request.body() = body;
    request.prepare_payload();
    boost::system::error_code ignored;  // a refused oversized body may break the pipe
    http::write(s, request, ignored);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(s, buffer, response);
    return {response.result_int(), json::parse(response.body(), nullptr, false)};
  }
  Answer plugin(const std::string& path, const std::string& body) {
    return call(config_.plugin_socket, http::verb::post, path, body);
  }
  json allocations() {
    return call(config_.admin_socket, http::verb::get, "/allocations", "").body;
  }

  std::filesystem::path dir_;
  Config config_;
};

TEST_F(DaemonTest, EveryEndpointAnswersAndBadInputChangesNothing) {
  RunningDaemon d(config_);
  ASSERT_TRUE(d.started().ok()) << d.started().to_string();
  EXPECT_EQ(plugin("/Plugin.Activate", "").body, json({{"Implements", {"IpamDriver"}}}));
  Answer caps = plugin("/IpamDriver.GetCapabilities", "");
  EXPECT_EQ(caps.status, 200u);
  EXPECT_EQ(caps.body["RequiresRequestReplay"], false);
  EXPECT_EQ(plugin("/IpamDriver.GetDefaultAddressSpaces", "").status, 200u);
  Answer pool =
      plugin("/IpamDriver.RequestPool",
             R"({"AddressSpace":"","Pool":"10.99.1.0/24","SubPool":"","Options":null,"V6":false})");
  ASSERT_EQ(pool.status, 200u);
  std::string id = pool.body["PoolID"];
  Answer first = plugin("/IpamDriver.RequestAddress",
                        json{{"PoolID", id}, {"Address", ""}, {"Options", nullptr}}.dump());
  ASSERT_EQ(first.status, 200u);
  json before = allocations();

  struct Bad {
    std::string path, body;
    unsigned status;
    std::string says;
  };
  const std::vector<Bad> bad = {
      {"/IpamDriver.RequestPool", "{not json", 400, "JSON"},
      {"/IpamDriver.RequestPool", R"({"Pool":5})", 400, "Pool"},
      {"/IpamDriver.RequestPool", R"({"Pool":"10.200.0.0/24"})", 400, "outside"},
      {"/IpamDriver.RequestPool", R"({"Pool":"10.99.1.0/33"})", 400, ""},
      {"/IpamDriver.RequestPool", R"({"Pool":"","V6":true})", 400, ""},
      {"/IpamDriver.RequestPool", R"({"Pool":"10.99.1.0/24","SubPool":"10.99.2.0/25"})", 400, ""},
      {"/IpamDriver.RequestAddress", R"({"PoolID":"weave-10.99.9.0/24","Address":""})", 400,
       "unknown pool"},
      {"/IpamDriver.RequestAddress", json{{"PoolID", id}, {"Address", "10.99.2.1"}}.dump(), 400,
       "outside the pool"},
      {"/IpamDriver.RequestAddress", json{{"PoolID", id}, {"Address", "10.99.1"}}.dump(), 400, ""},
      {"/IpamDriver.RequestAddress", json{{"PoolID", id}, {"Address", 7}}.dump(), 400, ""},
      {"/IpamDriver.RequestAddress", json{{"PoolID", id}, {"Options", "x"}}.dump(), 400, ""},
      {"/IpamDriver.Frobnicate", "{}", 404, ""},
      {"/IpamDriver.RequestAddress", std::string(2 << 20, ' '), 413, "over"},
  };
  for (const Bad& b : bad) {
    Answer a = plugin(b.path, b.body);
    EXPECT_EQ(a.status, b.status) << b.path << " " << b.body.substr(0, 60);
    ASSERT_TRUE(a.body.is_object()) << b.path;
    ASSERT_TRUE(a.body.contains("Err")) << b.path;
    EXPECT_NE(a.body["Err"].get<std::string>().find(b.says), std::string::npos)
        << a.body["Err"] << " should say " << b.says;
    EXPECT_EQ(allocations(), before) << b.path << " changed the allocations";
  }
  // Releases are idempotent, also for things never allocated.
  std::string address = first.body["Address"].get<std::string>();
  address = address.substr(0, address.find('/'));
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(
        plugin("/IpamDriver.ReleaseAddress", json{{"PoolID", id}, {"Address", address}}.dump())
            .status,
        200u);
  }
  EXPECT_EQ(plugin("/IpamDriver.ReleaseAddress", R"({"PoolID":"nope","Address":"1.2.3.4"})").status,
            200u);
  EXPECT_EQ(plugin("/IpamDriver.ReleasePool", R"({"PoolID":"nope"})").status, 200u);
  // And the daemon still serves.
  EXPECT_EQ(
      plugin("/IpamDriver.RequestAddress", json{{"PoolID", id}, {"Address", ""}}.dump()).status,
      200u);
}

TEST_F(DaemonTest, ARestartKeepsAllocationsAndPools) {
  std::string held;
  {
    RunningDaemon d(config_);
    ASSERT_TRUE(d.started().ok());
    ASSERT_EQ(plugin("/IpamDriver.RequestPool", R"({"Pool":"10.99.1.0/24"})").status, 200u);
    held =
        plugin("/IpamDriver.RequestAddress", R"({"PoolID":"weave-10.99.1.0/24"})").body["Address"];
  }
  RunningDaemon d(config_);
  ASSERT_TRUE(d.started().ok()) << d.started().to_string();
  EXPECT_TRUE(allocations().contains(held.substr(0, held.find('/'))));
  Answer next = plugin("/IpamDriver.RequestAddress", R"({"PoolID":"weave-10.99.1.0/24"})");
  ASSERT_EQ(next.status, 200u);  // the pool survived the restart
  EXPECT_NE(next.body["Address"], held);
}

TEST_F(DaemonTest, StateForAnotherRangeOrNameIsRefusedAndKept) {
  {
    RunningDaemon d(config_);
    ASSERT_TRUE(d.started().ok());
    plugin("/IpamDriver.RequestPool", R"({"Pool":"10.99.1.0/24"})");
    plugin("/IpamDriver.RequestAddress", R"({"PoolID":"weave-10.99.1.0/24"})");
  }
  Config other_range = config_;
  ring::Cidr other = *ring::Cidr::parse("10.98.0.0/16");
  other_range.ranges = {{other, other, 24}};
  {
    RunningDaemon d(other_range);
    EXPECT_EQ(d.started().code(), Code::kFailedPrecondition);
    EXPECT_NE(d.started().message().find("is for --ipalloc-range 10.99.0.0/16, not 10.98.0.0/16"),
              std::string::npos)
        << d.started().message();
  }
  Config other_name = config_;
  other_name.name = *ring::PeerName::parse("02:00:00:00:00:99");
  {
    RunningDaemon d(other_name);
    EXPECT_NE(d.started().message().find("belongs to peer"), std::string::npos)
        << d.started().message();
  }
  RunningDaemon d(config_);
  ASSERT_TRUE(d.started().ok()) << d.started().to_string();
  EXPECT_EQ(allocations().size(), 1u);
}

TEST_F(DaemonTest, AOneRangeStoreUpgradesToDualStackAndIpv6StateIsNeverDropped) {
  std::string v4;
  {
    RunningDaemon d(config_);  // the one-range layout a version before dual-stack wrote
    ASSERT_TRUE(d.started().ok());
    plugin("/IpamDriver.RequestPool", R"({"Pool":"10.99.1.0/24"})");
    v4 = plugin("/IpamDriver.RequestAddress", R"({"PoolID":"weave-10.99.1.0/24"})").body["Address"];
  }
  Config dual = config_;
  ring::Cidr range6 = *ring::Cidr::parse("fd00:99::/48");
  dual.ranges.push_back({range6, range6, 64});
  std::string v6;
  {
    RunningDaemon d(dual);
    ASSERT_TRUE(d.started().ok()) << d.started().to_string();
    EXPECT_TRUE(allocations().contains(v4.substr(0, v4.find('/'))));  // read as it was
    Answer pool = plugin("/IpamDriver.RequestPool", R"({"Pool":"","V6":true})");
    ASSERT_EQ(pool.status, 200u) << pool.body;
    EXPECT_EQ(pool.body["Pool"], "fd00:99::/64");
    Answer a = plugin("/IpamDriver.RequestAddress", R"({"PoolID":"weave-fd00:99::/64"})");
    ASSERT_EQ(a.status, 200u) << a.body;
    v6 = a.body["Address"];
  }
  {
    RunningDaemon d(config_);  // the IPv6 range dropped from the flags: refused, kept
    EXPECT_EQ(d.started().code(), Code::kFailedPrecondition);
    EXPECT_NE(d.started().message().find("start with --ipalloc-range fd00:99::/48"),
              std::string::npos)
        << d.started().message();
  }
  RunningDaemon d(dual);
  ASSERT_TRUE(d.started().ok()) << d.started().to_string();
  EXPECT_TRUE(allocations().contains(v4.substr(0, v4.find('/'))));
  EXPECT_TRUE(allocations().contains(v6.substr(0, v6.find('/'))));
}

// Reads or rewrites one key of a stopped daemon's LevelDB, as corruption or an operator would.
std::string poke(const std::string& path, const std::string& key,
                 const std::optional<std::string>& value) {
  leveldb::DB* raw = nullptr;
  leveldb::Options options;
  EXPECT_TRUE(leveldb::DB::Open(options, path, &raw).ok());
  std::unique_ptr<leveldb::DB> db(raw);
  std::string old;
  (void)db->Get(leveldb::ReadOptions(), key, &old);  // absent: ""
  if (value) {
    EXPECT_TRUE(db->Put(leveldb::WriteOptions(), key, *value).ok());
  }
  return old;
}

// A corrupt record is refused with the key and the fix, never "repaired" by starting afresh:
// a new random name would make every stored allocation another peer's, and the allocator used
// to delete them all. Once repaired, everything is still there.
TEST_F(DaemonTest, ACorruptStoreIsRefusedNeverWiped) {
  {
    RunningDaemon d(config_);
    ASSERT_TRUE(d.started().ok());
    plugin("/IpamDriver.RequestPool", R"({"Pool":"10.99.1.0/24"})");
    plugin("/IpamDriver.RequestAddress", R"({"PoolID":"weave-10.99.1.0/24"})");
  }
  struct Case {
    std::string key;
    std::string bad;
  };
  const std::string pool_key = "p/weave-10.99.1.0/24";
  const std::string identity = poke(config_.db_path, "m/identity", std::nullopt);
  const std::string name = identity.substr(0, identity.find(' '));
  // The name in upper case is not its canonical form. Only the name: a nickname may be any
  // text, so a random name of digits alone falls back to another malformed record.
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](char ch) { return std::toupper(ch); });
  upper += identity.substr(name.size());
  for (const Case& c : {Case{"m/identity", "garbage"}, Case{"m/identity", ""},
                        Case{"m/identity", name}, Case{"m/identity", name + " 12x test"},
                        Case{"m/identity", upper == identity ? name + " " : upper},
                        Case{pool_key, R"({"subnet":"10.99.1.0/24","refs":1,"automatic":"x"})"},
                        Case{pool_key, std::string(100, '[')}}) {
    std::string good = poke(config_.db_path, c.key, c.bad);
    {
      RunningDaemon d(config_);
      EXPECT_FALSE(d.started().ok()) << c.key << " = " << c.bad;
      EXPECT_NE(d.started().message().find(c.key), std::string::npos) << d.started().message();
      if (c.key == "m/identity") {
        EXPECT_NE(d.started().message().find("restore the state from a backup"), std::string::npos)
            << d.started().message();
      }
    }
    poke(config_.db_path, c.key, good);
  }
  RunningDaemon d(config_);
  ASSERT_TRUE(d.started().ok()) << d.started().to_string();
  EXPECT_EQ(allocations().size(), 1u);
  EXPECT_EQ(plugin("/IpamDriver.RequestAddress", R"({"PoolID":"weave-10.99.1.0/24"})").status,
            200u);  // the pool is still there
}

// The first key with `prefix` in a stopped daemon's LevelDB ("" if none).
std::string first_key(const std::string& path, const std::string& prefix) {
  leveldb::DB* raw = nullptr;
  EXPECT_TRUE(leveldb::DB::Open(leveldb::Options(), path, &raw).ok());
  std::unique_ptr<leveldb::DB> db(raw);
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
  it->Seek(prefix);
  return it->Valid() && it->key().starts_with(prefix) ? it->key().ToString() : std::string();
}

void erase_key(const std::string& path, const std::string& key) {
  leveldb::DB* raw = nullptr;
  EXPECT_TRUE(leveldb::DB::Open(leveldb::Options(), path, &raw).ok());
  std::unique_ptr<leveldb::DB> db(raw);
  EXPECT_TRUE(db->Delete(leveldb::WriteOptions(), key).ok());
}

// Allocation keys and values, the ring and the consensus record: each corruption, including
// a deeply nested CBOR ring, refuses the start naming the key, and deletes nothing.
TEST_F(DaemonTest, ACorruptAllocationRingOrPaxosRecordIsRefusedNeverWiped) {
  {
    RunningDaemon d(config_);
    ASSERT_TRUE(d.started().ok());
    plugin("/IpamDriver.RequestPool", R"({"Pool":"10.99.1.0/24"})");
    plugin("/IpamDriver.RequestAddress", R"({"PoolID":"weave-10.99.1.0/24"})");
  }
  const std::string held = first_key(config_.db_path, "a/");
  ASSERT_FALSE(held.empty());
  const std::string stray = "a/4nothex";
  struct Case {
    std::string key;
    std::string bad;
  };
  for (const Case& c :
       {Case{held, "garbage"}, Case{held, ""}, Case{held, "99 owner"}, Case{stray, "32 x"},
        Case{"m/ring", "\xff\xff"}, Case{"m/ring", std::string(100'000, '\x81')},
        Case{"m/paxos", std::string(100'000, '\x9f')}}) {
    std::string good = poke(config_.db_path, c.key, c.bad);
    {
      RunningDaemon d(config_);
      EXPECT_FALSE(d.started().ok()) << c.key << " = " << c.bad.substr(0, 20);
      EXPECT_NE(d.started().message().find(c.key), std::string::npos) << d.started().message();
    }
    if (c.key == stray) {
      erase_key(config_.db_path, stray);
    } else if (good.empty() && c.key != held) {
      erase_key(config_.db_path, c.key);  // the record was absent before
    } else {
      poke(config_.db_path, c.key, good);
    }
  }
  RunningDaemon d(config_);
  ASSERT_TRUE(d.started().ok()) << d.started().to_string();
  EXPECT_EQ(allocations().size(), 1u);
}

}  // namespace
}  // namespace wipam::driver
