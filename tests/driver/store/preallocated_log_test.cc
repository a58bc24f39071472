// The preallocated write-ahead log on a real disk: a synced write does not grow the file (so
// fdatasync has no metadata to write), the file grows a chunk at a time and is cut to its
// records when closed, and records synced before a crash that leaves the zero tail behind
// are all read back, by this Env and by LevelDB's default one alike.
#include "driver/store/preallocated_log.h"

#include <filesystem>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <leveldb/db.h>

#include "driver/store/store.h"

namespace wipam::driver {
namespace {

namespace fs = std::filesystem;

class PreallocatedLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("wipam-prealloc-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<leveldb::DB> open_db() {
    leveldb::Options options;
    options.create_if_missing = true;
    options.paranoid_checks = true;
    options.env = &env_;
    leveldb::DB* raw = nullptr;
    leveldb::Status s = leveldb::DB::Open(options, dir_.string(), &raw);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return std::unique_ptr<leveldb::DB>(raw);
  }
  static void put_synced(leveldb::DB& db, const std::string& key, const std::string& value) {
    leveldb::WriteOptions synced;
    synced.sync = true;
    ASSERT_TRUE(db.Put(synced, key, value).ok());
  }
  // The size of the one write-ahead log in the directory.
  std::uintmax_t log_size() const {
    std::uintmax_t size = 0;
    int logs = 0;
    for (const fs::directory_entry& e : fs::directory_iterator(dir_)) {
      if (e.path().extension() == ".log") {
        size = e.file_size();
        ++logs;
      }
    }
    EXPECT_EQ(logs, 1);
    return size;
  }
  static std::string key(int i) { return "a/" + std::to_string(i); }

  PreallocatedLogEnv env_;
  fs::path dir_;
};

TEST_F(PreallocatedLogTest, ASyncedWriteDoesNotGrowTheFileUntilItsChunkIsFull) {
  std::unique_ptr<leveldb::DB> db = open_db();
  ASSERT_NE(db, nullptr);
  put_synced(*db, key(0), "24 c0ffee");
  EXPECT_EQ(log_size(), PreallocatedLogEnv::kChunkBytes);
  for (int i = 1; i < 200; ++i) {
    put_synced(*db, key(i), "24 c0ffee");
  }
  EXPECT_EQ(log_size(), PreallocatedLogEnv::kChunkBytes);
  std::string big(100 * 1024, 'x');
  for (int i = 0; i < 12; ++i) {  // 1.2 MB more: past the first chunk
    put_synced(*db, "big/" + std::to_string(i), big);
  }
  EXPECT_EQ(log_size(), 2 * PreallocatedLogEnv::kChunkBytes);
  for (const fs::directory_entry& e : fs::directory_iterator(dir_)) {
    if (e.path().filename().string().rfind("MANIFEST", 0) == 0) {
      EXPECT_LT(e.file_size(), 64u * 1024) << "only logs are preallocated";
    }
  }
  db.reset();  // closes the log: cut to its records
  std::uintmax_t closed = log_size();
  EXPECT_GT(closed, 12u * big.size());
  EXPECT_LT(closed, 2 * PreallocatedLogEnv::kChunkBytes);
  db = open_db();
  ASSERT_NE(db, nullptr);
  std::string value;
  EXPECT_TRUE(db->Get(leveldb::ReadOptions(), "big/11", &value).ok());
  EXPECT_EQ(value, big);
}

// kill -9 after synced writes: the log keeps its zero tail, and nothing synced is lost.
TEST_F(PreallocatedLogTest, RecordsSyncedBeforeACrashAreReadBackPastTheZeroTail) {
  constexpr int kKeys = 3000;
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::unique_ptr<leveldb::DB> db = open_db();
    for (int i = 0; db && i < kKeys; ++i) {
      leveldb::WriteOptions synced;
      synced.sync = true;
      if (!db->Put(synced, key(i), "24 c0ffee").ok()) {
        ::_exit(2);
      }
    }
    ::_exit(db ? 0 : 1);  // no destructors: the log is never closed, as after a kill -9
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(log_size(), PreallocatedLogEnv::kChunkBytes) << "the zero tail is there";

  for (bool preallocate : {false, true}) {  // LevelDB's own Env reads it too
    boost::asio::io_context loop;
    Result<std::unique_ptr<Store>> store = Store::open(dir_.string(), loop, preallocate);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    Result<std::map<std::string, std::string>> all = (*store)->scan("a/");
    ASSERT_TRUE(all.ok()) << all.status().to_string();
    EXPECT_EQ(all->size(), static_cast<std::size_t>(kKeys));
    EXPECT_EQ(all->count(key(kKeys - 1)), 1u);
  }
}

}  // namespace
}  // namespace wipam::driver
