#include "rdbrekey/build_features.h"

#include <lz4.h>
#include <openssl/crypto.h>
#include <zlib.h>
#include <zstd.h>

#include <fmt/format.h>

#include "rdbrekey/crc64.h"

namespace rdbrekey {

std::vector<BuildFeature> build_features() {
  std::vector<BuildFeature> f;
  f.push_back({"CRC-64", crc64_pclmul_compiled(),
               !crc64_pclmul_compiled() ? "portable (slice-by-8); PCLMULQDQ path not compiled in (not x86-64)"
               : crc64_uses_pclmul()    ? "PCLMULQDQ compiled in, used on this CPU"
                                        : "PCLMULQDQ compiled in, not used: this CPU lacks PCLMULQDQ or SSE4.1 "
                                          "(portable slice-by-8)"});
  f.push_back({"gzip", true, fmt::format("zlib {}", zlibVersion())});
  f.push_back({"lz4", true, fmt::format("liblz4 {}", LZ4_versionString())});
  f.push_back({"zstd", true, fmt::format("libzstd {}", ZSTD_versionString())});
  f.push_back({"TLS", true, fmt::format("{} (restore --to rediss://)", OpenSSL_version(OPENSSL_VERSION))});
  return f;
}

}  // namespace rdbrekey
