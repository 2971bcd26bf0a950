// What this build of rdbrekey can do beyond the portable core, for `rdbrekey --version`: the
// CRC-64 path with carry-less multiplication, the compression libraries and TLS, each with the
// version of the library the process runs with.
#pragma once

#include <string>
#include <vector>

namespace rdbrekey {

struct BuildFeature {
  std::string name;    // "CRC-64", "gzip", "lz4", "zstd", "TLS"
  bool compiled_in = false;
  std::string detail;  // "PCLMULQDQ, used on this CPU", "zlib 1.2.13", "OpenSSL 3.0.15 ..."
};

std::vector<BuildFeature> build_features();

}  // namespace rdbrekey
