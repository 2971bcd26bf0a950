#include "fixtures.h"

#include <algorithm>
#include <filesystem>

namespace rdbrekey::test {

namespace fs = std::filesystem;

std::vector<std::string> shared_fixtures() {
  std::vector<std::string> out;
  fs::path root(RDBREKEY_SHARED_FIXTURES);
  if (!fs::exists(root)) return out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file() && e.path().extension() == ".rdb") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string shared_fixture(const std::string& relative) { return std::string(RDBREKEY_SHARED_FIXTURES) + "/" + relative; }
std::string project_fixture(const std::string& relative) { return std::string(RDBREKEY_FIXTURES) + "/" + relative; }

std::optional<Errc> expected_failure(const std::string& path) {
  auto ends = [&](const char* s) { return path.ends_with(s); };
  if (ends("test_dumps_future_v19.rdb")) return Errc::kUnknownVersion;  // REDIS0099
  if (ends("test_dumps_invalid_chksum_v8.rdb")) return Errc::kChecksumMismatch;  // bad CRC
  if (ends("test_dumps_redis_ent_opcode_ram_lru.rdb")) return Errc::kUnknownType;  // Enterprise opcode
  return std::nullopt;
}

bool checksum_disabled(const std::string& path) {
  for (const char* s : {"tests_assets_corrupt_ziplist.rdb", "tests_dumps_redis_40_with_module.rdb", "test_dumps_script.rdb"})
    if (path.ends_with(s)) return true;
  return false;
}

}  // namespace rdbrekey::test
