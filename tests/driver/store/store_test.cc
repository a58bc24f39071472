// The LevelDB store on a real disk: writes and deletes survive close and reopen,
// completions arrive on the loop in submission order (empty batches too), many concurrent
// writes are group-committed into fewer LevelDB writes, scan filters by prefix, and a
// locked or corrupt state directory is refused with a message naming it and the fix.
#include "driver/store/store.h"

#include <filesystem>
#include <fstream>

#include <boost/asio.hpp>
#include <gtest/gtest.h>

namespace wipam::driver {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("wipam-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Store> open() {
    Result<std::unique_ptr<Store>> s = Store::open(dir_.string(), loop_);
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    return s.ok() ? std::move(*s) : nullptr;
  }
  // Runs the loop until `n` completions have arrived.
  void drain(int& completed, int n) {
    while (completed < n) {
      loop_.run_one_for(std::chrono::seconds(10));
    }
  }

  fs::path dir_;
  boost::asio::io_context loop_;
  // Keeps run_one_for() waiting for the writer's posts instead of finding the loop idle.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      loop_.get_executor()};
};

TEST_F(StoreTest, WritesAndDeletesSurviveReopen) {
  {
    std::unique_ptr<Store> store = open();
    int done = 0;
    store->write({{"a/1", "one"}, {"a/2", "two"}, {"m/x", "meta"}}, [&](Status s) {
      EXPECT_TRUE(s.ok());
      ++done;
    });
    store->write({{"a/2", std::nullopt}}, [&](Status) { ++done; });
    drain(done, 2);
  }
  std::unique_ptr<Store> again = open();
  Result<std::map<std::string, std::string>> all = again->scan("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::map<std::string, std::string>{{"a/1", "one"}, {"m/x", "meta"}}));
  EXPECT_EQ(*again->scan("a/"), (std::map<std::string, std::string>{{"a/1", "one"}}));
  EXPECT_TRUE(again->scan("zzz")->empty());
}

TEST_F(StoreTest, CompletionsArriveInOrderOnTheLoopEvenForEmptyBatches) {
  std::unique_ptr<Store> store = open();
  std::vector<int> order;
  std::thread::id loop_thread = std::this_thread::get_id();
  for (int i = 0; i < 50; ++i) {
    std::vector<ring::StoreWrite> batch;
    if (i % 3 != 0) {
      batch.push_back({"k/" + std::to_string(i), "v"});
    }
    store->write(std::move(batch), [&, i](Status s) {
      EXPECT_TRUE(s.ok());
      EXPECT_EQ(std::this_thread::get_id(), loop_thread);
      order.push_back(i);
    });
  }
  int n = 0;
  while (order.size() < 50 && n++ < 1000) {
    loop_.run_one_for(std::chrono::seconds(10));
  }
  ASSERT_EQ(order.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
  }
}

TEST_F(StoreTest, ConcurrentWritesAreGroupCommitted) {
  std::unique_ptr<Store> store = open();
  int done = 0;
  for (int i = 0; i < 2000; ++i) {
    store->write({{"a/" + std::to_string(i), "x"}}, [&](Status) { ++done; });
  }
  drain(done, 2000);
  EXPECT_EQ(store->submitted(), 2000u);
  EXPECT_LT(store->commits(), store->submitted());
  EXPECT_EQ(store->scan("a/")->size(), 2000u);
}

// A kWithNext batch is written without a sync; the next kNow batch syncs it with its own.
TEST_F(StoreTest, AWithNextBatchIsWrittenUnsyncedAndReadBackAfterReopen) {
  {
    std::unique_ptr<Store> store = open();
    int done = 0;
    store->write({{"a/1", "x"}}, [&](Status s) { done += s.ok(); });
    drain(done, 1);
    std::uint64_t synced = store->syncs();
    store->write(
        {{"a/1", std::nullopt}}, [&](Status s) { done += s.ok(); }, Store::Sync::kWithNext);
    drain(done, 2);
    EXPECT_EQ(store->syncs(), synced) << "a release paid for a sync";
    EXPECT_TRUE(store->scan("a/")->empty());
    store->write({{"a/2", "y"}}, [&](Status s) { done += s.ok(); });
    drain(done, 3);
    EXPECT_EQ(store->syncs(), synced + 1);
  }
  std::unique_ptr<Store> reopened = open();
  std::map<std::string, std::string> all = *reopened->scan("a/");
  EXPECT_EQ(all, (std::map<std::string, std::string>{{"a/2", "y"}}));
}

TEST_F(StoreTest, FlushMakesEverythingQueuedDurable) {
  {
    std::unique_ptr<Store> store = open();
    for (int i = 0; i < 100; ++i) {
      store->write({{"f/" + std::to_string(i), "x"}}, nullptr);
    }
    store->flush();
  }
  EXPECT_EQ(open()->scan("f/")->size(), 100u);
}

TEST_F(StoreTest, ASecondOpenOfALockedStateIsRefusedClearly) {
  std::unique_ptr<Store> first = open();
  Result<std::unique_ptr<Store>> second = Store::open(dir_.string(), loop_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
  EXPECT_NE(second.status().message().find("in use by another weave-ipam"), std::string::npos);
  EXPECT_NE(second.status().message().find(dir_.string()), std::string::npos);
}

TEST_F(StoreTest, ACorruptStateIsRefusedWithTheFix) {
  open().reset();
  std::ofstream(dir_ / "CURRENT", std::ios::trunc) << "MANIFEST-999999\n";
  Result<std::unique_ptr<Store>> s = Store::open(dir_.string(), loop_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kCorruption);
  EXPECT_NE(s.status().message().find("restore it from a backup"), std::string::npos);
}

TEST_F(StoreTest, AnUncreatableDirectoryIsRefused) {
  std::ofstream(dir_.string() + "-file") << "x";
  Result<std::unique_ptr<Store>> s = Store::open(dir_.string() + "-file/sub", loop_);
  fs::remove(dir_.string() + "-file");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("--db-path"), std::string::npos);
}

}  // namespace
}  // namespace wipam::driver
