// Compressed inputs and outputs, streamed through the Debian libraries (zlib, liblz4, libzstd):
// never unpacked to disk or held whole in memory.
//
//   Codec                   gzip, LZ4 frame, zstd (and none)
//   codec_of_magic(bytes)   what an input is, by its first bytes (never by its name):
//                             gzip  1f 8b             (RFC 1952; members may be concatenated)
//                             lz4   04 22 4d 18       (LZ4 frame format; frames may be concatenated)
//                             zstd  28 b5 2f fd       (RFC 8878; frames may be concatenated)
//   DecompressingSource     a ByteSource of the decompressed bytes of another source
//   CompressingSink         a ByteSink that compresses into another sink (the file, stdout)
//
// Offsets in the errors of a decompressed input count decompressed bytes; a damaged or cut
// compressed stream is reported with the compressed byte offset where it went wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "rdbrekey/byte_sink.h"
#include "rdbrekey/byte_source.h"

namespace rdbrekey {

enum class Codec : uint8_t { kNone, kGzip, kLz4, kZstd };

std::string_view codec_name(Codec c);  // "gzip", "lz4", "zstd", "none"

// The codec whose magic starts `data` (at least 4 bytes); kNone when none does.
Codec codec_of_magic(const uint8_t* data, size_t size);

// The codec a file name asks for by its ending (.gz, .lz4, .zst); kNone otherwise.
Codec codec_of_path(std::string_view path);

// The file-name ending of a codec, without the dot ("gz", "lz4", "zst").
std::string_view compressed_extension(Codec c);

// How an output is compressed: the codec and its level (0: the library's default).
struct Compression {
  Codec codec = Codec::kNone;
  int level = 0;
  friend bool operator==(const Compression&, const Compression&) = default;
};
// Parses --compress: "gzip", "lz4", "zstd", "none", each optionally ":LEVEL" (gzip 1..9, lz4
// 1..12, zstd 1..19); nullopt with `why` set when it is not one.
std::optional<Compression> parse_compression(std::string_view text, std::string& why);

// The decompressed bytes of `inner` (whose first bytes are `codec`'s magic). Not stable: a
// second look at it needs a copy (converter.h spools one).
class DecompressingSource final : public StreamingSource {
 public:
  DecompressingSource(std::unique_ptr<ByteSource> inner, Codec codec);
  ~DecompressingSource() override;
  std::string changed_since_open() override { return inner_->changed_since_open(); }
  // When the compressed bytes stay in place (a mapped file): the same data decompressed again.
  bool reopenable() const override { return inner_->stable(); }
  std::unique_ptr<ByteSource> reopen() const override;
  Codec codec() const { return codec_; }
  // Compressed bytes consumed so far (progress), and the compressed input's size when known.
  uint64_t compressed_offset() const { return inner_->offset(); }

  class Decoder;  // one per codec (compression.cpp)

 protected:
  size_t read_some(uint8_t* dst, size_t room) override;

 private:
  static constexpr size_t kBuffer = 1 << 20;
  std::unique_ptr<ByteSource> inner_;
  Codec codec_;
  std::unique_ptr<Decoder> decoder_;
  bool done_ = false;
};

// Compresses everything written into `inner` (which it owns) and finishes the compressed stream
// in prepare(). The CRC-64 of ByteSink is that of the uncompressed bytes (the RDB trailer's).
// Patching is impossible (can_patch() is false); commit and cancel go to `inner`. It compresses
// on a thread of its own, or on `writer`'s when given (the files of a split share one), or,
// with `background` false, on the writing thread itself (--threads 1); `workers` > 1: zstd
// also uses that many of the library's worker threads (at most 16); zlib and liblz4 have no
// such mode.
class CompressingSink final : public ByteSink {
 public:
  CompressingSink(std::unique_ptr<ByteSink> inner, Compression how, std::shared_ptr<BackgroundWriter> writer = nullptr,
                  unsigned workers = 0, bool background = true);
  ~CompressingSink() override;

  void prepare() override;
  void commit() override { inner_->commit(); }
  void uncommit() noexcept override { inner_->uncommit(); }
  void cancel() noexcept override;
  ByteSink& inner() { return *inner_; }
  Codec codec() const { return codec_; }
  uint64_t compressed_bytes() const { return inner_->bytes_written(); }

  class Encoder;  // one per codec (compression.cpp)

 protected:
  void write_out(const uint8_t* data, size_t size) override;

 private:
  std::unique_ptr<ByteSink> inner_;
  std::unique_ptr<Encoder> encoder_;
  Codec codec_;
  bool finished_ = false;
};

}  // namespace rdbrekey
