// `weave-ipam launch` flags: defaults, every flag, environment fallbacks for the managed
// plugin (flags win), quorum derived from the peers given, and one clear error line for
// every kind of bad value.
#include "driver/daemon/config.h"

#include <map>

#include <gtest/gtest.h>

namespace wipam::driver {
namespace {

Result<Config> parse(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  return parse_launch(args, [env](const char* name) -> std::optional<std::string> {
    auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional(it->second);
  });
}

std::string error_of(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  Result<Config> c = parse(std::move(args), std::move(env));
  return c.ok() ? "(accepted)" : c.status().message();
}

TEST(ConfigTest, DefaultsMatchTheDocumentation) {
  Result<Config> c = parse({});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 6783);
  ASSERT_EQ(c->ranges.size(), 1u);  // no IPv6 range unless one is given
  EXPECT_EQ(c->ranges[0].range.to_string(), "10.32.0.0/12");
  EXPECT_EQ(c->ranges[0].default_subnet.to_string(), "10.32.0.0/12");
  EXPECT_EQ(c->ranges[0].pool_prefix_len, 24);
  EXPECT_EQ(c->db_path, "/var/lib/weave-ipam");
  EXPECT_EQ(c->plugin_socket, "/run/docker/plugins/weave.sock");
  EXPECT_EQ(c->admin_socket, "/run/weave-ipam/admin.sock");
  EXPECT_EQ(c->http_addr, "127.0.0.1:6784");
  EXPECT_EQ(c->docker_api, "unix:///var/run/docker.sock");
  EXPECT_FALSE(c->name.has_value());
  EXPECT_TRUE(c->discovery);
  EXPECT_EQ(std::get<ring::ConsensusInit>(c->init).quorum, 1u);
}

TEST(ConfigTest, EveryFlagIsApplied) {
  Result<Config> c = parse({"--name",
                            "::1",
                            "--nickname=host-a",
                            "--port",
                            "7000",
                            "--ipalloc-range",
                            "10.40.0.0/16",
                            "--ipalloc-default-subnet",
                            "10.40.8.0/21",
                            "--ipalloc-default-pool-size",
                            "26",
                            "--password",
                            "s3cret",
                            "--db-path",
                            "/tmp/x",
                            "--plugin-socket",
                            "/tmp/p.sock",
                            "--admin-socket",
                            "/tmp/a.sock",
                            "--http-addr",
                            "",
                            "--docker-api",
                            "",
                            "--log-level",
                            "debug",
                            "--no-discovery",
                            "host-b",
                            "host-c:7001"});
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->name->to_string(), "00:00:00:00:00:01");
  EXPECT_EQ(c->nickname, "host-a");
  EXPECT_EQ(c->port, 7000);
  ASSERT_EQ(c->ranges.size(), 1u);
  EXPECT_EQ(c->ranges[0].range.to_string(), "10.40.0.0/16");
  EXPECT_EQ(c->ranges[0].default_subnet.to_string(), "10.40.8.0/21");
  EXPECT_EQ(c->ranges[0].pool_prefix_len, 26);
  EXPECT_EQ(c->password, "s3cret");
  EXPECT_EQ(c->db_path, "/tmp/x");
  EXPECT_EQ(c->http_addr, "");
  EXPECT_EQ(c->docker_api, "");
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_FALSE(c->discovery);
  EXPECT_EQ(c->peers, (std::vector<std::string>{"host-b", "host-c:7001"}));
  // Two targets: three peers expected, so a quorum of two.
  EXPECT_EQ(std::get<ring::ConsensusInit>(c->init).quorum, 2u);
}

TEST(ConfigTest, InitModesParse) {
  EXPECT_EQ(std::get<ring::ConsensusInit>(parse({"--ipalloc-init", "consensus=5"})->init).quorum,
            3u);
  EXPECT_TRUE(
      std::holds_alternative<ring::ObserverInit>(parse({"--ipalloc-init", "observer"})->init));
  ring::SeedInit seed = std::get<ring::SeedInit>(parse({"--ipalloc-init", "seed=::1,::2"})->init);
  ASSERT_EQ(seed.seeds.size(), 2u);
  EXPECT_EQ(seed.seeds[1].to_string(), "00:00:00:00:00:02");
}

TEST(ConfigTest, EnvironmentFillsInAndFlagsWin) {
  std::map<std::string, std::string> env = {{"IPALLOC_RANGE", "10.50.0.0/16"},
                                            {"IPALLOC_INIT", "consensus=3"},
                                            {"WEAVE_PASSWORD", "pw"},
                                            {"PEERS", "a b"},
                                            {"LOG_LEVEL", "warn"},
                                            {"EXTRA_ARGS", "--port 7100 --nickname x"}};
  Result<Config> c = parse({}, env);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->ranges[0].range.to_string(), "10.50.0.0/16");
  EXPECT_EQ(c->ranges[0].default_subnet.to_string(), "10.50.0.0/16");
  EXPECT_EQ(c->password, "pw");
  EXPECT_EQ(c->peers, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c->port, 7100);
  EXPECT_EQ(c->log_level, "warn");
  EXPECT_EQ(parse({"--ipalloc-range", "10.60.0.0/16"}, env)->ranges[0].range.to_string(),
            "10.60.0.0/16");
}

TEST(ConfigTest, AnIpv6RangeIsServedBesideTheIpv4One) {
  Result<Config> c = parse({"--ipalloc-range", "fd00:32::/48", "--ipalloc-default-subnet",
                            "fd00:32:0:100::/56", "--ipalloc-default-pool-size-v6", "72"});
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  ASSERT_EQ(c->ranges.size(), 2u);
  EXPECT_EQ(c->ranges[0].range.to_string(), "10.32.0.0/12");  // the IPv4 default stays, first
  EXPECT_EQ(c->ranges[0].default_subnet.to_string(), "10.32.0.0/12");
  EXPECT_EQ(c->ranges[1].range.to_string(), "fd00:32::/48");
  EXPECT_EQ(c->ranges[1].default_subnet.to_string(), "fd00:32:0:100::/56");
  EXPECT_EQ(c->ranges[1].pool_prefix_len, 72);
  // Given twice, or as one comma-separated list (the managed plugin's IPALLOC_RANGE); the
  // IPv6 pool size defaults to /64.
  for (const auto& [args, env] :
       std::vector<std::pair<std::vector<std::string>, std::map<std::string, std::string>>>{
           {{"--ipalloc-range", "fd00:32::/48", "--ipalloc-range", "10.40.0.0/16"}, {}},
           {{"--ipalloc-range", "10.40.0.0/16,fd00:32::/48"}, {}},
           {{}, {{"IPALLOC_RANGE", "fd00:32::/48,10.40.0.0/16"}}}}) {
    Result<Config> both = parse(args, env);
    ASSERT_TRUE(both.ok()) << both.status().to_string();
    ASSERT_EQ(both->ranges.size(), 2u);
    EXPECT_EQ(both->ranges[0].range.to_string(), "10.40.0.0/16");
    EXPECT_EQ(both->ranges[1].range.to_string(), "fd00:32::/48");
    EXPECT_EQ(both->ranges[1].default_subnet.to_string(), "fd00:32::/48");
    EXPECT_EQ(both->ranges[1].pool_prefix_len, 64);
  }
  // A later flag's range replaces an earlier one of its family, as later flags win.
  Result<Config> later =
      parse({"--ipalloc-range", "10.47.0.0/16,fd00::/48", "--ipalloc-range", "10.48.0.0/16"});
  ASSERT_TRUE(later.ok()) << later.status().to_string();
  ASSERT_EQ(later->ranges.size(), 2u);
  EXPECT_EQ(later->ranges[0].range.to_string(), "10.48.0.0/16");
  EXPECT_EQ(later->ranges[1].range.to_string(), "fd00::/48");
  // Flags replace the environment's list, they do not add to it.
  Result<Config> flags_win =
      parse({"--ipalloc-range", "10.60.0.0/16"}, {{"IPALLOC_RANGE", "10.50.0.0/16,fd00:32::/48"}});
  ASSERT_TRUE(flags_win.ok());
  EXPECT_EQ(flags_win->ranges.size(), 1u);
  EXPECT_EQ(flags_win->ranges[0].range.to_string(), "10.60.0.0/16");
}

TEST(ConfigTest, RangeSetsThatCannotBeServedAreRefused) {
  EXPECT_NE(error_of({"--ipalloc-range", "10.40.0.0/16,10.50.0.0/16"}).find("at most one per"),
            std::string::npos);
  EXPECT_NE(error_of({"--ipalloc-range", "fd00::/48,fd01::/48"})
                .find("a second IPv6 range besides fd00::/48"),
            std::string::npos);
  EXPECT_NE(error_of({"--ipalloc-range", "::/0"}).find("end of the IPv6 space"), std::string::npos);
  EXPECT_NE(error_of({"--ipalloc-range", "ffff::/16"}).find("end of the IPv6 space"),
            std::string::npos);
  EXPECT_NE(error_of({"--ipalloc-default-subnet", "fd00::/64"}).find("no IPv6 range is given"),
            std::string::npos);
  EXPECT_NE(error_of({"--ipalloc-range", "fd00::/48", "--ipalloc-default-subnet", "fd01::/64"})
                .find("must lie inside --ipalloc-range fd00::/48"),
            std::string::npos);
  EXPECT_NE(error_of({"--ipalloc-range", "fd00::/48", "--ipalloc-default-pool-size-v6", "40"})
                .find("--ipalloc-default-pool-size-v6 40 must be between"),
            std::string::npos);
}

// The file itself is read by resolve_password_file (password_test.cc); parsing only names it.
TEST(ConfigTest, PasswordFileComesFromTheFlagOrTheEnvironment) {
  Result<Config> c = parse({"--password-file", "/etc/weave-ipam/key"});
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->password_file, "/etc/weave-ipam/key");
  EXPECT_FALSE(c->password.has_value());
  c = parse({}, {{"WEAVE_PASSWORD_FILE", "/run/secrets/key"}});
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->password_file, "/run/secrets/key");
  EXPECT_EQ(parse({"--password-file=/a"}, {{"WEAVE_PASSWORD_FILE", "/b"}})->password_file, "/a");
  EXPECT_FALSE(parse({}, {{"WEAVE_PASSWORD_FILE", ""}})->password_file.has_value());
}

TEST(ConfigTest, PasswordAndPasswordFileTogetherAreRefused) {
  const std::string refused =
      "--password-file /k: --password is given too (or WEAVE_PASSWORD); give only one";
  EXPECT_EQ(error_of({"--password", "pw", "--password-file", "/k"}), refused);
  EXPECT_EQ(error_of({"--password-file", "/k"}, {{"WEAVE_PASSWORD", "pw"}}), refused);
  EXPECT_EQ(error_of({"--password", "pw"}, {{"WEAVE_PASSWORD_FILE", "/k"}}), refused);
  EXPECT_EQ(error_of({}, {{"WEAVE_PASSWORD", "pw"}, {"WEAVE_PASSWORD_FILE", "/k"}}), refused);
  EXPECT_NE(launch_usage().find("--password-file PATH"), std::string::npos);
}

TEST(ConfigTest, BadValuesGiveOneClearLine) {
  EXPECT_EQ(error_of({"--port", "0"}), "--port 0: must be a port number from 1 to 65535");
  EXPECT_EQ(error_of({"--port", "70000"}), "--port 70000: must be a port number from 1 to 65535");
  EXPECT_EQ(error_of({"--port", "12ab"}), "--port 12ab: must be a port number from 1 to 65535");
  EXPECT_EQ(error_of({"--ipalloc-range", "10.32.0.1/12"}),
            "--ipalloc-range 10.32.0.1/12: 10.32.0.1/12 has host bits set; did you mean "
            "10.32.0.0/12?");
  EXPECT_NE(error_of({"--ipalloc-range", "banana"}).find("banana"), std::string::npos);
  EXPECT_EQ(error_of({"--ipalloc-default-subnet", "10.99.0.0/16"}),
            "--ipalloc-default-subnet 10.99.0.0/16 must lie inside --ipalloc-range 10.32.0.0/12");
  EXPECT_NE(error_of({"--ipalloc-default-pool-size", "8"}).find("pool-size 8"), std::string::npos);
  EXPECT_NE(error_of({"--ipalloc-default-pool-size", "x"}).find("prefix length"),
            std::string::npos);
  EXPECT_NE(error_of({"--name", "zz"}).find("invalid peer name"), std::string::npos);
  EXPECT_NE(error_of({"--ipalloc-init", "consensus=0"}).find("1 to 1024"), std::string::npos);
  EXPECT_NE(error_of({"--ipalloc-init", "consensus=x"}).find("1 to 1024"), std::string::npos);
  EXPECT_NE(error_of({"--ipalloc-init", "seed="}).find("invalid peer name"), std::string::npos);
  EXPECT_NE(error_of({"--ipalloc-init", "seed=::1,bad"}).find("bad"), std::string::npos);
  EXPECT_NE(error_of({"--ipalloc-init", "paxos"}).find("expected consensus"), std::string::npos);
  // 0 would free the address of a container that dockerd is still attaching.
  EXPECT_EQ(error_of({"--reconcile-grace", "0"}),
            "--reconcile-grace 0: must be a number of seconds from 1 to 86400");
  EXPECT_NE(error_of({"--reconcile-grace", "86401"}).find("1 to 86400"), std::string::npos);
  EXPECT_EQ(error_of({"--log-level", "loud"}),
            "--log-level loud: must be debug, info, warn or error");
  EXPECT_EQ(error_of({"--frobnicate", "1"}),
            "unknown flag --frobnicate (see weave-ipam launch --help)");
  EXPECT_EQ(error_of({"--db-path"}), "--db-path needs a value");
  EXPECT_NE(error_of({}, {{"IPALLOC_RANGE", "nope"}}).find("IPALLOC_RANGE"), std::string::npos);
  EXPECT_NE(error_of({}, {{"EXTRA_ARGS", "--bogus x"}}).find("EXTRA_ARGS"), std::string::npos);
}

}  // namespace
}  // namespace wipam::driver
