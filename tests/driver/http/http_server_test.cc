// HttpServer on real Unix and TCP sockets: the server runs on its own io_context thread, as in
// the daemon, and the tests talk to it as blocking clients.
#include "driver/http/http_server.h"

#include <filesystem>
#include <fstream>
#include <future>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

namespace wipam::driver {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using Local = asio::local::stream_protocol;

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("wipam-http-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        work_(asio::make_work_guard(io_)) {
    std::filesystem::create_directories(dir_);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~HttpServerTest() override {
    asio::post(io_, [this] { server_.reset(); });
    work_.reset();
    io_.stop();
    thread_.join();
    std::filesystem::remove_all(dir_);
  }

  // Runs `f` on the server's loop and waits for it.
  template <class F>
  auto on_loop(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }

  // A handler that answers nothing now and keeps each Responder for the test to call.
  static HttpHandler hold_into(std::vector<Responder>& held) {
    return [&held](const HttpRequest&, Responder respond) { held.push_back(std::move(respond)); };
  }

  // Waits until the handler has been given a request to hold.
  void wait_until_held(const std::vector<Responder>& held) {
    while (on_loop([&] { return held.size(); }) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  std::string socket_path() const { return (dir_ / "api.sock").string(); }

  Status listen(HttpHandler handler, HttpLimits limits = {}) {
    return on_loop([&] {
      auto s = HttpServer::listen_unix(io_, socket_path(), 0600, std::move(handler), limits);
      if (!s.ok()) {
        return s.status();
      }
      server_ = std::move(*s);
      return Status();
    });
  }

  static HttpHandler echo() {
    return [](const HttpRequest& r, Responder respond) {
      respond(200, r.method + " " + r.target + " " + r.body, "text/plain");
    };
  }

  Local::socket connect() {
    Local::socket s(client_io_);
    s.connect(Local::endpoint(socket_path()));
    return s;
  }

  static http::response<http::string_body> call(Local::socket& s, http::verb verb,
                                                const std::string& target,
                                                const std::string& body = "") {
    http::request<http::string_body> request(verb, target, 11);
    request.set(http::field::host, "x");
    request.body() = body;
    request.prepare_payload();
    http::write(s, request);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(s, buffer, response);
    return response;
  }

  // Sends raw bytes and reads whatever comes back until the server closes.
  // What the server answers `bytes` with, up to its close. A server that closed first (a
  // connection over the limit) may fail the write with EPIPE: then it answered nothing.
  static std::string raw(Local::socket& s, const std::string& bytes) {
    boost::system::error_code ec;
    asio::write(s, asio::buffer(bytes), ec);
    std::string out;
    char chunk[4096];
    while (!ec) {
      std::size_t n = s.read_some(asio::buffer(chunk), ec);
      out.append(chunk, n);
    }
    return out;
  }

  std::filesystem::path dir_;
  asio::io_context io_;
  asio::io_context client_io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, AnswersOnAUnixSocketWithTheRequestedMode) {
  ASSERT_TRUE(listen(echo()).ok());
  struct stat st {};
  ASSERT_EQ(::stat(socket_path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Local::socket s = connect();
  auto response = call(s, http::verb::post, "/Plugin.Activate", "{}");
  EXPECT_EQ(response.result_int(), 200u);
  EXPECT_EQ(response.body(), "POST /Plugin.Activate {}");
  EXPECT_EQ(response[http::field::content_type], "text/plain");
}

TEST_F(HttpServerTest, KeepsTheConnectionAliveAcrossRequests) {
  ASSERT_TRUE(listen(echo()).ok());
  Local::socket s = connect();
  for (int i = 0; i < 5; ++i) {
    auto response = call(s, http::verb::get, "/n/" + std::to_string(i));
    EXPECT_EQ(response.body(), "GET /n/" + std::to_string(i) + " ");
    EXPECT_TRUE(response.keep_alive());
  }
}

TEST_F(HttpServerTest, DeferredRepliesGoOutInRequestOrderOnOneConnection) {
  std::vector<Responder> held;
  ASSERT_TRUE(listen([&](const HttpRequest& r, Responder respond) {
                if (r.target == "/slow") {
                  held.push_back(std::move(respond));
                  return;
                }
                respond(200, r.target, "text/plain");
              }).ok());
  Local::socket s = connect();
  // Two requests in one write: the second must wait for the first's deferred reply.
  asio::write(s, asio::buffer(std::string("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                                          "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")));
  wait_until_held(held);
  on_loop([&] { held[0](200, "/slow", "text/plain"); });
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> first, second;
  http::read(s, buffer, first);
  http::read(s, buffer, second);
  EXPECT_EQ(first.body(), "/slow");
  EXPECT_EQ(second.body(), "/fast");
}

TEST_F(HttpServerTest, ServesManyConcurrentClients) {
  ASSERT_TRUE(listen(echo()).ok());
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      asio::io_context io;
      Local::socket s(io);
      s.connect(Local::endpoint(socket_path()));
      for (int i = 0; i < 50; ++i) {
        std::string target = "/" + std::to_string(c) + "/" + std::to_string(i);
        if (call(s, http::verb::get, target).body() == "GET " + target + " ") {
          ++ok;
        }
      }
    });
  }
  for (auto& t : clients) {
    t.join();
  }
  EXPECT_EQ(ok.load(), 400);
}

TEST_F(HttpServerTest, OversizedBodyIs413AndTheServerKeepsServing) {
  HttpLimits limits;
  limits.max_body_bytes = 100;
  ASSERT_TRUE(listen(echo(), limits).ok());
  Local::socket s = connect();
  std::string reply =
      raw(s, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n" + std::string(101, 'a'));
  EXPECT_NE(reply.find("413"), std::string::npos) << reply;
  EXPECT_NE(reply.find("\"Err\""), std::string::npos) << reply;
  // Chunked bodies have no length up front; the limit still holds.
  Local::socket chunked = connect();
  reply = raw(chunked, "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n80\r\n" +
                           std::string(128, 'b') + "\r\n0\r\n\r\n");
  EXPECT_NE(reply.find("413"), std::string::npos) << reply;
  Local::socket again = connect();
  EXPECT_EQ(call(again, http::verb::post, "/y", std::string(100, 'c')).result_int(), 200u);
}

TEST_F(HttpServerTest, MalformedRequestIs400AndTheServerKeepsServing) {
  ASSERT_TRUE(listen(echo()).ok());
  Local::socket s = connect();
  std::string reply = raw(s, "\x16\x03garbage that is not HTTP\r\n\r\n");
  EXPECT_NE(reply.find("400"), std::string::npos) << reply;
  EXPECT_NE(reply.find("\"Err\""), std::string::npos) << reply;
  Local::socket again = connect();
  EXPECT_EQ(call(again, http::verb::get, "/ok").result_int(), 200u);
}

TEST_F(HttpServerTest, ExpectContinueGetsAnInterimReply) {
  ASSERT_TRUE(listen(echo()).ok());
  Local::socket s = connect();
  asio::write(
      s, asio::buffer(std::string(
             "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")));
  char interim[64] = {};
  std::size_t n = s.read_some(asio::buffer(interim, 25));
  EXPECT_EQ(std::string(interim, n).rfind("HTTP/1.1 100 Continue", 0), 0u);
  asio::write(s, asio::buffer(std::string("{}")));
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(s, buffer, response);
  EXPECT_EQ(response.body(), "POST /e {}");
}

TEST_F(HttpServerTest, StaleSocketFileIsReplacedAndALiveOneIsRefused) {
  {
    // A socket file left behind by a process that died.
    asio::io_context io;
    Local::acceptor dead(io, Local::endpoint(socket_path()));
  }
  ASSERT_TRUE(std::filesystem::exists(socket_path()));
  ASSERT_TRUE(listen(echo()).ok());
  Status second =
      on_loop([&] { return HttpServer::listen_unix(io_, socket_path(), 0600, echo()).status(); });
  EXPECT_FALSE(second.ok());
  EXPECT_NE(second.message().find("another process is listening"), std::string::npos);
  Local::socket s = connect();
  EXPECT_EQ(call(s, http::verb::get, "/still-ours").result_int(), 200u);
}

TEST_F(HttpServerTest, RefusesToReplaceAFileThatIsNotASocket) {
  { std::ofstream(socket_path()) << "precious"; }
  Status s = listen(echo());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not a socket"), std::string::npos);
}

TEST_F(HttpServerTest, ResponderIsSafeAfterTheClientLeftAndAfterStop) {
  std::vector<Responder> held;
  ASSERT_TRUE(listen(hold_into(held)).ok());
  {
    Local::socket s = connect();
    asio::write(s, asio::buffer(std::string("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")));
    wait_until_held(held);
  }
  on_loop([&] {
    server_.reset();
    held[0](200, "late", "text/plain");
    held[0](200, "twice", "text/plain");
    return 0;
  });
  EXPECT_FALSE(std::filesystem::exists(socket_path()));
}

TEST_F(HttpServerTest, StopFinishesTheReplyInFlightThenCloses) {
  std::vector<Responder> held;
  ASSERT_TRUE(listen(hold_into(held)).ok());
  Local::socket s = connect();
  asio::write(s, asio::buffer(std::string("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")));
  wait_until_held(held);
  on_loop([&] {
    server_->stop();
    held[0](200, "finished", "text/plain");
    return 0;
  });
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(s, buffer, response);
  EXPECT_EQ(response.body(), "finished");
  EXPECT_FALSE(response.keep_alive());
  EXPECT_FALSE(std::filesystem::exists(socket_path()));
}

TEST_F(HttpServerTest, ConnectionsBeyondTheLimitAreClosed) {
  HttpLimits limits;
  limits.max_connections = 1;
  ASSERT_TRUE(listen(echo(), limits).ok());
  Local::socket first = connect();
  EXPECT_EQ(call(first, http::verb::get, "/1").result_int(), 200u);
  Local::socket second = connect();
  EXPECT_EQ(raw(second, "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"), "");
  EXPECT_EQ(call(first, http::verb::get, "/1").result_int(), 200u);
}

TEST_F(HttpServerTest, IdleConnectionsAreClosedAfterTheReadTimeout) {
  HttpLimits limits;
  limits.read_timeout = std::chrono::seconds(1);
  ASSERT_TRUE(listen(echo(), limits).ok());
  Local::socket s = connect();
  char byte;
  boost::system::error_code ec;
  s.read_some(asio::buffer(&byte, 1), ec);  // blocks until the server closes
  EXPECT_EQ(ec, asio::error::eof);
}

TEST_F(HttpServerTest, ListensOnLoopbackTcp) {
  std::uint16_t port = on_loop([&] {
    auto s = HttpServer::listen_tcp(io_, "127.0.0.1", 0, echo());
    EXPECT_TRUE(s.ok());
    server_ = std::move(*s);
    return server_->port();
  });
  ASSERT_NE(port, 0);
  asio::ip::tcp::socket s(client_io_);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> request(http::verb::get, "/metrics", 11);
  request.set(http::field::host, "x");
  http::write(s, request);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(s, buffer, response);
  EXPECT_EQ(response.body(), "GET /metrics ");
  Status bad =
      on_loop([&] { return HttpServer::listen_tcp(io_, "not-an-address", 0, echo()).status(); });
  EXPECT_FALSE(bad.ok());
}

}  // namespace
}  // namespace wipam::driver
